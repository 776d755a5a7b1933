"""``serve --state PATH``: what clients did survives the server, over real sockets and real processes.

Every test runs ``druid-sim serve`` in its own process (`tests.support.served`), kills it the hard way
(SIGKILL: no shutdown hook runs) and starts it again on the same SQLite file.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import threading
from pathlib import Path

import httpx
import pytest

from tests.support.served import START, served
from tests.support.state import D, kill, refused, submit


def snapshot(client: httpx.Client, ids: list[str]) -> dict[str, bytes]:
    """Every answer a client could compare: lists, statuses, payloads, logs, the faults in force."""
    paths = [f"{D}/tasks", f"{D}/tasks?state=complete", f"{D}/runningTasks", "/__sim/faults", "/__sim/clock"]
    paths += [f"{D}/task/{task}/status" for task in ids] + [f"{D}/task/{task}" for task in ids]
    paths += [f"{D}/task/{task}/reports" for task in ids]
    return {path: client.get(path).content for path in paths}


def test_a_frozen_cluster_comes_back_byte_for_byte(tmp_path: Path) -> None:
    """Submissions, shutdowns, a datasource shut down, clock steps and faults: after SIGKILL and a restart
    on the same store, every answer is the same bytes (the clock is frozen, so nothing moved meanwhile)."""
    state = str(tmp_path / "state.db")
    args = ("--state", state, "--scenario", "demo", "--start-time", START, "--time-scale", "0", "--no-access-log")
    with served(*args) as server, httpx.Client(base_url=server.url) as client:
        ids = [submit(client) for _ in range(3)]
        ids.append(submit(client, {"type": "index", "spec": {"dataSchema": {"dataSource": "orders"}}}))
        client.post("/__sim/clock", json={"advance": "20s"})
        assert client.post(f"{D}/task/{ids[0]}/shutdown").status_code == 200
        assert client.post(f"{D}/datasources/orders/shutdownAllTasks").status_code == 200
        client.post(
            "/__sim/faults",
            json={"kind": "error", "status": 503, "name": "busy", "routes": ["/druid/indexer/v1/pendingSegments/*"]},
        )
        client.post("/__sim/clock", json={"advance": "3m"})
        ids.append(submit(client))
        before = snapshot(client, ids)
        kill(server)
    with served("--state", state, "--no-access-log") as again, httpx.Client(base_url=again.url) as client:
        assert snapshot(client, ids) == before
        health = client.get("/__sim/health").json()
        assert health["state"]["appliedActions"] == 10 and health["state"]["leading"] is True
        assert again.tracebacks() == []


def test_reset_and_a_new_scenario_are_kept_too(tmp_path: Path) -> None:
    """A reset and a scenario switch are actions like the rest: the restarted server is on the new scenario,
    with the tasks submitted after the switch and none of those before it."""
    state = str(tmp_path / "state.db")
    with served("--state", state, "--start-time", START, "--time-scale", "0", "--no-access-log") as server:
        with httpx.Client(base_url=server.url) as client:
            gone = submit(client, {"type": "index", "spec": {"dataSchema": {"dataSource": "orders"}}})
            assert client.post("/__sim/scenario", json={"scenario": "slow-tasks"}).status_code == 200
            kept = submit(client)
            before = snapshot(client, [kept])
        kill(server)
    with served("--state", state, "--no-access-log") as again, httpx.Client(base_url=again.url) as client:
        assert client.get("/__sim/health").json()["scenario"] == "slow-tasks"
        assert client.get(f"{D}/task/{gone}/status").status_code == 404
        assert snapshot(client, [kept]) == before


def test_nothing_acknowledged_is_lost_to_sigkill_under_load(tmp_path: Path) -> None:
    """A client submits and shuts down tasks as fast as it can while the clock runs (x60); the server is
    killed mid-stream. Restarted on the same store, every acknowledged task is there, each acknowledged
    shutdown stands, virtual time went on from where it was, and the tasks go on living on it."""
    state = str(tmp_path / "state.db")
    acknowledged: list[str] = []
    shut: list[str] = []
    stop = threading.Event()

    def load(url: str) -> None:
        with httpx.Client(base_url=url, timeout=5) as client:
            while not stop.is_set():
                try:
                    acknowledged.append(submit(client))
                    if len(acknowledged) % 3 == 0:
                        victim = acknowledged[-2]
                        if client.post(f"{D}/task/{victim}/shutdown").status_code == 200:
                            shut.append(victim)
                except (httpx.TransportError, AssertionError):
                    return

    args = ("--state", state, "--start-time", START, "--time-scale", "60", "--no-access-log")
    with served(*args) as server:
        client_thread = threading.Thread(target=load, args=(server.url,))
        client_thread.start()
        with httpx.Client(base_url=server.url) as client:
            while len(acknowledged) < 60 and client_thread.is_alive():
                clock_before = client.get("/__sim/clock").json()["nowMillis"]
        kill(server)  # while the client is still submitting
        stop.set()
        client_thread.join()
    assert len(acknowledged) >= 60
    with served("--state", state, "--no-access-log") as again, httpx.Client(base_url=again.url) as client:
        assert client.get("/__sim/clock").json()["nowMillis"] > clock_before
        for task in acknowledged:
            assert client.get(f"{D}/task/{task}/status").status_code == 200, task
        for task in shut:
            status = client.get(f"{D}/task/{task}/status").json()["status"]
            assert (status["status"], status["errorMsg"]) == ("FAILED", "Shutdown request from user")
        client.post("/__sim/clock", json={"advance": "2h"})
        statuses = client.post(f"{D}/taskStatus", json=acknowledged).json()
        assert {status["status"] for status in statuses.values()} <= {"SUCCESS", "FAILED"}
        assert again.tracebacks() == []


# -- bad input: one line naming the fix, exit status 2, nothing served -------------------------------


def made_store(tmp_path: Path, *args: str) -> str:
    """A store written by a server started with ``args`` and one submission."""
    state = str(tmp_path / "state.db")
    with served("--state", state, "--start-time", START, *args) as server, httpx.Client(base_url=server.url) as client:
        submit(client)
    return state


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    message = refused("--state", str(tmp_path / "nowhere" / "state.db"))
    assert "folder" in message and "nowhere" in message and "create it" in message


def test_a_store_from_another_scenario_or_seed_is_refused(tmp_path: Path) -> None:
    state = made_store(tmp_path, "--scenario", "demo", "--seed", "7")
    message = refused("--state", state, "--scenario", "slow-tasks")
    assert "scenario demo and seed 7" in message and "--scenario demo --seed 7" in message
    assert "--seed 7" in refused("--state", state, "--seed", "8")


def test_a_schema_from_a_newer_druid_sim_is_refused(tmp_path: Path) -> None:
    state = made_store(tmp_path)
    with sqlite3.connect(state) as db:
        db.execute("UPDATE druid_sim_meta SET value = '99' WHERE name = 'schema_version'")
    message = refused("--state", state)
    assert "schema version 99" in message and "upgrade druid-sim" in message


def test_a_store_in_use_by_another_server_is_refused(tmp_path: Path) -> None:
    state = str(tmp_path / "state.db")
    with served("--state", state):
        message = refused("--state", state)
    assert "in use by another druid-sim serve" in message and "postgresql" in message


def test_a_read_only_store_is_refused(tmp_path: Path) -> None:
    """As root (CI) a mode of 0444 stops nothing, so the file is made immutable (chattr +i) instead."""
    state = made_store(tmp_path)
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", state], capture_output=True).returncode:
        pytest.skip("chattr +i is not available here to make the store read-only for root")
    try:
        message = refused("--state", state)
    finally:
        subprocess.run(["chattr", "-i", state], check=True)
    assert "cannot write the state store" in message and "writable" in message


def test_not_a_store_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "notes.txt"
    state.write_text("not a database, just notes\n" * 100)
    assert "is not a druid-sim SQLite store" in refused("--state", str(state))

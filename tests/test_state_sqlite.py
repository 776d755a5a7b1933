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

from druid_sim.state import open_store
from tests.support.served import START, served
from tests.support.state import SUPERVISOR, D, kill, new_store, refused, refused_here, submit


def snapshot(client: httpx.Client, ids: list[str]) -> dict[str, bytes]:
    """Every answer a client could compare: lists, statuses, payloads, logs, the faults in force."""
    paths = [f"{D}/tasks", f"{D}/tasks?state=complete", f"{D}/runningTasks", "/__sim/faults", "/__sim/clock"]
    paths += [f"{D}/supervisor?full", f"{D}/workers"]
    paths += [f"{D}/task/{task}/status" for task in ids] + [f"{D}/task/{task}" for task in ids]
    paths += [f"{D}/task/{task}/reports" for task in ids]
    return {path: client.get(path).content for path in paths}


def test_a_frozen_cluster_comes_back_byte_for_byte(tmp_path: Path) -> None:
    """Submissions, shutdowns, a datasource shut down, clock steps, faults, a supervisor created and
    suspended (kept as the calls themselves): after SIGKILL and a restart
    on the same store, every answer is the same bytes (the clock is frozen, so nothing moved meanwhile).
    Then a scenario switch, kept like the rest: the next restart is on the new scenario, with the task
    submitted after the switch and none from before it."""
    state = str(tmp_path / "state.db")
    args = ("--state", state, "--scenario", "demo", "--start-time", START, "--time-scale", "0", "--no-access-log")
    with served(*args) as server, httpx.Client(base_url=server.url) as client:
        ids = [submit(client) for _ in range(3)]
        ids.append(submit(client, {"type": "index", "spec": {"dataSchema": {"dataSource": "orders"}}}))
        client.post("/__sim/clock", json={"advance": "20s"})
        assert client.post(f"{D}/task/{ids[0]}/shutdown").status_code == 200
        assert client.post(f"{D}/datasources/orders/shutdownAllTasks").status_code == 200
        busy = {"kind": "error", "status": 503, "name": "busy", "routes": ["/druid/indexer/v1/pendingSegments/*"]}
        client.post("/__sim/faults", json=busy)
        created = client.post(f"{D}/supervisor", json=SUPERVISOR)  # kept as the call itself
        assert created.status_code == 200, created.text
        client.post("/__sim/clock", json={"advance": "3m"})
        assert client.post(f"{D}/supervisor/wiki/suspend").status_code == 200
        ids.append(submit(client))
        before = snapshot(client, ids)
        kill(server)
    with served("--state", state, "--no-access-log") as again, httpx.Client(base_url=again.url) as client:
        assert snapshot(client, ids) == before
        health = client.get("/__sim/health").json()
        assert health["state"]["appliedActions"] == 12 and health["state"]["leading"] is True
        refused_cassette = client.post("/__sim/cassette", json={"cassette": "docs-examples"})
        assert refused_cassette.status_code == 409 and "--state" in refused_cassette.json()["message"]
        assert client.post("/__sim/scenario", json={"scenario": "slow-tasks"}).status_code == 200
        kept = submit(client)
        after_switch = snapshot(client, [kept])
        assert again.tracebacks() == []
        kill(again)
    with served("--state", state, "--no-access-log") as third, httpx.Client(base_url=third.url) as client:
        assert client.get("/__sim/health").json()["scenario"] == "slow-tasks"
        assert client.get(f"{D}/task/{ids[3]}/status").status_code == 404  # an orders task, gone with the switch
        assert snapshot(client, [kept]) == after_switch


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


def test_a_missing_folder_is_named() -> None:
    """The one refusal run as a real process: exit status 2, one line on stderr, nothing served."""
    message = refused("--state", "/nonexistent-druid-sim/state.db")
    assert "folder /nonexistent-druid-sim does not exist" in message and "create it" in message


def test_a_store_from_another_scenario_or_seed_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = str(tmp_path / "state.db")
    new_store(state, "demo", 7)
    message = refused_here(capsys, "--state", state, "--scenario", "slow-tasks")
    assert "scenario demo and seed 7" in message and "--scenario demo --seed 7" in message
    assert "--seed 7" in refused_here(capsys, "--state", state, "--seed", "8")


def test_a_schema_from_a_newer_druid_sim_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = str(tmp_path / "state.db")
    new_store(state)
    with sqlite3.connect(state) as db:
        db.execute("UPDATE druid_sim_meta SET value = '99' WHERE name = 'schema_version'")
    message = refused_here(capsys, "--state", state)
    assert "schema version 99" in message and "upgrade druid-sim" in message


def test_a_store_in_use_by_another_server_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = str(tmp_path / "state.db")
    holder = open_store(state)  # holds the file's lock, as a running serve does
    try:
        message = refused_here(capsys, "--state", state)
    finally:
        holder.close()
    assert "in use by another druid-sim serve" in message and "postgresql" in message


def test_a_read_only_store_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """As root (CI) a mode of 0444 stops nothing, so the file is made immutable (chattr +i) instead."""
    state = str(tmp_path / "state.db")
    new_store(state)
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", state], capture_output=True).returncode:
        pytest.skip("chattr +i is not available here to make the store read-only for root")
    try:
        message = refused_here(capsys, "--state", state)
    finally:
        subprocess.run(["chattr", "-i", state], check=True)
    assert "cannot write the state store" in message and "writable" in message


def test_not_a_store_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "notes.txt"
    state.write_text("not a database, just notes\n" * 100)
    assert "is not a druid-sim SQLite store" in refused_here(capsys, "--state", str(state))

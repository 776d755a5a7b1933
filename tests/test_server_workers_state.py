"""``serve --workers N --state FILE``: the N processes of one server are one simulated Overlord (issue 18).

The rule (docs/state.md, "One server, several processes"): every worker answers reads from its own
model, writes are serialized through the store, a client never reads an older state after a newer one,
and every model (each worker's, the snapshotter's, a restart's) is the same function of the stored
actions, whoever looked at it when.

The property tests run two workers' ledgers in this process on one real SQLite file and one real fence
file (`druid_sim.state.fence`), as two processes hold them, through any interleaving of submissions,
shutdowns, clock jumps, time passing unrecorded (a running clock) and reads on either worker; then each
worker, and a model rebuilt from every stored action, must answer the same. The process tests run the
real ``druid-sim serve --workers 2 --state FILE`` and talk HTTP to it: a write through one connection is
seen at once through any other, whichever worker answers; the workers agree; a restart finds it all.
Reference sections: 2.1 (``/tasks``), 2.3 (``/task/{id}/status``), 2.6 (shutdown).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from druid_sim import actions
from druid_sim.actions import EXTENSION, record
from druid_sim.config import ServeConfig
from druid_sim.runtime import Simulation
from druid_sim.server.assembly import build_app
from druid_sim.simulation import build_simulation, reset_simulation
from druid_sim.state import fence as fence_module
from druid_sim.state.fence import Fence
from druid_sim.state.serving import install, open_for
from druid_sim.state.shared import WorkerLedger
from druid_sim.state.store import open_store
from tests.support.moves import client_move
from tests.support.served import DRUID_SIM, served
from tests.support.state import SUPERVISOR
from tests.test_state_snapshot import answers, rebuilt

START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
D = "/druid/indexer/v1"
TYPES = ("index_parallel", "index", "kill")
DATASOURCES = ("wikipedia", "orders", "clickstream_events")

# One step: which worker (0 or 1) and what it does.
step = st.tuples(
    st.integers(0, 1),
    st.one_of(
        st.tuples(st.just("submit"), st.sampled_from(TYPES), st.sampled_from(DATASOURCES)),
        st.tuples(st.just("shutdown"), st.integers(0, 50)),
        st.tuples(st.just("shutdown_all"), st.sampled_from(DATASOURCES)),
        st.tuples(st.just("advance"), st.sampled_from((3, 90, 600, 7200, 3 * 86400))),
        st.tuples(st.just("fault"), st.integers(0, 3)),
        st.tuples(st.just("pass"), st.sampled_from((1, 20, 90, 600, 7200, 86400))),
        st.tuples(st.just("read"), st.sampled_from(("tasks", "census", "status"))),
        st.tuples(st.just("reset")),
    ),
)


@dataclass
class Workers:
    """Two workers' models and ledgers on one store and one fence, as two processes of a server hold them."""

    ledgers: list[WorkerLedger]
    path: Path
    ids: list[str] = field(default_factory=list)
    #: The latest time each worker answered with: a worker's time never goes back (no reset is drawn).
    shown: list[int] = field(default_factory=lambda: [0, 0])


@contextmanager
def two_workers(tmp_path: Path, scenario: str | None) -> Iterator[Workers]:
    path = tmp_path / f"state-{time.monotonic_ns()}.db"
    config = ServeConfig(scenario=scenario, start_ms=START_MS, time_scale=0, state=str(path), access_log=False)
    config, store, settings_ = open_for(config, True, True)
    parent = build_simulation(config)  # the parent process: rebuilds once, goes live, keeps the file's lock
    ledger = install(parent, build_app(parent), store, settings_)
    fence_path = str(tmp_path / f"fence-{time.monotonic_ns()}.bin")
    Fence(fence_path, create=True, committed=ledger.applied, fence_ms=parent.clock.now_ms()).close()
    ledgers = []
    for _ in range(2):
        simulation = build_simulation(config)
        worker = WorkerLedger(simulation, open_store(str(path), follower=True), settings_, Fence(fence_path))
        simulation.extensions[EXTENSION] = worker
        build_app(simulation)
        worker.start()
        ledgers.append(worker)
    try:
        yield Workers(ledgers, path)
    finally:
        for worker in ledgers:
            worker.store.close()
            worker.fence.close()
        store.close()


def take(workers: Workers, who: int, move: tuple[Any, ...]) -> None:
    """What a request to worker ``who`` does: catch up first; a change under the write lock, as the handlers make it."""
    ledger = workers.ledgers[who]
    ledger.follow()
    if move[0] == "pass":  # real time passes on a running clock: nothing is stored
        ledger.simulation.clock.advance(move[1])
        ledger.fence._tried = 0.0  # let this look move the fence (at most every TICK_S of real time)
        ledger.simulation.overlord.now()
    elif move[0] == "read":
        client_move(ledger.simulation, workers.ids, move)
    elif move[0] == "reset":  # as POST /__sim/reset does: the clock back at its start, for every worker
        with ledger.writing():
            reset_simulation(ledger.simulation)
            record(ledger.simulation, actions.control(actions.RESET, ledger.simulation.clock.now_ms()))
        workers.shown = [0, 0]
    else:
        with ledger.writing():
            client_move(ledger.simulation, workers.ids, move)
    now = ledger.simulation.clock.now_ms()
    assert now >= workers.shown[who], "a worker's time went back"
    workers.shown[who] = now


def at_the_same_time(simulations: list[Simulation]) -> None:
    latest = max(simulation.clock.now_ms() for simulation in simulations)
    for simulation in simulations:
        simulation.clock.advance_to(latest)


def check_workers_are_one_model(tmp_path: Path, scenario: str | None, moves: list[Any]) -> None:
    with two_workers(tmp_path, scenario) as workers:
        for who, move in moves:
            take(workers, who, move)
        for ledger in workers.ledgers:
            ledger.follow()
        first, second = (ledger.simulation for ledger in workers.ledgers)
        settings_ = workers.ledgers[0].settings
        full, full_ledger = rebuilt(workers.path, settings_, scenario)  # a restart: every stored action
        try:
            models = [first, second, full]
            for later in (0.0, 30.0, 4 * 3600.0):  # and planned arrivals take their slots the same way after
                for simulation in models:
                    simulation.clock.advance(later)
                at_the_same_time(models)
                expected = answers(full, workers.ids)
                assert answers(first, workers.ids) == expected
                assert answers(second, workers.ids) == expected
        finally:
            full_ledger.store.close()


@pytest.fixture(autouse=False)
def eager_fence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fence_module, "TICK_S", 0.0)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=st.lists(step, min_size=1, max_size=30))
def test_two_workers_and_a_restart_are_one_model_whatever_the_interleaving(
    tmp_path: Path, eager_fence: None, moves: list[Any]
) -> None:
    """The demo scenario: planned arrivals, Kafka supervisors, compaction waiting on locks, 9 slots."""
    check_workers_are_one_model(tmp_path, "demo", moves)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=st.lists(step, min_size=1, max_size=30))
def test_the_same_without_a_scenario(tmp_path: Path, eager_fence: None, moves: list[Any]) -> None:
    check_workers_are_one_model(tmp_path, None, moves)


def test_a_look_never_catches_up_past_the_fence_and_a_write_is_stamped_after_it(tmp_path: Path) -> None:
    """The fence's two rules, shown on the demo: worker 0's clock runs ahead unrecorded while worker 1 holds
    the write lock, so 0's looks stop at the fence; 1's write is stamped no earlier than the fence."""
    with two_workers(tmp_path, "demo") as workers:
        ahead, writer = workers.ledgers
        fence = ahead.fence
        before = fence.fence_ms
        with writer.writing():
            ahead.simulation.clock.advance(3600)
            ahead.fence._tried = 0.0
            assert ahead.simulation.clock.horizon is not None
            assert ahead.simulation.clock.horizon() == before  # the lock is taken: the fence stays
            ahead.simulation.overlord.now()  # the look adds nothing past the fence
            assert all(task.created_ms <= before for task in ahead.simulation.overlord.tasks.values())
        ahead.fence._tried = 0.0
        moved = ahead.simulation.clock.horizon()  # the lock is free: the look moves the fence to its clock
        assert moved == ahead.simulation.clock.now_ms() > before
        take(workers, 1, ("submit", "index", "orders"))
        submitted = writer.simulation.overlord.tasks[workers.ids[-1]]
        assert submitted.created_ms >= moved


def test_a_reset_through_one_worker_takes_every_worker_back_to_the_start(tmp_path: Path) -> None:
    """After a reset the fence goes back with the clock: the next write, through the other worker, is
    stamped at the start, not where time stood before the reset."""
    with two_workers(tmp_path, "demo") as workers:
        take(workers, 0, ("advance", 7200))
        take(workers, 1, ("reset",))
        take(workers, 0, ("submit", "index", "orders"))
        submitted = workers.ledgers[0].simulation.overlord.tasks[workers.ids[-1]]
        assert submitted.created_ms == START_MS
        for ledger in workers.ledgers:
            ledger.follow()
            assert ledger.simulation.clock.now_ms() == START_MS


# -- the real server -----------------------------------------------------------------------------------


def worker_of(response: httpx.Response) -> str:
    return response.headers["x-druid-sim-worker"]


def fresh(url: str) -> httpx.Client:
    """A client on a new connection: the kernel hands it to either worker."""
    return httpx.Client(base_url=url, timeout=10)


SPEC = {"type": "index_parallel", "spec": {"dataSchema": {"dataSource": "wikipedia"}}}


def test_a_write_through_one_worker_is_read_at_once_through_the_other(tmp_path: Path) -> None:
    """Reference 2.3: every acknowledged submission answers 200 from the next request, on any connection;
    the two workers answer the same lists; a shutdown and a clock jump through one are seen through the other."""
    state = tmp_path / "state.db"
    with served("--workers", "2", "--state", str(state), "--scenario", "demo", "--time-scale", "0") as server:
        seen_workers: set[str] = set()
        ids = []
        for _ in range(24):
            with fresh(server.url) as client:
                response = client.post(f"{D}/task", json=SPEC)
                assert response.status_code == 200, response.text
                ids.append(response.json()["task"])
            with fresh(server.url) as client:
                status = client.get(f"{D}/task/{ids[-1]}/status")
                assert status.status_code == 200, status.text
                seen_workers.add(worker_of(client.get("/__sim/health")))
        assert len(seen_workers) == 2, "both workers answered"
        with fresh(server.url) as client:
            assert client.post(f"{D}/task/{ids[0]}/shutdown").status_code == 200
            assert client.post("/__sim/clock", json={"advance": "2h"}).status_code == 200
        complete = f"{D}/tasks?state=complete"
        lists = from_each_worker(server.url, [complete])
        first_list, second_list = (answers[complete] for answers in lists.values())
        assert first_list == second_list, "the workers answer the same"
        shut = orjson.loads(first_list)
        first = next(task for task in shut if task["id"] == ids[0])
        assert first["statusCode"] == "FAILED"  # reference 2.6: shut down by the user
        with fresh(server.url) as client:
            journal_change = client.delete("/__sim/journal")
            assert journal_change.status_code == 409  # each worker keeps its own journal: said, not half done
    with served("--state", str(state)) as restarted, fresh(restarted.url) as client:
        listed = {task["id"]: task for task in client.get(f"{D}/tasks", params={"state": "complete"}).json()}
        assert listed[ids[0]]["statusCode"] == "FAILED"
        for task_id in ids:
            assert client.get(f"{D}/task/{task_id}/status").status_code == 200
        assert sorted(listed) == sorted(task["id"] for task in shut)


def test_a_client_polling_on_one_connection_never_sees_time_go_back(tmp_path: Path) -> None:
    """A running clock, writes through other connections meanwhile: one keep-alive connection's answers only
    move forward (a task's status never goes from complete back to running; the clock never goes back)."""
    state = tmp_path / "state.db"
    order = {"WAITING": 0, "PENDING": 1, "RUNNING": 2, "SUCCESS": 3, "FAILED": 3}
    with served("--workers", "2", "--state", str(state), "--time-scale", "600") as server:
        with fresh(server.url) as client:
            task_id = client.post(f"{D}/task", json=SPEC).json()["task"]
        with fresh(server.url) as poller:
            last_phase, last_clock = -1, 0
            for round_ in range(60):
                with fresh(server.url) as writer:
                    assert writer.post(f"{D}/task", json=SPEC).status_code == 200
                status = poller.get(f"{D}/task/{task_id}/status").json()["status"]
                code = status["statusCode"]
                phase = order[status.get("runnerStatusCode") or code] if code == "RUNNING" else order[code]
                assert phase >= last_phase, (round_, status)
                clock = poller.get("/__sim/clock").json()["nowMillis"]
                assert clock >= last_clock
                last_phase, last_clock = phase, clock


def test_workers_with_postgresql_or_a_cassette_are_refused_in_one_line(tmp_path: Path) -> None:
    for args, says in (
        (("--state", "postgresql://nobody@127.0.0.1:1/none"), "with PostgreSQL, run more replicas"),
        (("--state", str(tmp_path / "s.db"), "--cassette", "demo-recording"), "replay's workers share"),
        ((), "needs --state FILE"),
    ):
        done = subprocess.run(
            [*DRUID_SIM, "serve", "--workers", "2", "--port", "0", *args], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 2
        assert says in done.stderr and done.stderr.count("\n") == 1, done.stderr


def from_each_worker(url: str, paths: list[str]) -> dict[str, dict[str, bytes]]:
    """The answers to ``paths`` from each of the two workers (new connections until both have answered)."""
    seen: dict[str, dict[str, bytes]] = {}
    for _ in range(200):
        with fresh(url) as client:
            pid = worker_of(client.get("/__sim/health"))
            if pid not in seen:
                seen[pid] = {path: client.get(path).content for path in paths}
        if len(seen) == 2:
            return seen
    raise AssertionError("one worker never answered")


def refuses_connections(url: str) -> bool:
    try:
        httpx.get(f"{url}/status/health", timeout=1)
    except httpx.TransportError:
        return True
    return False


def test_killed_with_sigkill_under_load_nothing_acknowledged_is_lost(tmp_path: Path) -> None:
    """``kill -9`` of the server (its workers end with it: Linux's parent-death signal) while two clients
    submit through new connections; a restart on the file, with two workers again, answers every acknowledged
    task, and the tasks from before the load byte for byte as both workers answered them (reference 2.3)."""
    state = str(tmp_path / "state.db")
    args = ("--state", state, "--scenario", "demo", "--start-time", "2026-01-01T00:00:00Z", "--time-scale", "0")
    with served("--workers", "2", *args) as server:
        with fresh(server.url) as client:
            ids = [client.post(f"{D}/task", json=SPEC).json()["task"] for _ in range(4)]
            assert client.post("/__sim/clock", json={"advance": "20s"}).status_code == 200
        with fresh(server.url) as client:
            assert client.post(f"{D}/task/{ids[0]}/shutdown").status_code == 200
            assert client.post(f"{D}/supervisor", json=SUPERVISOR).status_code == 200  # kept as the call itself
            assert client.post("/__sim/clock", json={"advance": "3m"}).status_code == 200
        paths = [f"{D}/task/{task}/status" for task in ids] + [f"{D}/task/{task}" for task in ids]
        paths += [f"{D}/supervisor?full", "/__sim/clock", f"{D}/tasks"]
        answers_before = from_each_worker(server.url, paths)
        first, second = answers_before.values()
        assert first == second
        acknowledged: list[str] = []
        stop = threading.Event()

        def load() -> None:
            while not stop.is_set():
                try:
                    with fresh(server.url) as client:
                        response = client.post(f"{D}/task", json=SPEC)
                except httpx.TransportError:
                    return
                if response.status_code == 200:
                    acknowledged.append(response.json()["task"])

        clients = [threading.Thread(target=load) for _ in range(2)]
        for thread in clients:
            thread.start()
        deadline = time.monotonic() + 30
        while len(acknowledged) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(server.process.pid, signal.SIGKILL)  # the server alone: its workers must not outlive it
        server.process.wait()
        deadline = time.monotonic() + 10
        while not refuses_connections(server.url):
            assert time.monotonic() < deadline, "the workers outlived the server"
            time.sleep(0.1)
        stop.set()
        for thread in clients:
            thread.join()
    assert len(acknowledged) >= 40
    with served("--workers", "2", "--state", state) as again:
        after = from_each_worker(again.url, [*paths[: 2 * len(ids)], f"{D}/supervisor?full"])
        for answers_now in after.values():
            assert answers_now == {path: first[path] for path in answers_now}
        for task_id in acknowledged:
            with fresh(again.url) as client:
                assert client.get(f"{D}/task/{task_id}/status").status_code == 200, task_id


def test_a_store_the_model_does_not_rebuild_is_refused_in_one_line_and_never_served(tmp_path: Path) -> None:
    """The parent rebuilds while the workers do: a stored submission the model rebuilds under another id is
    refused (exit status 2, one line, docs/state.md "Refusals at start"), and no worker says more."""
    state = tmp_path / "state.db"
    with served("--state", str(state), "--time-scale", "0") as server, fresh(server.url) as client:
        assert client.post(f"{D}/task", json=SPEC).status_code == 200
    with sqlite3.connect(state) as db:
        db.execute("UPDATE druid_sim_actions SET task_id = 'index_parallel_wikipedia_x' WHERE kind = 'submit'")
        db.execute("DELETE FROM druid_sim_snapshots")
    done = subprocess.run(
        [*DRUID_SIM, "serve", "--workers", "2", "--state", str(state), "--port", "0", "--no-access-log"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "holds task index_parallel_wikipedia_x but the model rebuilt it as" in lines[0], lines
    assert "Overlord Tasks API on" not in done.stdout


def test_the_server_and_its_workers_end_together(tmp_path: Path) -> None:
    """SIGTERM to the server stops every worker; the file is free for the next server at once."""
    state = tmp_path / "state.db"
    with served("--workers", "2", "--state", str(state)) as server:
        with fresh(server.url) as client:
            assert client.post(f"{D}/task", json=SPEC).status_code == 200
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=20)
    with served("--state", str(state)) as again, fresh(again.url) as client:
        assert len(client.get(f"{D}/tasks").json()) >= 1
    assert os.path.exists(state)

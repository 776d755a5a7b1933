"""Snapshots of the model (issue 18): a restart from a snapshot and the actions after it is a full replay.

The property tests keep a real SQLite store through the real write path (`druid_sim.actions.record`, as
the Druid routes and the control API call it), with the clock stepped and the live model read in
between at random, then rebuild it twice: once from every action (a restart before snapshots), once
from a snapshot taken after a random number of them by the snapshotter's own code, plus the actions
after it. The two models must be the same, object for object (their snapshots' JSON), and answer the
same, now and hours of planned arrivals later. The process tests kill ``serve --state`` with SIGKILL
while its snapshotter is writing a snapshot, and find every acknowledged change after the restart.
"""

from __future__ import annotations

import gc
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from druid_sim import actions
from druid_sim.actions import record
from druid_sim.config import ServeConfig
from druid_sim.overlord.overlord import TaskQuery
from druid_sim.overlord.task import Plan, Task
from druid_sim.runtime import Simulation
from druid_sim.server.assembly import build_app
from druid_sim.simulation import build_simulation, reset_simulation
from druid_sim.state import snapshot
from druid_sim.state.ledger import Ledger
from druid_sim.state.serving import install, open_for
from druid_sim.state.snapshotter import Snapshotter
from druid_sim.state.store import Settings, open_store
from tests.support.moves import client_move
from tests.support.postgres import Postgres
from tests.support.served import START, served
from tests.support.state import D, kill, submit

START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
TYPES = ("index_parallel", "index", "kill")
DATASOURCES = ("wikipedia", "orders", "clickstream_events")

# One step a client (or the clock) takes: what hypothesis draws.
step = st.one_of(
    st.tuples(st.just("submit"), st.sampled_from(TYPES), st.sampled_from(DATASOURCES)),
    st.tuples(st.just("shutdown"), st.integers(0, 50)),
    st.tuples(st.just("shutdown_all"), st.sampled_from(DATASOURCES)),
    st.tuples(st.just("advance"), st.sampled_from((0.5, 3, 20, 90, 600, 7200, 3 * 86400))),
    st.tuples(st.just("read"), st.sampled_from(("tasks", "census", "status"))),
    st.tuples(st.just("fault"), st.integers(0, 3)),
)


@dataclass
class Live:
    """A server's simulation and ledger, in this process, on a real store (as ``serve --state`` builds them)."""

    simulation: Simulation
    ledger: Ledger
    ids: list[str]


@contextmanager
def live_store(path: Path, scenario: str | None) -> Iterator[Live]:
    config = ServeConfig(scenario=scenario, start_ms=START_MS, time_scale=0, state=str(path), access_log=False)
    config, store, settings_ = open_for(config, True, True)
    simulation = build_simulation(config)
    ledger = install(simulation, build_app(simulation), store, settings_)
    try:
        yield Live(simulation, ledger, [])
    finally:
        store.close()


def take(live: Live, move: tuple[Any, ...]) -> None:
    """Make one move as the handlers make it: change the model, then keep the action."""
    client_move(live.simulation, live.ids, move)


def rebuilt(path: Path, settings_: Settings, scenario: str | None) -> tuple[Simulation, Ledger]:
    """A fresh server's model rebuilt from the store (from its newest snapshot, when there is one)."""
    config = ServeConfig(scenario=scenario, start_ms=START_MS, time_scale=0, state=str(path), access_log=False)
    simulation = build_simulation(config)
    build_app(simulation)
    ledger = Ledger(simulation, open_store(str(path), follower=True), settings_)
    simulation.extensions[actions.EXTENSION] = ledger
    ledger.catch_up()
    return simulation, ledger


def model(simulation: Simulation, ledger: Ledger) -> Any:
    """The whole model as a snapshot holds it, as data (with its payloads)."""
    return snapshot.header(snapshot.encode(simulation, ledger.applied, ledger.epoch, ledger.anchor))


def answers(simulation: Simulation, ids: list[str]) -> list[bytes]:
    overlord = simulation.overlord
    lists = [overlord.list_tasks(TaskQuery(state=state, lookback_ms=30 * 86400_000)) for state in (None, "complete")]
    return [*lists, orjson.dumps(overlord.census()), overlord.statuses(ids)]


def check_snapshot_is_a_full_replay(tmp_path: Path, scenario: str | None, moves: list[Any], cut: int) -> None:
    path = tmp_path / f"state-{time.monotonic_ns()}.db"
    with live_store(path, scenario) as live:
        for move in moves:
            take(live, move)
        settings_ = live.ledger.settings
        ids = live.ids
    stored = open_store(str(path), follower=True)
    try:
        log = stored.actions_after(0)
    finally:
        stored.close()
    full, full_ledger = rebuilt(path, settings_, scenario)  # no snapshot yet: every action replayed
    assert full_ledger.snapshot_seq == 0
    # The snapshotter, having followed the first ``cut`` actions of the log, writes its snapshot.
    _follower, follower_ledger = rebuilt(path, settings_, scenario)
    follower_ledger.rebuild_from_start()
    follower_ledger.catch_up(log[: cut % (len(log) + 1)])
    if follower_ledger.applied == 0:
        return  # nothing to snapshot yet
    assert Snapshotter(follower_ledger, every_actions=1).write() is True
    restored, restored_ledger = rebuilt(path, settings_, scenario)
    assert restored_ledger.snapshot_seq == follower_ledger.applied
    assert restored_ledger.applied == full_ledger.applied
    assert model(restored, restored_ledger) == model(full, full_ledger)
    assert answers(restored, ids) == answers(full, ids)
    for later in (30.0, 4 * 3600.0):  # planned arrivals and supervisors' tasks take their slots the same way
        for simulation in (restored, full):
            simulation.clock.advance(later)
        assert answers(restored, ids) == answers(full, ids)
    assert model(restored, restored_ledger) == model(full, full_ledger)
    for ledger in (full_ledger, follower_ledger, restored_ledger):
        ledger.store.close()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=st.lists(step, min_size=1, max_size=40), cut=st.integers(0, 60))
def test_a_snapshot_and_the_actions_after_it_rebuild_what_every_action_does(
    tmp_path: Path, moves: list[Any], cut: int
) -> None:
    """The demo scenario: planned arrivals, Kafka supervisors, compaction waiting on locks, 9 slots."""
    check_snapshot_is_a_full_replay(tmp_path, "demo", moves, cut)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=st.lists(step, min_size=1, max_size=30), cut=st.integers(0, 40))
def test_the_same_without_a_scenario(tmp_path: Path, moves: list[Any], cut: int) -> None:
    """No scenario: an empty cluster of 9 slots, only what clients submitted."""
    check_snapshot_is_a_full_replay(tmp_path, None, moves, cut)


def test_a_snapshot_writes_every_field_of_a_task_and_its_plan() -> None:
    """A field added to `Task` or `Plan` must be added to the snapshot's fast path too (or be a cache)."""
    assert snapshot._fields(Plan) == snapshot._PLAN_FIELDS
    kept = ("id", "group_id", "type", "datasource", "created_ms", "plan", "payload_json", "seq", "seed")
    caches = ("_cached_phase", "_list_json", "_views")
    assert snapshot._fields(Task) == (*kept, *caches, "payload_kept")


def test_a_snapshot_names_only_the_models_classes() -> None:
    """Decoding makes nothing a snapshot names unless it is one of the model's classes: no code runs."""
    decoder = snapshot.Decoder({})
    with pytest.raises(snapshot.SnapshotError, match="os:system"):
        decoder.value({"@o": "os:system", "n": 0, "v": {}})
    with pytest.raises(snapshot.SnapshotError, match="subprocess:Popen"):
        decoder.value({"@e": "subprocess:Popen", "v": 1})


def test_a_snapshot_from_before_a_reset_is_not_used(tmp_path: Path) -> None:
    """A reset drops the log before it; a snapshot of that log must never be loaded with the actions after it."""
    path = tmp_path / "state.db"
    with live_store(path, "demo") as live:
        for _ in range(3):
            take(live, ("submit", "index", "orders"))
        before = list(live.ids)
        settings_ = live.ledger.settings
    _follower, ledger = rebuilt(path, settings_, "demo")
    assert Snapshotter(ledger, every_actions=1).write() is True
    with live_store(path, "demo") as live:
        assert live.ledger.snapshot_seq == 3
        reset_simulation(live.simulation)  # as POST /__sim/reset does, then keeps it
        record(live.simulation, actions.control(actions.RESET, live.simulation.clock.now_ms()))
        take(live, ("submit", "kill", "wikipedia"))
        after = live.ids[-1]
    # The follower's snapshot of the old log, written after the reset: refused by the store.
    assert Snapshotter(ledger, every_actions=1).write() is False
    restored, restored_ledger = rebuilt(path, settings_, "demo")
    assert restored_ledger.snapshot_seq == 0
    assert restored_ledger.applied == 5
    assert after in restored.overlord.tasks
    assert not set(before) & set(restored.overlord.tasks)


def test_a_model_from_a_snapshot_is_frozen_and_given_back_to_the_collector_on_a_rebuild(tmp_path: Path) -> None:
    """Loading a snapshot freezes what it made (no collection walks 100,000 tasks); a rebuild unfreezes it,
    so the dropped model's cycles are collected instead of kept for good."""
    path = tmp_path / "state.db"
    with live_store(path, "demo") as live:
        take(live, ("submit", "index", "orders"))
        settings_ = live.ledger.settings
    _follower, ledger = rebuilt(path, settings_, "demo")
    assert Snapshotter(ledger, every_actions=1).write() is True
    ledger.store.close()
    gc.unfreeze()
    _restored, restored_ledger = rebuilt(path, settings_, "demo")
    try:
        assert restored_ledger.snapshot_seq == 1
        assert gc.get_freeze_count() > 0
        restored_ledger.rebuild_from_start()
        assert gc.get_freeze_count() == 0
        restored_ledger.catch_up()  # from the snapshot again, and frozen again
        assert restored_ledger.snapshot_seq == 1 and gc.get_freeze_count() > 0
    finally:
        restored_ledger.store.close()
        gc.unfreeze()


# -- serve --state, killed while its snapshotter writes ------------------------------------------------


def partial_snapshots(db: Path) -> list[int]:
    """The snapshots whose parts are being written (no row makes them complete yet)."""
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT DISTINCT snapshot_seq FROM druid_sim_snapshot_parts "
            "WHERE snapshot_seq NOT IN (SELECT seq FROM druid_sim_snapshots)"
        ).fetchall()
    return [int(row[0]) for row in rows]


def test_a_kill_while_a_snapshot_is_written_loses_nothing_acknowledged(tmp_path: Path) -> None:
    """SIGKILL to the server and its snapshotter while a snapshot is half written (its parts in the
    store, its row not): the restart ignores it and finds every acknowledged task with the status the
    model gives it, shutdowns included."""
    db = tmp_path / "state.db"
    env = {
        **os.environ,
        "DRUID_SIM_SNAPSHOT_EVERY": "1",
        "DRUID_SIM_SNAPSHOT_SECONDS": "0",
        "DRUID_SIM_SNAPSHOT_PART_BYTES": "64",  # hundreds of transactions per snapshot: a kill lands inside one
    }
    args = ("--state", str(db), "--scenario", "demo", "--start-time", START, "--time-scale", "0", "--no-access-log")
    acknowledged: list[str] = []
    shut: list[str] = []
    with served(*args, env=env) as server, httpx.Client(base_url=server.url) as client:
        deadline = time.monotonic() + 120
        caught: list[int] = []
        while not caught:
            assert time.monotonic() < deadline, "no snapshot was ever seen half written"
            response = client.post(f"{D}/task", json={"type": "index", "spec": {"dataSchema": {"dataSource": "o"}}})
            assert response.status_code == 200, response.text
            acknowledged.append(response.json()["task"])
            if len(acknowledged) % 5 == 0:
                assert client.post(f"{D}/task/{acknowledged[-2]}/shutdown").status_code == 200
                shut.append(acknowledged[-2])
            caught = partial_snapshots(db)
        kill(server)
    with sqlite3.connect(db) as connection:
        complete = [row[0] for row in connection.execute("SELECT seq FROM druid_sim_snapshots")]
    assert partial_snapshots(db), "the kill landed after the snapshot was complete"
    assert all(seq < min(caught) for seq in complete)
    with served("--state", str(db), env=env) as server, httpx.Client(base_url=server.url) as client:
        health = client.get("/__sim/health").json()["state"]
        assert health["snapshotSeq"] in [0, *complete]
        statuses = client.post(f"{D}/taskStatus", json=acknowledged).json()
        assert sorted(statuses) == sorted(acknowledged)
        assert {task for task in shut if statuses[task]["errorMsg"] == "Shutdown request from user"} == set(shut)


def newest_snapshot(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as db:
        row = db.execute("SELECT MAX(seq) FROM druid_sim_snapshots").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def test_replicas_come_back_from_the_snapshot_on_postgresql(postgres: Postgres) -> None:
    """On PostgreSQL: once the snapshotter caught up with the last action, a standby starting later and
    the leader restarted after SIGKILL both load that snapshot, and answer every task as the leader did."""
    url = postgres.new_database()
    env = {**os.environ, "DRUID_SIM_SNAPSHOT_EVERY": "1", "DRUID_SIM_SNAPSHOT_SECONDS": "0"}
    args = ("--state", url, "--scenario", "demo", "--start-time", START, "--time-scale", "0", "--no-access-log")
    with served(*args, env=env) as leader, httpx.Client(base_url=leader.url) as client:
        ids = [submit(client) for _ in range(12)]
        assert client.post(f"{D}/task/{ids[3]}/shutdown").status_code == 200
        assert client.post("/__sim/clock", json={"advance": "10m"}).status_code == 200
        last = client.get("/__sim/health").json()["state"]["appliedActions"]
        deadline = time.monotonic() + 60
        while newest_snapshot(url) != last:  # real time: the snapshotter polls the log every half second
            assert time.monotonic() < deadline, "the snapshotter never caught up"
            time.sleep(0.1)
        before = client.post(f"{D}/taskStatus", json=ids).content
        with served(*args, env=env) as standby, httpx.Client(base_url=standby.url) as other:
            assert other.get("/__sim/health").json()["state"]["snapshotSeq"] == last
        kill(leader)
    with served(*args, env=env) as again, httpx.Client(base_url=again.url) as client:
        assert client.get("/__sim/health").json()["state"]["snapshotSeq"] == last
        deadline = time.monotonic() + 30
        while client.get(f"{D}/isLeader").status_code != 200:  # the killed leader's lease runs out (real time)
            assert time.monotonic() < deadline, "never took the lead"
            time.sleep(0.1)
        assert client.get("/__sim/health").json()["state"]["snapshotSeq"] == last
        assert client.post(f"{D}/taskStatus", json=ids).content == before


def newest_sqlite_snapshot(db: Path) -> int:
    with sqlite3.connect(db) as connection:
        row = connection.execute("SELECT MAX(seq) FROM druid_sim_snapshots").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def test_the_worker_config_and_disabled_middle_managers_come_back_from_a_snapshot(tmp_path: Path) -> None:
    """Reference 18: a posted worker select strategy (with its audit entry) and a disabled MiddleManager are
    part of the model a snapshot carries: restarted after SIGKILL from that snapshot alone, the server
    answers ``/worker``, ``/worker/history``, ``/workers`` and every task's status as before."""
    db = tmp_path / "state.db"
    env = {**os.environ, "DRUID_SIM_SNAPSHOT_EVERY": "1", "DRUID_SIM_SNAPSHOT_SECONDS": "0"}
    args = ("--state", str(db), "--scenario", "demo", "--start-time", START, "--time-scale", "0", "--no-access-log")
    reads = (f"{D}/worker", f"{D}/worker/history?count=10", f"{D}/workers")
    with served(*args, env=env) as server, httpx.Client(base_url=server.url) as client:
        config = {"type": "default", "selectStrategy": {"type": "fillCapacity"}}
        headers = {"X-Druid-Author": "ops", "X-Druid-Comment": "pack the workers"}
        assert client.post(f"{D}/worker", json=config, headers=headers).status_code == 200
        host = client.get(f"{D}/workers").json()[0]["worker"]["host"]
        assert client.post(f"{D}/worker/{host}/disable").status_code == 200
        ids = [submit(client) for _ in range(6)]
        assert client.post("/__sim/clock", json={"advance": "2m"}).status_code == 200
        last = client.get("/__sim/health").json()["state"]["appliedActions"]
        deadline = time.monotonic() + 60
        while newest_sqlite_snapshot(db) != last:  # real time: the snapshotter polls the log every half second
            assert time.monotonic() < deadline, "the snapshotter never caught up"
            time.sleep(0.1)
        before = [client.get(path).content for path in reads] + [client.post(f"{D}/taskStatus", json=ids).content]
        assert client.get(f"{D}/workers").json()[0]["worker"]["version"] == ""  # disabled (reference 18)
        kill(server)
    with served(*args, env=env) as server, httpx.Client(base_url=server.url) as client:
        assert client.get("/__sim/health").json()["state"]["snapshotSeq"] == last
        after = [client.get(path).content for path in reads] + [client.post(f"{D}/taskStatus", json=ids).content]
    assert after == before

"""What a client (or the clock) does to a model with a store, made as the Druid handlers and the control API
make it: the moves the state property tests draw (`tests/test_state_snapshot.py`,
`tests/test_server_workers_state.py`)."""

from __future__ import annotations

from typing import Any

import orjson

from druid_sim import actions
from druid_sim.actions import record
from druid_sim.druid.submission import parse_submission
from druid_sim.overlord.overlord import TaskQuery
from druid_sim.runtime import Simulation

D = "/druid/indexer/v1"


def client_move(sim: Simulation, ids: list[str], move: tuple[Any, ...]) -> None:
    """Make one move as the handlers make it: change the model, then keep the action (``ids``: the tasks
    submitted so far, which a submission adds to and a shutdown or a read picks from)."""
    overlord = sim.overlord
    kind = move[0]
    if kind == "submit":
        if move[1] == "kill":
            body = orjson.dumps({"type": "kill", "dataSource": move[2], "interval": "2025-01-01/2025-02-01"})
        else:
            body = orjson.dumps({"type": move[1], "spec": {"dataSchema": {"dataSource": move[2]}}})
        submission = parse_submission(body)
        task = overlord.submit(submission)
        record(sim, actions.submitted(task, submission))
        ids.append(task.id)
    elif kind == "shutdown" and ids:
        now = overlord.now()
        found = overlord.get(ids[move[1] % len(ids)], now)
        if found is not None and found.phase_at(now).active:
            overlord.shutdown(found, now)
            record(sim, actions.shut_down(found, now))
    elif kind == "shutdown_all":
        victims = overlord.shutdown_datasource(move[1])
        if victims:
            record(sim, actions.shut_down_datasource(move[1], victims[0].plan.shutdown_at or overlord.now()))
    elif kind == "advance":  # as POST /__sim/clock {"advance": ...} does
        before = overlord.now()
        sim.clock.advance(move[1])
        after = sim.clock.now_ms()
        overlord.jump(before, after)
        record(sim, actions.control(actions.CLOCK, after, **{"from": before}))
    elif kind == "read":
        if move[1] == "tasks":
            overlord.list_tasks(TaskQuery())
        elif move[1] == "census":
            overlord.census()
        else:
            overlord.statuses(ids)
    elif kind == "fault":
        faults = sim.extensions["faults"]
        name = f"f{move[1]}"
        if name in {fault.name for fault in faults.list()}:
            faults.remove(name)
            record(sim, actions.control(actions.FAULT_REMOVE, overlord.now(), name=name))
        else:
            spec = {"name": name, "kind": "error", "status": 503, "routes": [f"{D}/task/*/status"]}
            faults.add(spec)
            record(sim, actions.control(actions.FAULT_ADD, overlord.now(), faults=[spec]))

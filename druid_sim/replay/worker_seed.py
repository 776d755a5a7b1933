"""Seeding the worker config from a cassette, so a hybrid replay places tasks as the recorded cluster did.

The config shows in an accepted ``POST /druid/indexer/v1/worker`` body and in a ``GET /worker`` answer
(reference 18.1, 18.2); the latest one wins. It is stored and applied in the model when the replay's
clock starts, without an audit entry (the recorded ``/worker/history`` answers are replayed as they are),
so the model's ``GET /worker`` on a miss and its choice of MiddleManager follow the recording.
"""

from __future__ import annotations

from typing import Any

import orjson

from druid_sim.cassette import Cassette
from druid_sim.druid.worker_config import ConfigBodyError, read_worker_config
from druid_sim.overlord.overlord import Overlord
from druid_sim.overlord.worker_config import worker_config_of
from druid_sim.overlord.worker_select import WorkerSelect
from druid_sim.replay.normalize import normalize_path
from druid_sim.replay.supervisor_seed import recorded_json

_WORKER = "/druid/indexer/v1/worker"


def recorded_worker_config(cassette: Cassette) -> tuple[dict[str, Any], WorkerSelect] | None:
    """The last worker config the cassette shows (as Druid serves it, and its strategy), or None."""
    found: tuple[dict[str, Any], WorkerSelect] | None = None
    for interaction in cassette.interactions:
        request, response = interaction.request, interaction.response
        if response.status != 200 or normalize_path(request.path) != _WORKER:
            continue
        value = recorded_json(request.body if request.method == "POST" else response.body)
        if value is None:
            continue
        try:
            found = read_worker_config(value)
        except ConfigBodyError:
            continue
    return found


def seed_worker_config(overlord: Overlord, cassette: Cassette) -> bool:
    """Store and apply the recorded worker config in the model; False when the cassette shows none."""
    recorded = recorded_worker_config(cassette)
    if recorded is None:
        return False
    served, select = recorded
    worker_config_of(overlord).served = orjson.dumps(served)
    overlord.configure_workers(select=select)
    return True

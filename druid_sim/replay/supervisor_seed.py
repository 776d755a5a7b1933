"""Seeding the supervisor model from a cassette, so a hybrid replay knows the supervisors the recording saw.

A supervisor's spec shows in an accepted ``POST /supervisor`` body, a ``GET /supervisor/{id}`` answer,
the ``spec`` of each entry of ``GET /supervisor?full``, and the answer of ``suspend`` and ``resume``;
the latest one wins, and a ``terminate`` removes it. Each supervisor left is started in the model at
the moment the replay's clock starts (the recording's end), suspended if it last was: a miss on its
status, health or stats then gets the model's answer instead of a 404.
"""

from __future__ import annotations

import re
from typing import Any

from druid_sim.cassette import Cassette
from druid_sim.cassette.model import Body
from druid_sim.druid.submission import SubmissionError
from druid_sim.druid.supervisor_spec import parse_supervisor_spec
from druid_sim.overlord.overlord import Overlord
from druid_sim.overlord.supervisors import StreamSupervisorSpec, manager_of
from druid_sim.replay.normalize import normalize_path

_SUPERVISOR = "/druid/indexer/v1/supervisor"
_ONE = re.compile(r"^/druid/indexer/v1/supervisor/([^/]+)(?:/(suspend|resume|terminate|shutdown))?$")


def recorded_json(body: Body) -> Any:
    """A recorded body as JSON, None when empty or not JSON."""
    if body.is_empty:
        return None
    try:
        return body.json()
    except ValueError:
        return None


def _spec(value: Any) -> StreamSupervisorSpec | None:
    try:
        return parse_supervisor_spec(value)
    except SubmissionError:
        return None


def recorded_supervisors(cassette: Cassette) -> dict[str, StreamSupervisorSpec]:
    """The supervisors the cassette shows alive at its end, by id, with their last spec."""
    found: dict[str, StreamSupervisorSpec] = {}
    for interaction in cassette.interactions:
        request, response = interaction.request, interaction.response
        if not 200 <= response.status < 300:
            continue
        path = normalize_path(request.path)
        body = recorded_json(response.body)
        specs: list[Any] = []
        if path == _SUPERVISOR and request.method == "POST":
            specs.append(recorded_json(request.body))
        elif path == _SUPERVISOR and isinstance(body, list):
            specs.extend(entry.get("spec") for entry in body if isinstance(entry, dict) and "spec" in entry)
        else:
            match = _ONE.match(path)
            if match is None or match.group(1) == "history":
                continue
            if match.group(2) in ("terminate", "shutdown"):
                found.pop(match.group(1), None)
                continue
            specs.append(body)
        for value in specs:
            spec = _spec(value)
            if spec is not None:
                found[spec.id] = spec
    return found


def seed_supervisors(overlord: Overlord, cassette: Cassette) -> int:
    """Start the recorded supervisors in the model now; returns how many."""
    recorded = recorded_supervisors(cassette)
    if not recorded:
        return 0
    manager = manager_of(overlord)
    now = overlord.clock.now_ms()
    for spec in recorded.values():
        manager.create_or_update(spec, False, now)
    return len(recorded)

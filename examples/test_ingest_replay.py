"""Testing the ingestion client against a replayed recording, with the ``druid_sim`` fixture.

The cassette is written by the test itself with the cassette API (``CassetteWriter``), and handed to
the fixture through the ``druid_sim_options`` fixture (the way ``vcr_config`` works for
pytest-recording): options computed at run time, where a marker only takes constants.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from druid_sim.cassette import Body, CassetteWriter, Interaction, RecordMode, Request, Response, new_meta
from druid_sim.pytest_plugin import DruidSim
from examples.ingest_client import IngestClient
from examples.test_ingest_client import TASK, client_for, spec

RECORDED_ID = "index_parallel_wikipedia_recorded_2026-01-01T00:00:00.000Z"


def write_cassette(path: Path) -> Path:
    """A recording of one ingestion (submit, two RUNNING polls, SUCCESS), written with the cassette API."""
    json = [("Content-Type", "application/json")]

    def status(state: str, duration: int) -> Response:
        body = {
            "task": RECORDED_ID,
            "status": {"id": RECORDED_ID, "status": state, "statusCode": state, "duration": duration, "errorMsg": None},
        }
        return Response(200, json, Body("json", body))

    status_path = f"{TASK}/{RECORDED_ID}/status"
    submitted = Response(200, json, Body("json", {"task": RECORDED_ID}))
    exchanges = [
        Interaction(Request("POST", TASK, [], json, Body("json", spec("wikipedia"))), submitted),
        Interaction(Request("GET", status_path), status("RUNNING", -1), at=1.0),
        Interaction(Request("GET", status_path), status("RUNNING", -1), at=6.0),
        Interaction(Request("GET", status_path), status("SUCCESS", 9000), at=11.0),
    ]
    with CassetteWriter.open(path, RecordMode.OVERWRITE, new_meta("http://recorded-overlord:8081", None)) as writer:
        for exchange in exchanges:
            writer.append(exchange)
    return path


@pytest.fixture
def druid_sim_options(tmp_path: Path) -> dict[str, Any]:
    return {"cassette": str(write_cassette(tmp_path / "ingest.jsonl"))}


__all__ = ["client_for"]  # the fixture, shared with the other example module


def test_a_replayed_recording_drives_the_client_to_success(
    druid_sim: DruidSim, client_for: Callable[..., IngestClient]
) -> None:
    status = client_for(druid_sim, poll_interval=5).run(spec("wikipedia"), timeout=600)
    assert (status["id"], status["status"], status["duration"]) == (RECORDED_ID, "SUCCESS", 9000)
    assert [entry["answeredBy"] for entry in druid_sim.journal()] == ["replay"] * 4
    assert druid_sim.control.unused() == []

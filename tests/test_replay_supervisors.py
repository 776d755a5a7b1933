"""Record and replay of the supervisor API: recorded status polls replay in sequence, and a hybrid replay
(``--on-miss simulate``) starts the supervisors the recording saw, so a miss gets the model's answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.support.replay import exchange, replay_server, write_cassette

SUP = "/druid/indexer/v1/supervisor"
SPEC: dict[str, Any] = {
    "type": "kafka",
    "spec": {
        "dataSchema": {"dataSource": "wiki"},
        "ioConfig": {"topic": "edits", "consumerProperties": {"bootstrap.servers": "kafka:9092"}, "taskCount": 2},
    },
}


def _report(state: str, lag: int) -> dict[str, Any]:
    return {
        "id": "wiki",
        "generationTime": "2026-01-01T00:00:00.000Z",
        "payload": {"state": state, "aggregateLag": lag},
    }


def test_status_polls_replay_in_order_and_a_hybrid_replay_runs_the_recorded_supervisor(tmp_path: Path) -> None:
    """Reference 15.4: the recorded answers come back in order; a miss (``/stats``) is the seeded model's."""
    cassette = write_cassette(
        tmp_path / "supervisors.jsonl",
        [
            exchange("POST", SUP, 200, {"id": "wiki"}, request_body=SPEC, at=0.0),
            exchange("GET", f"{SUP}/wiki/status", 200, _report("PENDING", 0), at=1.0),
            exchange("GET", f"{SUP}/wiki/status", 200, _report("RUNNING", 120), at=40.0),
            exchange("GET", f"{SUP}/gone", 200, {**SPEC, "id": "gone"}, at=41.0),
            exchange("POST", f"{SUP}/gone/terminate", 200, {"id": "gone"}, at=42.0),
        ],
    )
    hybrid = replay_server(cassette, replay_on_miss="simulate")  # the model answers misses: asked for by name
    with hybrid as server, httpx.Client(base_url=server.url) as client:
        polled = [client.get(f"{SUP}/wiki/status").json()["payload"]["state"] for _ in range(3)]
        assert polled == ["PENDING", "RUNNING", "RUNNING"]  # stick-last after the recording
        assert client.get(SUP).json() == ["wiki"]  # a miss: the model has the recorded supervisor
        server.clock.advance(60)
        stats = client.get(f"{SUP}/wiki/stats")
        assert stats.status_code == 200 and sorted(stats.json()) == ["0", "1"]
        assert client.get(f"{SUP}/gone/health").status_code == 404  # recorded, then terminated

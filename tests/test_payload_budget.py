"""Submitted payloads are kept within --max-stored-payloads, over a real socket (reference 2.6, 2.11).

The oldest complete tasks' payloads are let go of first (Druid's "payload not found" for them, status,
log and reports still served); active tasks' payloads are never let go of, so when they alone fill the
budget a submission is refused as a full queue and nothing changes.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest

from druid_sim.config import ServeConfig
from druid_sim.limits import MIB, ServerLimits
from tests.support.live import START_MS, LiveServer, live_server
from tests.support.served import served

V1 = "/druid/indexer/v1"
LIMITS = ServerLimits(max_body_size=1 * MIB, max_stored_payloads=3 * MIB)


def spec(size: int) -> bytes:
    """An ``index_parallel`` submission of about ``size`` bytes (most of it one padding string)."""
    return orjson.dumps({"type": "index_parallel", "spec": {"dataSchema": {"dataSource": "wiki"}}, "pad": "x" * size})


@pytest.fixture(scope="module")
def budgeted() -> Iterator[LiveServer]:
    config = ServeConfig(scenario=None, time_scale=0, start_ms=START_MS, limits=LIMITS)
    with live_server(config) as live:
        yield live


@pytest.fixture
def client(budgeted: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=budgeted.url, timeout=10) as http:
        assert http.post("/__sim/reset", json={}).status_code == 200
        yield http


def submit(client: httpx.Client, size: int) -> httpx.Response:
    return client.post(f"{V1}/task", content=spec(size), headers={"Content-Type": "application/json"})


def advance(client: httpx.Client, by: str) -> None:
    assert client.post("/__sim/clock", json={"advance": by}).status_code == 200


def test_the_oldest_complete_payloads_are_let_go_of_first_section2_6(client: httpx.Client) -> None:
    ids = []
    for _ in range(3):
        response = submit(client, 900_000)
        assert response.status_code == 200
        ids.append(response.json()["task"])
        advance(client, "6h")  # long enough for every task so far to finish
    newest = submit(client, 900_000).json()["task"]  # 4 x 0.9 MB > 3 MiB: room is made
    gone = client.get(f"{V1}/task/{ids[0]}")
    assert (gone.status_code, gone.content) == (404, b'{"task":"' + ids[0].encode() + b'","payload":null}')
    assert gone.headers["content-type"] == "application/json"
    assert client.get(f"{V1}/task/{ids[0]}/status").json()["status"]["statusCode"] in ("SUCCESS", "FAILED")
    assert client.get(f"{V1}/task/{ids[0]}/log").status_code == 200
    assert client.get(f"{V1}/task/{ids[0]}/reports").status_code == 200
    for kept in (ids[1], ids[2], newest):
        payload = client.get(f"{V1}/task/{kept}").json()["payload"]
        assert payload["id"] == kept and len(payload["pad"]) == 900_000


def test_active_payloads_filling_the_budget_refuse_submissions_as_a_full_queue_section2_11(
    client: httpx.Client,
) -> None:
    for _ in range(3):  # the clock is frozen: all three stay active
        assert submit(client, 900_000).status_code == 200
    refused = submit(client, 900_000)
    assert refused.status_code == 429
    assert refused.json()["category"] == "CAPACITY_EXCEEDED"
    assert len(client.get(f"{V1}/tasks").json()) == 3  # the refused submission changed nothing
    assert submit(client, 1000).status_code == 200  # a small one still fits
    advance(client, "6h")
    assert submit(client, 900_000).status_code == 200  # once they are complete, room is made again


def test_serve_memory_stops_growing_with_submissions_once_the_budget_is_full() -> None:
    # 24 submissions of 4 MB, each finishing: without a bound the last 16 add 64 MB for good (measured:
    # 62 MiB); within a 16 MiB budget they add what the allocator keeps around (measured: 8 MiB).
    body, headers = spec(4_000_000), {"Content-Type": "application/json"}
    args = ("--scenario", "slow-tasks", "--time-scale", "0", "--max-stored-payloads", "16MiB", "--no-access-log")
    with served(*args) as running, httpx.Client(base_url=running.url, timeout=30) as client:
        resident = []
        for count in range(1, 25):
            assert client.post(f"{V1}/task", content=body, headers=headers).status_code == 200
            advance(client, "7d")  # every task so far finishes
            if count in (8, 24):
                resident.append(running.rss_kib())
    grown_mib = (resident[1] - resident[0]) / 1024
    assert grown_mib < 32, grown_mib

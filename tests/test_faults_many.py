"""Many faults at once (issue 22 item 9): the fault list is indexed by name, so adding is linear.

Adding batches of 10,000 faults took 11, 39, 65, 86 and 120 s, each add scanning every fault in force;
``bench/model.py`` shows the batches now cost the same. Here: a thousand faults added in batches through
the control API all apply to the request they target, keep their order and names, and one removed
from the middle frees its name for the next add.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.live import live_server

V1 = "/druid/indexer/v1"
BATCHES = 4
BATCH = 250


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with live_server() as server, httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


def test_a_thousand_faults_added_in_batches_all_apply_in_order(client: httpx.Client) -> None:
    for _ in range(BATCHES):
        batch = [{"kind": "latency", "delay": 0, "routes": [f"{V1}/tasks"]} for _ in range(BATCH)]
        added = client.post("/__sim/faults", json=batch)
        assert added.status_code == 200, added.text
        assert len(added.json()["added"]) == BATCH
    assert client.get(f"{V1}/tasks").status_code == 200
    faults = client.get("/__sim/faults").json()["faults"]
    assert [fault["name"] for fault in faults] == [f"fault-{n}" for n in range(1, BATCHES * BATCH + 1)]
    assert all((fault["seen"], fault["fired"]) == (1, 1) for fault in faults)  # each latency fault acted


def test_a_removed_name_is_free_again_and_a_taken_one_refused_among_many(client: httpx.Client) -> None:
    batch = [{"kind": "latency", "delay": 0, "routes": [f"{V1}/tasks"]} for _ in range(BATCH)]
    assert client.post("/__sim/faults", json=batch).status_code == 200
    assert client.request("DELETE", "/__sim/faults/fault-100", json={}).status_code == 200
    again = client.post("/__sim/faults", json={"name": "fault-100", "kind": "error", "status": 503})
    assert again.status_code == 200
    taken = client.post("/__sim/faults", json={"name": "fault-7", "kind": "error", "status": 503})
    assert taken.status_code == 409 and "exists already" in taken.text
    names = [fault["name"] for fault in client.get("/__sim/faults").json()["faults"]]
    assert names[-1] == "fault-100" and len(names) == BATCH and len(set(names)) == BATCH
    assert client.get(f"{V1}/tasks").status_code == 503  # the re-added error fault acts, last in order

"""The request journal: a ring that never grows past its size, and the middleware that feeds it."""

from __future__ import annotations

import httpx
import pytest

from simulator.clock import Clock
from simulator.config import ServeConfig
from simulator.journal import Journal, JournalFilter
from tests.support.live import START_MS, live_server


def test_journal_never_grows_past_its_size_over_a_real_socket() -> None:
    config = ServeConfig(scenario=None, time_scale=0, start_ms=START_MS, journal_size=5)
    with live_server(config) as server, httpx.Client(base_url=server.url) as client:
        for n in range(12):
            client.get("/druid/indexer/v1/tasks", params={"n": n})
            assert client.get("/__sim/health").json()["journal"]["held"] == min(n + 1, 5)
        body = client.get("/__sim/journal").json()
    assert (body["size"], body["held"], body["total"], body["dropped"]) == (5, 5, 12, 7)
    assert [entry["query"] for entry in body["entries"]] == [f"n={n}" for n in range(7, 12)]


def test_journal_ring_keeps_the_newest_entries() -> None:
    journal = Journal(Clock(START_MS, 0), size=3)
    for n in range(1000):
        journal.record("GET", f"/p/{n}", b"")
        assert len(journal) <= 3
    assert [entry.path for entry in journal] == ["/p/997", "/p/998", "/p/999"]
    assert journal.count(JournalFilter(path="/p/99?")) == 3
    assert journal.clear() == 3 and journal.total == 0 and len(journal) == 0


def test_journal_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="--journal-size"):
        Journal(Clock(START_MS, 0), size=0)


def test_a_request_still_in_progress_is_journaled_with_no_status() -> None:
    journal = Journal(Clock(START_MS, 0))
    entry = journal.record("POST", "/druid/indexer/v1/task", b"")
    assert entry.to_json()["status"] is None
    assert "-> - by -" in repr(entry)

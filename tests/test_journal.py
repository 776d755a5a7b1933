"""The request journal: a ring that never grows past its size, and the middleware that feeds it."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import httpx
import pytest

from druid_sim.cassette import CassetteWriter, Redactor, load_cassette, new_meta, new_salt
from druid_sim.clock import Clock
from druid_sim.config import ServeConfig
from druid_sim.journal import Journal, JournalFilter
from druid_sim.server.assembly import build_app
from tests.support.express import express_answered
from tests.support.live import START_MS, live_server
from tests.support.replay import exchange, replay_server


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


SECRET_QUERY = {"state": "running", "password": "hunter2222", "X-Amz-Signature": "f0e1d2c3b4a5"}


def _access_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "druid_sim.access"]


def test_the_journal_and_the_access_log_never_keep_a_credential_in_clear(caplog: pytest.LogCaptureFixture) -> None:
    """Simulation mode, no cassette: the recorder's built-in rules, a salt of the server's own."""
    caplog.set_level(logging.INFO, logger="druid_sim.access")
    config = ServeConfig(scenario=None, time_scale=0, start_ms=START_MS)
    with (
        live_server(config, lambda simulation: build_app(simulation, access_log=True)) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        assert client.get("/druid/indexer/v1/tasks", params=SECRET_QUERY).status_code == 200
        (entry,) = client.get("/__sim/journal").json()["entries"]
    assert re.fullmatch(
        r"state=running&password=<redacted:[0-9a-f]{12}>&X-Amz-Signature=<redacted:[0-9a-f]{12}>", entry["query"]
    )
    (line,) = _access_lines(caplog)
    assert entry["query"] in line
    for text in (entry["query"], line):
        assert "hunter2222" not in text and "f0e1d2c3b4a5" not in text


def test_replayed_requests_are_journaled_with_the_cassettes_placeholders_on_both_lanes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    redactor = Redactor(new_salt())
    polled = exchange("GET", "/druid/indexer/v1/tasks", 200, [], query=list(SECRET_QUERY.items()))
    path = tmp_path / "c.jsonl"
    with CassetteWriter.open(path, "overwrite", new_meta(None, redactor.redaction)) as writer:
        writer.append(redactor.redact_interaction(polled))
    recorded = dict(load_cassette(path).interactions[0].request.query)
    caplog.set_level(logging.INFO, logger="druid_sim.access")
    with (
        replay_server(path, replay_on_miss="error", app_factory=lambda s: build_app(s, access_log=True)) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        before = express_answered()
        for _ in range(3):  # the first the ASGI way, the next two by the express lane
            assert client.get("/druid/indexer/v1/tasks", params=SECRET_QUERY).status_code == 200
        assert express_answered() == before + 2
        entries = client.get("/__sim/journal").json()["entries"]
    expected = "state=running&password={password}&X-Amz-Signature={X-Amz-Signature}".format(**recorded)
    assert [e["query"] for e in entries] == [expected] * 3
    assert [line.split('"')[1] for line in _access_lines(caplog)] == [f"GET /druid/indexer/v1/tasks?{expected}"] * 3

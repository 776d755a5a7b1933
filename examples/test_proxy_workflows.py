"""WireMock's and Hoverfly's workflows with ``druid-sim serve``: a proxy in front of a cluster that records
what it forwards, a spy that answers what it has and forwards the rest, and a snapshot of a session.

Each test starts real ``druid-sim serve`` processes (`examples.serving`) and runs the ingestion client
against them. The "cluster" is druid-sim too, on a frozen clock (``examples/ingest-scenario.yaml``); the
client's ``sleep`` moves that clock through its control API, so a 33-second task runs in milliseconds
and every run answers the same.

=============================  ==========================================================================
workflow                       druid-sim
=============================  ==========================================================================
WireMock: record while         ``serve --cassette new.jsonl --on-miss forward --upstream URL --record-new``
proxying, then play back       then ``serve --cassette new.jsonl`` (strict: a miss is a 599)
Hoverfly: spy                  ``serve --cassette partial.jsonl --on-miss forward --upstream URL``
WireMock: snapshot             ``druid-sim journal --save session.jsonl`` on any running server
=============================  ==========================================================================
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from druid_sim.cassette import find_secrets, load_cassette
from druid_sim.cli import main
from druid_sim.client import SimControl
from examples.ingest_client import IngestClient, TaskFailed
from examples.serving import Served, druid_sim_serve
from examples.test_ingest_client import spec

SCENARIO = str(Path(__file__).with_name("ingest-scenario.yaml"))
FROZEN = ("--time-scale", "0", "--start-time", "2026-01-01T00:00:00Z")


@pytest.fixture
def cluster() -> Iterator[Served]:
    """The cluster the proxy stands in front of (in real life: your Router, e.g. http://router:8888)."""
    with druid_sim_serve("--scenario", SCENARIO, *FROZEN) as served:
        yield served


def ingest(url: str, clock_of: str, datasource: str = "wikipedia") -> dict[str, object]:
    """Run one ingestion through ``url``; the client's sleeps move the clock of the server at ``clock_of``."""
    with SimControl(clock_of) as control, IngestClient(url, poll_interval=10, sleep=control.advance) as client:
        return client.run(spec(datasource), timeout=600)


def test_wiremock_record_while_proxying_then_play_back_offline(cluster: Served, tmp_path: Path) -> None:
    cassette = tmp_path / "ingest.jsonl"  # need not exist: --record-new starts it
    proxy = ("--cassette", str(cassette), "--on-miss", "forward", "--upstream", cluster.url, "--record-new")
    with druid_sim_serve(*proxy) as recorder:
        live = ingest(recorder.url, cluster.url)
        summary = recorder.stop()
    assert live["status"] == "SUCCESS"
    assert "6 forwarded (6 appended to the cassette)" in summary  # a submit and five polls
    assert find_secrets(load_cassette(cassette)) == []

    with druid_sim_serve("--cassette", str(cassette), *FROZEN) as player:  # no cluster needed any more
        replayed = ingest(player.url, player.url)
        summary = player.stop()
    assert replayed == live  # the same answers, offline
    assert re.search(r"6 hits, 0 misses, 0 of \d+ recorded interactions not \(fully\) played", summary)


def test_hoverfly_spy_answers_what_is_recorded_and_forwards_the_rest(cluster: Served) -> None:
    recorded = Path(__file__).parent / "cassettes" / "test_recorded_client" / "test_a_quick_task_succeeds.jsonl"
    with druid_sim_serve("--cassette", str(recorded), "--on-miss", "forward", "--upstream", cluster.url) as spy:
        assert ingest(spy.url, spy.url)["status"] == "SUCCESS"  # recorded: the cassette answers all of it
        with pytest.raises(TaskFailed) as failed:  # never recorded: the cluster answers
            ingest(spy.url, cluster.url, "broken_events")
        with SimControl(spy.url) as control:
            described = control.cassette()
        summary = spy.stop()
    assert failed.value.status["errorMsg"] == "Max parse exceptions[0] exceeded"
    forwarded = described["forwarded"]["recent"]
    assert forwarded[0]["method"] == "POST" and all(item["recorded"] is False for item in forwarded)
    assert f"{len(forwarded)} forwarded, " in summary  # nothing written: a spy without --record-new


def test_wiremock_snapshot_a_session_with_the_simulator_and_replay_it(tmp_path: Path) -> None:
    saved = tmp_path / "session.jsonl"
    with druid_sim_serve("--scenario", SCENARIO, *FROZEN) as simulator:
        live = ingest(simulator.url, simulator.url)
        assert main(["journal", "--url", simulator.url, "--save", str(saved)]) == 0
    with druid_sim_serve("--cassette", str(saved), *FROZEN) as player:
        assert ingest(player.url, player.url) == live
        assert "0 misses" in player.stop()

"""Recorded from a cluster, replayed by default: the pytest-recording habit, with druid-sim.

These tests drive the ingestion client through whole ingestions against cassettes committed beside
them, in ``cassettes/test_recorded_client/<test>.jsonl`` (``cassette=True`` names each after its
test). ``pytest examples`` replays them: no cluster, no network, and the client's sleeps move the
virtual clock. ``strict=True`` fails a test whose client sends a request the cassette has no answer
for, or leaves a recorded one unplayed. To record them again, point pytest at a cluster; here a
simulator on a frozen clock stands in for it:

    druid-sim serve --scenario examples/ingest-scenario.yaml --start-time 2026-01-01T00:00:00Z --time-scale 0 \
        --port 8888 &
    pytest examples/test_recorded_client.py --druid-sim-record=http://localhost:8888 --druid-sim-record-mode=all

(``make cassettes`` does that, on a free port, with ``--druid-sim-record-upstream-name=http://localhost:8888``,
and gives the committed files byte for byte.) While a test records, ``druid_sim.url`` forwards to the
cluster through druid-sim's recorder (which redacts credentials before anything is written) and faults
still answer in front of the cluster, so the same test code runs both ways. The client's ``sleep``
(``druid_sim.advance``) really waits for a real cluster; a simulator on a frozen clock has its clock moved
instead, so recording it again gives the same cassettes. ``--druid-sim-record-mode=once`` records only the
cassettes that are missing.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from druid_sim.pytest_plugin import DruidSim
from examples.ingest_client import IngestClient, TaskFailed
from examples.test_ingest_client import spec

pytestmark = pytest.mark.druid_sim(cassette=True, strict=True)

TASK = "/druid/indexer/v1/task"


@pytest.fixture
def client(druid_sim: DruidSim) -> Iterator[IngestClient]:
    """The client under test, polling every 5 s and retrying after 1 s, then 2 s: of virtual time in a
    replay and while recording a frozen simulator, of real time while recording a real cluster (a quick
    task of the scenario runs 33 s)."""
    timing = {"poll_interval": 5.0, "backoff": 1.0}
    with IngestClient(druid_sim.url, sleep=druid_sim.advance, clock=druid_sim.now_seconds, **timing) as made:
        yield made


def test_a_quick_task_succeeds(druid_sim: DruidSim, client: IngestClient) -> None:
    status = client.run(spec("wikipedia"), timeout=600)
    assert (status["status"], status["dataSource"]) == ("SUCCESS", "wikipedia")
    assert druid_sim.count("POST", TASK) == 1
    assert druid_sim.count("POST", f"{TASK}/*/shutdown") == 0


def test_a_failing_task_raises_with_druids_error_message(druid_sim: DruidSim, client: IngestClient) -> None:
    with pytest.raises(TaskFailed) as failed:
        client.run(spec("broken_events"), timeout=600)
    assert failed.value.status["errorMsg"] == "Max parse exceptions[0] exceeded"


def test_a_flaky_overlord_in_front_of_the_recording(druid_sim: DruidSim, client: IngestClient) -> None:
    """Faults answer before the cluster (or the cassette) is asked: recorded once, replayed with them."""
    druid_sim.add_fault(kind="error", status=503, routes=[TASK], methods=["POST"], when={"first": 2})
    assert client.run(spec("wikipedia"), timeout=600)["status"] == "SUCCESS"
    submits = druid_sim.journal("POST", TASK)
    answered = "upstream" if druid_sim.recording else "replay"
    assert [(entry["status"], entry["answeredBy"]) for entry in submits] == [
        (503, "fault"),
        (503, "fault"),
        (200, answered),
    ]

"""VCR.py's and pytest-recording's workflow with the ``druid_sim`` fixture: record once, replay strictly,
add episodes. Each step is the ``pytest`` command a user types, run here on a user's test file (pytester).

1. ``pytest --druid-sim-record=URL`` records the cassettes that are missing (mode ``once``);
2. ``pytest`` replays them (mode ``none``): a request the cassette has no answer for fails the test,
   naming the nearest recorded request and what differed; ``--druid-sim-strict`` also fails a test that
   left a recorded interaction unplayed;
3. the test grows a request: ``pytest --druid-sim-record=URL --druid-sim-record-mode=new_episodes``
   replays what is recorded and appends what is new, and the strict replay passes again.

The cluster is druid-sim on a frozen clock (`examples.serving`); in real life, your Router's URL.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import httpcore  # noqa: F401  (imported before pytester's in-process runs, which drop what they import)
import pytest

from druid_sim.cassette import load_cassette
from examples.serving import Served, druid_sim_serve

pytest.importorskip("mitmproxy", reason="recording needs the recorder: pip install 'druid-sim[record]'")
with warnings.catch_warnings():  # mitmproxy's dependencies' deprecations are not this example's to fix
    warnings.simplefilter("ignore", DeprecationWarning)
    import druid_sim.proxy.embedded  # noqa: F401  (the recorder, imported once for the in-process runs)

pytest_plugins = ["pytester"]

SCENARIO = str(Path(__file__).with_name("ingest-scenario.yaml"))
QUIET = ("-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning")
USER_TEST = """
import pytest

SPEC = {{"type": "index_parallel", "spec": {{"dataSchema": {{"dataSource": "wikipedia"}}}}}}

@pytest.mark.druid_sim(cassette=True)
def test_my_dag(druid_sim):
    task = druid_sim.http.post("/druid/indexer/v1/task", json=SPEC).json()["task"]
    assert druid_sim.http.get(f"/druid/indexer/v1/task/{{task}}/status").json()["status"]["id"] == task
{more}
"""
ONE_MORE = '    assert druid_sim.http.get("/druid/indexer/v1/runningTasks").status_code == 200'


@pytest.fixture
def cluster() -> Iterator[Served]:
    with druid_sim_serve("--scenario", SCENARIO, "--time-scale", "0", "--start-time", "2026-01-01T00:00:00Z") as served:
        yield served


def test_record_once_replay_strictly_add_episodes(pytester: pytest.Pytester, cluster: Served) -> None:
    pytester.makepyfile(test_user=USER_TEST.format(more=""))
    cassette = pytester.path / "cassettes" / "test_user" / "test_my_dag.jsonl"

    recorded = pytester.runpytest_inprocess(*QUIET, f"--druid-sim-record={cluster.url}")  # 1. record once
    recorded.assert_outcomes(passed=1)
    recorded.stdout.fnmatch_lines([f"druid-sim: recorded 2 interaction(s) from {cluster.url} into {cassette}"])
    pytester.runpytest_inprocess(*QUIET, "--druid-sim-strict").assert_outcomes(passed=1)  # 2. replay strictly

    pytester.makepyfile(test_user=USER_TEST.format(more=ONE_MORE))  # 3. the test grows a request
    missed = pytester.runpytest_inprocess(*QUIET)
    missed.assert_outcomes(failed=1)
    missed.stdout.fnmatch_lines(["*druid-sim: 1 request(s) had no answer in*", "  GET /druid/indexer/v1/runningTasks*"])
    episodes = ("--druid-sim-record-mode=new_episodes", f"--druid-sim-record={cluster.url}")
    pytester.runpytest_inprocess(*QUIET, *episodes).assert_outcomes(passed=1)
    assert [i.request.path for i in load_cassette(cassette).interactions][-1] == "/druid/indexer/v1/runningTasks"
    pytester.runpytest_inprocess(*QUIET, "--druid-sim-strict").assert_outcomes(passed=1)

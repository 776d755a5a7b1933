"""The ``druid_sim`` pytest plugin, exercised the way users meet it: test files run by pytester."""

from __future__ import annotations

from pathlib import Path

import httpcore  # noqa: F401  (see below)
import pytest

# pytester's in-process runs drop the modules they import when they end. httpx builds its map of
# httpcore's exception classes once, lazily: were httpcore first imported inside a run, later tests
# would see a fresh httpcore whose ReadError that map does not know, escaping as httpcore.ReadError.
pytest_plugins = ["pytester"]


def run(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_user=source)
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", *args)


def test_the_fixture_serves_a_real_server_with_clock_faults_and_journal(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
import httpx
import pytest

def test_everything(druid_sim):
    assert druid_sim.now() == "2026-01-01T00:00:00.000Z"
    task_id = druid_sim.submit(id="t1")
    assert druid_sim.advance("10m") == "2026-01-01T00:10:00.000Z"
    status = httpx.get(f"{druid_sim.url}/druid/indexer/v1/task/{task_id}/status").json()["status"]
    assert status["status"] == "SUCCESS"
    druid_sim.add_fault(kind="error", status=503, when={"first": 1}, name="once")
    assert druid_sim.http.get("/druid/indexer/v1/tasks").status_code == 503
    assert druid_sim.http.get("/druid/indexer/v1/tasks").status_code == 200
    assert druid_sim.count() == 3
    assert druid_sim.count(fault="once") == 1
    assert [e["status"] for e in druid_sim.journal(path="/druid/indexer/v1/tasks")] == [503, 200]
    assert druid_sim.clear_faults() == 1
""",
    )
    result.assert_outcomes(passed=1)


def test_each_test_starts_from_a_reset_server(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
import pytest

@pytest.mark.parametrize("n", range(3))
def test_clean(druid_sim, n):
    assert druid_sim.count() == 0 and druid_sim.faults() == []
    assert druid_sim.now() == "2026-01-01T00:00:00.000Z"
    druid_sim.submit(id="same-id")  # would be a duplicate if the model were not reset
    druid_sim.http.get("/status/health")
    druid_sim.add_fault(kind="hang", name="h")
    druid_sim.advance("1h")
    assert druid_sim.server is SERVERS.setdefault("s", druid_sim.server)  # one shared server

SERVERS = {}
""",
    )
    result.assert_outcomes(passed=3)


def test_marker_and_indirect_parameters_choose_scenario_seed_and_start(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
import pytest

@pytest.mark.druid_sim(scenario="demo", seed=3, start="2030-05-01T12:00:00Z")
def test_marker(druid_sim):
    assert druid_sim.now() == "2030-05-01T12:00:00.000Z"
    assert druid_sim.simulation.config.seed == 3
    assert len(druid_sim.http.get("/druid/indexer/v1/tasks").json()) > 0

@pytest.mark.parametrize("druid_sim", [{"seed": 1}, {"seed": 2}], indirect=True)
def test_indirect(druid_sim):
    assert druid_sim.simulation.config.seed in (1, 2)
    assert druid_sim.http.get("/druid/indexer/v1/tasks").json() == []

@pytest.mark.druid_sim(fresh=True)
def test_fresh(druid_sim):
    assert druid_sim.simulation.config.scenario is None
""",
    )
    result.assert_outcomes(passed=4)


def test_a_failed_test_reports_the_journal_tail(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
def test_fails(druid_sim):
    druid_sim.http.get("/druid/indexer/v1/task/nope/status")
    assert False, "the code under test did something wrong"
""",
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- druid-sim journal -*",
            "last 1 of 1 Druid requests*",
            "#1 2026-01-01T00:00:00.000Z GET /druid/indexer/v1/task/nope/status -> 404 by model",
        ]
    )


def test_bad_options_are_usage_errors_that_say_how_to_fix(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
import pytest

@pytest.mark.druid_sim(sead=1)
def test_typo(druid_sim):
    pass

@pytest.mark.druid_sim(cassette="missing.jsonl")
def test_missing_cassette(druid_sim):
    pass
""",
    )
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "*unknown option(s) sead; use scenario, cassette, seed*",
            "*cassette 'missing.jsonl' not found*or a shipped cassette's name (demo-recording, docs-examples)*",
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_a_shipped_cassette_is_replayed_by_name(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
import pytest

@pytest.mark.druid_sim(cassette="docs-examples")
def test_docs(druid_sim):
    assert druid_sim.http.get("/__sim/cassette").json()["cassette"].endswith("docs-examples.jsonl")
    assert druid_sim.http.get("/druid/indexer/v1/completeTasks").json()[0]["type"] == "query_worker"
""",
    )
    result.assert_outcomes(passed=1)


def test_the_marker_is_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.druid_sim(scenario=None, cassette=None, seed=0, time_scale=0*"])


def test_a_scenario_or_cassette_loaded_by_one_test_does_not_leak_into_the_next(pytester: pytest.Pytester) -> None:
    cassettes = Path(__file__).resolve().parent.parent / "cassettes"
    docs = "docs-examples"  # a shipped cassette, by name
    result = run(
        pytester,
        f"""
import pytest

@pytest.mark.druid_sim(data_dirs=[{str(cassettes)!r}])  # what the control API may load besides the working directory
@pytest.mark.parametrize("n", range(2))
def test_switch(druid_sim, n):
    assert druid_sim.http.get("/__sim/scenario").json()["scenario"] is None
    assert druid_sim.http.get("/__sim/cassette").json() == {{"cassette": None}}
    assert druid_sim.http.get("/druid/indexer/v1/completeTasks").json() == []
    assert druid_sim.http.post("/__sim/scenario", json={{"scenario": "demo"}}).status_code == 200
    assert druid_sim.http.post("/__sim/cassette", json={{"cassette": {docs!r}}}).status_code == 200
    assert druid_sim.http.get("/druid/indexer/v1/completeTasks").json() != []
""",
    )
    result.assert_outcomes(passed=2)


def test_a_cassette_over_druid_sim_max_cassette_size_fails_the_test_naming_the_flag(pytester: pytest.Pytester) -> None:
    """Issue 22 item 5: the plugin loads cassettes within a size too, and says which flag raises it."""
    source = """
import pytest

@pytest.mark.druid_sim(cassette="docs-examples")
def test_docs(druid_sim):
    assert druid_sim.http.get("/druid/indexer/v1/completeTasks").status_code == 200
"""
    refused = run(pytester, source, "--druid-sim-max-cassette-size", "4KiB")
    refused.assert_outcomes(errors=1)
    refused.stdout.fnmatch_lines(
        [
            "*docs-examples.jsonl:0: the file is *: a cassette may be at most 4KiB (--max-cassette-size)*"
            "--druid-sim-max-cassette-size*"
        ]
    )
    assert "Traceback" not in refused.stdout.str()
    run(pytester, source, "--druid-sim-max-cassette-size", "1MiB").assert_outcomes(passed=1)

"""The pytest plugin as VCR.py and pytest-recording users work (issue 19, issue 22 item 7).

A killed recording is never taken for a complete one; the marker takes serve's matching options; a
missing cassette is reported once; ``new_episodes`` lists only the cassettes it changed. Recording runs
through the plugin's embedded mitmproxy in front of a real upstream (the simulator on a free port).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import httpcore  # noqa: F401  (loaded before pytester's in-process runs: see tests/test_pytest_plugin.py)
import pytest

from druid_sim.cassette import load_cassette
from tests.support.live import LiveServer, live_server
from tests.support.replay import exchange, write_cassette

with warnings.catch_warnings():  # mitmproxy imports ldap3, which uses a name pyasn1 has deprecated
    warnings.simplefilter("ignore", DeprecationWarning)
    import druid_sim.proxy.embedded  # noqa: F401

pytest_plugins = ["pytester"]

V1 = "/druid/indexer/v1"
QUIET = ("-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning")

#: Two requests recorded, then the session is killed (SIGKILL: nothing of pytest's runs after it).
KILLED_MID_RECORDING = """
import os, signal
import pytest

@pytest.mark.druid_sim(cassette=True)
def test_lists(druid_sim):
    assert druid_sim.http.get("/druid/indexer/v1/tasks").status_code == 200
    assert druid_sim.http.get("/druid/indexer/v1/leader").status_code == 200
    if druid_sim.recording and os.environ.get("KILL_MID_RECORDING"):
        os.kill(os.getpid(), signal.SIGKILL)
    assert druid_sim.http.get("/druid/indexer/v1/isLeader").status_code == 200
"""


@pytest.fixture(scope="module")
def upstream() -> Iterator[LiveServer]:
    with live_server() as server:
        yield server


def test_a_killed_recording_leaves_no_cassette_is_refused_and_recorded_again_in_once(
    pytester: pytest.Pytester, upstream: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_user=KILLED_MID_RECORDING)
    cassette = pytester.path / "cassettes" / "test_user" / "test_lists.jsonl"
    partial = cassette.with_name("test_lists.jsonl.partial")
    monkeypatch.setenv("KILL_MID_RECORDING", "1")
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # a quick start: only the plugin under test
    killed = pytester.runpytest_subprocess(
        *QUIET, "-p", "druid_sim.pytest_plugin", f"--druid-sim-record={upstream.url}"
    )
    assert killed.ret == -9  # SIGKILL
    assert not cassette.exists() and partial.exists()  # what it recorded never became the cassette
    monkeypatch.delenv("KILL_MID_RECORDING")
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD")

    replayed = pytester.runpytest_inprocess(*QUIET)  # mode none: refused, saying why
    replayed.assert_outcomes(errors=1)
    replayed.stdout.fnmatch_lines(["*Its recording was interrupted (the session stopped before the test ended*"])

    pytester.runpytest_inprocess(*QUIET, f"--druid-sim-record={upstream.url}").assert_outcomes(passed=1)
    assert not partial.exists()  # once: recorded again, from the start
    assert [i.request.path for i in load_cassette(cassette).interactions] == [
        f"{V1}/tasks",
        f"{V1}/leader",
        f"{V1}/isLeader",
    ]
    pytester.runpytest_inprocess(*QUIET, "--druid-sim-strict").assert_outcomes(passed=1)

    partial.write_bytes(cassette.read_bytes()[:200])  # as a killed append (new_episodes) would leave it
    strict = pytester.runpytest_inprocess(*QUIET, "--druid-sim-strict")
    strict.assert_outcomes(failed=1)
    strict.stdout.fnmatch_lines([f"druid-sim: the last recording into {cassette} was interrupted*"])


def test_new_episodes_lists_only_the_cassettes_it_changed(pytester: pytest.Pytester, upstream: LiveServer) -> None:
    pytester.makepyfile(test_user=KILLED_MID_RECORDING)
    pytester.runpytest_inprocess(*QUIET, f"--druid-sim-record={upstream.url}").assert_outcomes(passed=1)
    again = pytester.runpytest_inprocess(
        *QUIET, f"--druid-sim-record={upstream.url}", "--druid-sim-record-mode=new_episodes"
    )
    again.assert_outcomes(passed=1)
    again.stdout.fnmatch_lines(["druid-sim: 1 cassette(s) had an answer for every request: left unchanged"])
    assert "appended 0 interaction(s)" not in again.stdout.str()


def test_a_missing_cassette_is_reported_once_without_chained_exceptions(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_user="""
import pytest

@pytest.mark.druid_sim(cassette=True)
def test_it(druid_sim):
    pass
"""
    )
    result = pytester.runpytest_inprocess(*QUIET)
    result.assert_outcomes(errors=1)
    out = result.stdout.str()
    # Once in the error's report; the one-line summary after it may repeat it, cut to the terminal's width
    # (where the cut falls depends on the length of the temporary folder's path), so it is not counted.
    report = out.split("short test summary info")[0]
    assert report.count("--druid-sim-record-mode is none (replay only)") == 1
    assert "During handling of the above exception" not in out
    assert "Traceback" not in out


def test_the_marker_takes_serves_matching_options(pytester: pytest.Pytester) -> None:
    """``ignore=`` and ``match_on=`` as ``--ignore`` and ``--match-on``; ``sequence=`` as ``--sequence``."""
    status = f"{V1}/task/t1/status"
    write_cassette(
        pytester.path / "polls.jsonl",
        [
            exchange("GET", status, 200, {"status": "RUNNING"}, request_headers=[("X-Tenant", "acme")]),
            exchange("GET", status, 200, {"status": "SUCCESS"}, request_headers=[("X-Tenant", "acme")]),
        ],
    )
    pytester.makepyfile(
        test_user=f"""
import pytest

def poll(druid_sim, **headers):
    return druid_sim.http.get("{status}", params={{"_": "1733"}}, headers=headers)

@pytest.mark.druid_sim(cassette="polls.jsonl", ignore=["query:_"], sequence="cycle")
def test_ignored_query_and_cycle(druid_sim):
    answers = [poll(druid_sim).json()["status"] for _ in range(3)]
    assert answers == ["RUNNING", "SUCCESS", "RUNNING"]

@pytest.mark.druid_sim(cassette="polls.jsonl", ignore="query:_", match_on=["header:x-tenant"])
def test_matched_on_a_header(druid_sim):
    assert poll(druid_sim, **{{"X-Tenant": "acme"}}).status_code == 200
    assert poll(druid_sim, **{{"X-Tenant": "other"}}).status_code == 599

@pytest.mark.druid_sim(cassette="polls.jsonl")
def test_unignored_query_misses(druid_sim):
    assert poll(druid_sim).status_code == 599

@pytest.mark.druid_sim(cassette="polls.jsonl", ignore=["query"])
def test_bad_rule(druid_sim):
    pass

@pytest.mark.druid_sim(cassette="polls.jsonl", latency="slow")
def test_bad_latency(druid_sim):
    pass
"""
    )
    result = pytester.runpytest_inprocess(*QUIET)
    result.assert_outcomes(passed=1, failed=2, errors=2)
    result.stdout.fnmatch_lines_random(
        [
            "*druid_sim: cannot read ignore rule 'query': use query:KEY, header:NAME or body:/json/pointer*",
            "*druid_sim: latency 'slow' is not one of: none, recorded*",
            "*FAILED test_user.py::test_matched_on_a_header - Failed: druid_sim replay failed:*",
            "*FAILED test_user.py::test_unignored_query_misses - Failed: druid_sim replay*",
        ]
    )
    assert "Traceback" not in result.stdout.str() and "UsageError" not in result.stdout.str()

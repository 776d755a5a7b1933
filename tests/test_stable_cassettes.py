"""Stable cassettes (issue 19 item 2): recording the same client flow against the same cluster again gives
the same file, so a reviewer sees only what really changed.

The shipped docs cassette is made again by its script (``cassettes/make_docs_examples.py``) and must come
out byte for byte; a test recorded again with ``--druid-sim-record-mode=all`` through the plugin's
embedded mitmproxy, against the same (reset) cluster, keeps its header (salt, ``recorded_at``), records
no ``Date`` and no ``Host`` port of its own, and differs only in the measured timings (``at``,
``elapsed_ms``), which are facts of each run.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import warnings
from pathlib import Path

import httpcore  # noqa: F401  (loaded before pytester's in-process runs: see tests/test_pytest_plugin.py)
import httpx
import pytest

from tests.support.live import live_server

with warnings.catch_warnings():  # mitmproxy imports ldap3, which uses a name pyasn1 has deprecated
    warnings.simplefilter("ignore", DeprecationWarning)
    import druid_sim.proxy.embedded  # noqa: F401

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parent.parent
QUIET = ("-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning")
TIMINGS = re.compile(rb'"(elapsed_ms|at)":[0-9.]+')


def test_the_shipped_docs_cassette_made_again_is_byte_identical(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = importlib.util.spec_from_file_location("make_docs_examples", REPO / "cassettes" / "make_docs_examples.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    shipped = REPO / "cassettes" / "docs-examples.jsonl"
    again = tmp_path / "docs-examples.jsonl"
    shutil.copyfile(shipped, again)
    assert script.main([str(REPO / "docs" / "druid-tasks-api.md"), str(again)]) == 0
    capsys.readouterr()
    assert again.read_bytes() == shipped.read_bytes()


def test_recording_a_test_again_from_the_same_cluster_changes_only_the_timings(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_user="""
import pytest

SPEC = {"type": "index_parallel", "spec": {"dataSchema": {"dataSource": "wiki"}}}

@pytest.mark.druid_sim(cassette=True)
def test_flow(druid_sim):
    task = druid_sim.http.post("/druid/indexer/v1/task", json=SPEC).json()["task"]
    assert druid_sim.http.get(f"/druid/indexer/v1/task/{task}/status").status_code == 200
    assert druid_sim.http.get("/druid/indexer/v1/tasks", params={"state": "running"}).status_code == 200
    assert druid_sim.http.get("/druid/indexer/v1/leader").status_code == 200
"""
    )
    cassette = pytester.path / "cassettes" / "test_user" / "test_flow.jsonl"
    with live_server() as cluster:
        record = (*QUIET, f"--druid-sim-record={cluster.url}", "--druid-sim-record-mode=all")
        pytester.runpytest_inprocess(*record).assert_outcomes(passed=1)
        first = cassette.read_bytes()
        httpx.post(f"{cluster.url}/__sim/reset", headers={"Content-Type": "application/json"}).raise_for_status()
        pytester.runpytest_inprocess(*record).assert_outcomes(passed=1)
        second = cassette.read_bytes()
    assert first.splitlines()[0] == second.splitlines()[0]  # the same header: salt and recorded_at pinned
    assert b'"date"' not in second.lower()
    assert TIMINGS.sub(b"", first) == TIMINGS.sub(b"", second)
    pytester.runpytest_inprocess(*QUIET, "--druid-sim-strict").assert_outcomes(passed=1)

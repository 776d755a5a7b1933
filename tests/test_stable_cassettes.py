"""Stable cassettes (issue 19): recording the same client flow against the same cluster again gives the same
file, so a reviewer sees only what really changed (the shipped cassettes: tests/test_shipped_cassettes.py).

The recorder is real mitmproxy (the plugin's embedded recorder, the same addon as ``druid-sim record``) in
front of a real druid-sim on a frozen clock.

* Recording again over a cassette keeps its header (its salt, ``recorded_at``) and the timings of every
  exchange whose request and response did not change; a changed or new exchange gets the timings measured
  now; ``--latency recorded`` replays the kept ones. A cassette from another cluster gets a new header.
* A test recorded again through the plugin from a druid-sim on a frozen clock (whose clock the test's
  ``druid_sim.advance`` moves) is byte for byte the same.
"""

from __future__ import annotations

import re
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpcore  # noqa: F401  (loaded before pytester's in-process runs: see tests/test_pytest_plugin.py)
import httpx
import orjson
import pytest

from druid_sim.cassette import CassetteMeta, RecordMode, read_meta
from druid_sim.cassette.codec import decode_meta
from druid_sim.client import SimControl
from tests.support.live import START_MS, LiveServer, live_server
from tests.support.replay import replay_server

with warnings.catch_warnings():  # mitmproxy imports ldap3, which uses a name pyasn1 has deprecated
    warnings.simplefilter("ignore", DeprecationWarning)
    from druid_sim.proxy.embedded import EmbeddedRecorder

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parent.parent
QUIET = ("-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning")
V1 = "/druid/indexer/v1"
SPEC = {"type": "index_parallel", "spec": {"dataSchema": {"dataSource": "wiki"}}}
#: Timings no recording measures: what a first recording on a slow network could have written.
SLOW_MS, SLOW_AT = 400_000.0, 7.0


@pytest.fixture(scope="module")
def cluster() -> Iterator[LiveServer]:
    """The cluster: druid-sim on a frozen clock, each recording from its start (reset)."""
    with live_server() as server:
        yield server


@pytest.fixture
def recorder(cluster: LiveServer, tmp_path: Path) -> Iterator[EmbeddedRecorder]:
    """Real mitmproxy with the recorder (the pytest plugin's: a cassette at a time) in front of the cluster; one
    per test, as mitmproxy runs one master at a time in a process (the plugin's test starts its own)."""
    made = EmbeddedRecorder(cluster.url, tmp_path / "confdir")
    yield made
    made.stop()


def _flow(client: httpx.Client, control: SimControl, extra: bool) -> None:
    """Submit, poll after 10 virtual seconds, ask the leader; ``extra``: one request more, in the middle."""
    task = client.post(f"{V1}/task", json=SPEC).json()["task"]
    if extra:
        assert client.get(f"{V1}/isLeader").status_code == 200
    control.advance(10)
    assert client.get(f"{V1}/task/{task}/status").status_code == 200
    assert client.get(f"{V1}/leader").status_code == 200


def _record(
    recorder: EmbeddedRecorder, cassette: Path, cluster: LiveServer, later: float = 0, more: bool = False
) -> None:
    """The flow recorded over ``cassette`` (mode overwrite) from the cluster's start, ``later`` seconds after it."""
    with SimControl(cluster.url) as control, httpx.Client(base_url=recorder.url) as client:
        control.reset()
        control.advance(later)
        recorder.record_into(cassette, RecordMode.OVERWRITE)
        try:
            _flow(client, control, more)
        finally:
            recorder.finish()


def _timings(cassette: Path) -> list[tuple[str, float, float]]:
    """(method path, elapsed_ms, at) of each interaction line."""
    lines = [orjson.loads(line) for line in cassette.read_bytes().splitlines()[1:]]
    return [(f"{o['request']['method']} {o['request']['path']}", o["elapsed_ms"], o["at"]) for o in lines]


def _recorded_slow_and_again(
    recorder: EmbeddedRecorder, cassette: Path, cluster: LiveServer, upstream: bytes | None = None
) -> bytes:
    """The flow recorded, its timings slowed (and its header's upstream made ``upstream``), recorded again over
    it; what it was recorded over."""
    _record(recorder, cassette, cluster)
    _slowed(cassette)
    earlier = cassette.read_bytes()
    if upstream is not None:
        earlier = earlier.replace(cluster.url.encode(), upstream, 1)
        cassette.write_bytes(earlier)
    _record(recorder, cassette, cluster)
    return earlier


def _slowed(cassette: Path) -> None:
    """Every interaction's timings made ones no recording here would measure."""
    slow = b'"elapsed_ms":%d.0,"at":%d.0}' % (SLOW_MS, SLOW_AT)
    cassette.write_bytes(re.sub(rb'"elapsed_ms":[0-9.]+,"at":[0-9.]+\}', slow, cassette.read_bytes()))


def test_recording_again_keeps_the_header_and_the_timings_of_what_did_not_change(
    tmp_path: Path, cluster: LiveServer, recorder: EmbeddedRecorder
) -> None:
    cassette = tmp_path / "flow.jsonl"
    _record(recorder, cassette, cluster)
    first_header = cassette.read_bytes().splitlines()[0]
    _slowed(cassette)
    _record(recorder, cassette, cluster, more=True)  # one request more after the submission
    again = _timings(cassette)
    assert cassette.read_bytes().splitlines()[0] == first_header  # the same salt and recorded_at
    assert [(what.rpartition("/")[2], (ms, at) == (SLOW_MS, SLOW_AT)) for what, ms, at in again] == [
        ("task", True),
        ("isLeader", False),  # new: measured now
        ("status", True),
        ("leader", True),
    ]


def test_a_changed_answer_is_recorded_with_the_timings_measured_now(
    tmp_path: Path, cluster: LiveServer, recorder: EmbeddedRecorder
) -> None:
    cassette = tmp_path / "flow.jsonl"
    _record(recorder, cassette, cluster)
    _slowed(cassette)
    before = cassette.read_bytes().splitlines()
    _record(recorder, cassette, cluster, later=3600)  # an hour later: another task id, other times, the same leader
    after = cassette.read_bytes().splitlines()
    assert after[0] == before[0] and after[-1] == before[-1]  # the header, and GET /leader with its kept timings
    changed = [(line == old, b'"elapsed_ms":400000.0' in line) for old, line in zip(before, after, strict=True)]
    assert changed[1:-1] == [(False, False), (False, False)]


def test_a_cassette_from_another_cluster_is_recorded_anew(
    tmp_path: Path, cluster: LiveServer, recorder: EmbeddedRecorder
) -> None:
    """Recorded over a cassette of another upstream: a new header (a new salt), every timing measured now."""
    cassette = tmp_path / "flow.jsonl"
    elsewhere = _recorded_slow_and_again(recorder, cassette, cluster, b"http://router:8888")
    header = read_meta(cassette)
    assert header.upstream == cluster.url
    assert header.redaction is not None and header.redaction != read_meta_of(elsewhere).redaction
    assert all((ms, at) != (SLOW_MS, SLOW_AT) for _what, ms, at in _timings(cassette))


def read_meta_of(data: bytes) -> CassetteMeta:
    return decode_meta(orjson.loads(data.partition(b"\n")[0]))


def test_latency_recorded_replays_the_timing_a_recording_again_kept(
    tmp_path: Path, cluster: LiveServer, recorder: EmbeddedRecorder
) -> None:
    """``--latency recorded`` waits each answer's ``elapsed_ms`` on the virtual clock: the kept 400 s."""
    cassette = tmp_path / "flow.jsonl"
    _recorded_slow_and_again(recorder, cassette, cluster)
    assert {(ms, at) for _what, ms, at in _timings(cassette)} == {(SLOW_MS, SLOW_AT)}
    with (
        replay_server(cassette, replay_latency="recorded") as server,
        httpx.Client(base_url=server.url, timeout=60) as client,
    ):
        answered: list[int] = []
        thread = threading.Thread(target=lambda: answered.append(client.post(f"{V1}/task", json=SPEC).status_code))
        thread.start()
        advanced = 0  # virtual seconds, in steps of 10, until the answer comes: at least the kept 400 s
        deadline = time.monotonic() + 60  # a bound for a broken replay that never answers, not a speed
        while thread.is_alive() and time.monotonic() < deadline:
            server.clock.advance(10)
            advanced += 10
            thread.join(timeout=0.05)
    assert answered == [200] and advanced >= SLOW_MS / 1000


def test_tests_recorded_again_from_a_frozen_simulator_are_byte_identical(
    pytester: pytest.Pytester, cluster: LiveServer
) -> None:
    """The plugin against a druid-sim on a frozen clock: ``druid_sim.advance`` moves the cluster's clock (the
    task succeeds in no real time), and recording again gives the same bytes, for a test's own cassette and
    for one two tests share (the second appends to it, keeping its timings too)."""
    pytester.makepyfile(
        test_user="""
import pytest

SPEC = {"type": "index_parallel", "spec": {"dataSchema": {"dataSource": "wiki"}}}

@pytest.mark.druid_sim(cassette=True)
def test_flow(druid_sim):
    task = druid_sim.http.post("/druid/indexer/v1/task", json=SPEC).json()["task"]
    # fail here rather than wait a real hour in advance() if the frozen cluster were not recognised
    assert not druid_sim.recording or druid_sim.cluster is not None, "the frozen druid-sim was not recognised"
    druid_sim.advance("1h")
    assert druid_sim.http.get(f"/druid/indexer/v1/task/{task}/status").json()["status"]["status"] == "SUCCESS"
    assert druid_sim.http.get("/druid/indexer/v1/tasks", params={"state": "complete"}).status_code == 200
    assert druid_sim.http.get("/druid/indexer/v1/leader").status_code == 200

@pytest.mark.druid_sim(cassette="shared.jsonl")
def test_one(druid_sim):
    assert druid_sim.http.get("/druid/indexer/v1/runningTasks").status_code == 200

@pytest.mark.druid_sim(cassette="shared.jsonl")
def test_two(druid_sim):
    assert druid_sim.http.get("/druid/indexer/v1/completeTasks").status_code == 200
"""
    )
    cassettes = [pytester.path / "cassettes" / "test_user" / "test_flow.jsonl", pytester.path / "shared.jsonl"]
    with SimControl(cluster.url) as control:
        control.reset()
        record = (*QUIET, f"--druid-sim-record={cluster.url}", "--druid-sim-record-mode=all")
        pytester.runpytest_inprocess(*record).assert_outcomes(passed=3)
        first = [path.read_bytes() for path in cassettes]
        moved = control.clock()["nowMillis"] - START_MS
        control.reset()
        pytester.runpytest_inprocess(*record).assert_outcomes(passed=3)
        second = [path.read_bytes() for path in cassettes]
    assert moved == 3_600_000
    host = b'["Host","%s"]' % cluster.url.removeprefix("http://").encode()
    assert [(b'"date"' in data.lower(), data.count(host)) for data in second] == [(False, 4), (False, 2)]
    assert second == first
    pytester.runpytest_inprocess(*QUIET).assert_outcomes(passed=3)  # replayed (not strictly: each plays its part)

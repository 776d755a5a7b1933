"""Recording cassettes from the test suite (``pytest --druid-sim-record=URL``) and replaying them by default.

Each test runs a user's test file with pytester, the way users run it, against a real upstream: the
simulator on a free port (`tests.support.live`), standing in for the cluster. Recording goes through
the plugin's embedded mitmproxy recorder, over real sockets; replays through the real server.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import httpcore  # noqa: F401  (loaded before pytester's in-process runs: see tests/test_pytest_plugin.py)
import httpx
import pytest

from druid_sim.cassette import (
    Body,
    CassetteWriter,
    Interaction,
    RecordMode,
    Redactor,
    Request,
    Response,
    find_secrets,
    load_cassette,
    new_meta,
    new_salt,
    read_meta,
)
from druid_sim.config import ServeConfig
from druid_sim.pytest_plugin.recording import CassetteMissing, RecordingMode, plan_cassette
from tests.support.live import START_MS, LiveServer, free_socket, live_server

with warnings.catch_warnings():  # mitmproxy imports ldap3, which uses a name pyasn1 has deprecated
    warnings.simplefilter("ignore", DeprecationWarning)
    import druid_sim.proxy.embedded  # noqa: F401  (loaded here, in-process runs do not import mitmproxy afresh each time)

pytest_plugins = ["pytester"]

V1 = "/druid/indexer/v1"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
BEARER = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlLXNlY3JldA"
S3_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
QUIET = ("-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def upstream() -> Iterator[LiveServer]:
    """The "real cluster": an empty simulated one with a frozen clock."""
    with live_server() as server:
        yield server


def received(server: LiveServer) -> list[str]:
    """What the upstream has been asked so far: one 'METHOD path' each."""
    journal = server.simulation.extensions["journal"]
    return [f"{entry.method} {entry.path}" for entry in journal.select(limit=journal.total)]


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess(*QUIET, *args)


USER_TESTS = f"""
import pytest
from druid_sim.pytest_plugin import NotWhileRecording

AUTH = {{"Authorization": "Bearer {BEARER}"}}
SPEC = {{"type": "index_parallel", "spec": {{"dataSchema": {{"dataSource": "wiki"}}}}}}
SECRET_SPEC = {{"type": "index_parallel", "spec": {{"dataSchema": {{"dataSource": "wiki"}}, "ioConfig": {{"inputSource":
    {{"type": "s3", "properties": {{"secretAccessKey": {{"type": "default", "password": "{S3_SECRET}"}}}}}}}}}}}}
V1 = "/druid/indexer/v1"


@pytest.mark.druid_sim(cassette=True)
def test_submit_and_poll(druid_sim):
    task = druid_sim.http.post(f"{{V1}}/task", json=SPEC, headers=AUTH).json()["task"]
    status = druid_sim.http.get(f"{{V1}}/task/{{task}}/status", headers=AUTH).json()["status"]
    assert status["id"] == task and status["status"] == "RUNNING"
    expected = "upstream" if druid_sim.recording else "replay"
    assert [entry["answeredBy"] for entry in druid_sim.journal()] == [expected, expected]


class TestSecrets:
    @pytest.mark.druid_sim(cassette=True)
    def test_never_reach_the_cassette(self, druid_sim):
        assert druid_sim.http.post(f"{{V1}}/task", json=SECRET_SPEC, headers=AUTH).status_code == 200
        expected = "upstream" if druid_sim.recording else "replay"  # replayed: redacted alike, matched
        assert [entry["answeredBy"] for entry in druid_sim.journal()] == [expected]


@pytest.mark.druid_sim(cassette="recorded/faults.jsonl")
def test_faults_answer_in_front_of_the_cluster(druid_sim):
    druid_sim.add_fault(kind="error", status=503, when={{"first": 1}})
    assert druid_sim.http.get(f"{{V1}}/tasks").status_code == 503
    assert druid_sim.http.get(f"{{V1}}/tasks").json() != None
    if druid_sim.recording:
        with pytest.raises(NotWhileRecording, match="submit with druid_sim.http.post instead"):
            druid_sim.submit()
"""


def test_once_records_missing_cassettes_and_then_they_are_replayed(
    pytester: pytest.Pytester, upstream: LiveServer
) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    before = len(received(upstream))
    result = run(pytester, f"--druid-sim-record={upstream.url}")
    result.assert_outcomes(passed=3)
    sent = [line.rsplit("/", 2)[0] if line.endswith("/status") else line for line in received(upstream)[before:]]
    assert sent == [
        f"POST {V1}/task",
        f"GET {V1}/task",  # /task/{id}/status
        f"POST {V1}/task",
        f"GET {V1}/tasks",  # the 503 before it was a fault in front of the cluster: neither sent nor recorded
    ]
    cassettes = pytester.path / "cassettes" / "test_user"
    submit = cassettes / "test_submit_and_poll.jsonl"
    secrets = cassettes / "TestSecrets.test_never_reach_the_cassette.jsonl"
    faults = pytester.path / "recorded" / "faults.jsonl"
    result.stdout.fnmatch_lines(
        ["*= druid-sim recordings =*", f"druid-sim: recorded 2 interaction(s) from {upstream.url} into {submit}"]
    )
    for path in (submit, secrets, faults):
        data = path.read_bytes()
        assert BEARER.encode() not in data and S3_SECRET.encode() not in data
        assert find_secrets(load_cassette(path)) == []  # what `druid-sim cassette check` runs
    assert [i.response.status for i in load_cassette(faults).interactions] == [200]
    assert load_cassette(submit).meta.upstream == upstream.url

    recorded = {path: path.read_bytes() for path in (submit, secrets, faults)}
    run(pytester).assert_outcomes(passed=3)  # no flag: replayed
    run(pytester, f"--druid-sim-record={upstream.url}").assert_outcomes(passed=3)  # once: they exist, replayed
    assert len(received(upstream)) == before + 4 and {path: path.read_bytes() for path in recorded} == recorded


def test_a_missing_cassette_fails_in_mode_none_saying_how_to_record_it(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
import pytest
from pathlib import Path

@pytest.fixture(scope="module")
def druid_sim_cassette_dir(request):
    return Path(request.path).parent / "recorded" / Path(request.path).stem
"""
    )
    pytester.makepyfile(
        test_user="""
import pytest

@pytest.mark.druid_sim(cassette=True)
def test_default_name(druid_sim):
    pass

class TestSuite:
    @pytest.mark.parametrize("shape", ["a/b", "c"])
    @pytest.mark.druid_sim(cassette=True)
    def test_method(self, druid_sim, shape):
        pass
"""
    )
    result = run(pytester)
    result.assert_outcomes(errors=3)
    folder = pytester.path / "recorded" / "test_user"  # the conftest's folder, the default file names
    how = (
        "--druid-sim-record-mode is none (replay only): record it from a Druid cluster with pytest --druid-sim-record="
    )
    output = result.stdout.str()
    assert f"druid_sim: cassette {folder / 'test_default_name.jsonl'} not found. {how}http://ROUTER:8888" in output
    for name in ("TestSuite.test_method[a-b].jsonl", "TestSuite.test_method[c].jsonl"):
        assert f"druid_sim: cassette {folder / name} not found. " in output


def test_the_record_modes_decide_as_pytest_recording_s_do(tmp_path: Path) -> None:
    """The table in druid_sim/pytest_plugin/recording.py, for a cassette that exists and one that does not."""
    exists, missing = tmp_path / "exists.jsonl", tmp_path / "missing.jsonl"
    exists.write_text("{}\n")
    replay, overwrite, append = (True, None), (False, RecordMode.OVERWRITE), (True, RecordMode.APPEND)
    expected = {
        RecordingMode.NONE: (replay, None),
        RecordingMode.ONCE: (replay, overwrite),
        RecordingMode.NEW_EPISODES: (append, overwrite),
        RecordingMode.ALL: (overwrite, overwrite),
        RecordingMode.REWRITE: (overwrite, overwrite),
    }
    for mode, (if_exists, if_missing) in expected.items():
        for path, outcome in ((exists, if_exists), (missing, if_missing)):
            if outcome is None:
                with pytest.raises(CassetteMissing):
                    plan_cassette(path, mode, set())
            else:
                plan = plan_cassette(path, mode, set())
                assert (plan.replay, plan.record) == outcome, (mode, path.name)
    rewritten: set[Path] = set()
    assert [plan_cassette(exists, RecordingMode.ALL, rewritten).record for _ in range(2)] == [
        RecordMode.OVERWRITE,
        RecordMode.APPEND,  # a cassette several tests share is rewritten once a session, then appended to
    ]


def write_cassette(path: Path, upstream: str, *exchanges: tuple[str, list[tuple[str, str]], Body]) -> Path:
    """A cassette as the recorder leaves one (a header with a redaction salt): GET requests, 200 answers."""
    json = [("Content-Type", "application/json")]
    meta = new_meta(upstream, Redactor(new_salt()).redaction)
    with CassetteWriter.open(path, RecordMode.OVERWRITE, meta) as writer:
        for path_, query, body in exchanges:
            writer.append(Interaction(Request("GET", path_, query), Response(200, json, body)))
    return path


def test_new_episodes_replays_what_the_cassette_has_and_appends_what_it_misses(
    pytester: pytest.Pytester, upstream: LiveServer
) -> None:
    cassette = pytester.path / "cassettes" / "test_user" / "test_lists.jsonl"
    cassette.parent.mkdir(parents=True)
    write_cassette(cassette, upstream.url, (f"{V1}/tasks", [("state", "running")], Body("json", [])))
    header = cassette.read_bytes().splitlines()[0]
    pytester.makepyfile(
        test_user="""
import pytest

@pytest.mark.druid_sim(cassette=True)
def test_lists(druid_sim):
    assert druid_sim.http.get("/druid/indexer/v1/tasks", params={"state": "running"}).json() == []
    assert druid_sim.http.get("/druid/indexer/v1/leader").text != ""
    expected = ["replay", "upstream"] if druid_sim.recording else ["replay", "replay"]
    assert [entry["answeredBy"] for entry in druid_sim.journal()] == expected
"""
    )
    before = len(received(upstream))
    result = run(pytester, f"--druid-sim-record={upstream.url}", "--druid-sim-record-mode=new_episodes")
    result.assert_outcomes(passed=1)
    assert received(upstream)[before:] == [f"GET {V1}/leader"]  # the recorded list was replayed
    result.stdout.fnmatch_lines([f"druid-sim: appended 1 interaction(s) from {upstream.url} into {cassette}"])
    paths = [(i.request.path, i.request.query) for i in load_cassette(cassette).interactions]
    assert paths == [(f"{V1}/tasks", [("state", "running")]), (f"{V1}/leader", [])]
    assert cassette.read_bytes().splitlines()[0] == header  # same header, same salt: placeholders stay stable
    run(pytester, "--druid-sim-strict").assert_outcomes(passed=1)  # replayed: nothing missed, nothing unplayed


def test_all_records_again_and_a_changed_cluster_changes_the_cassette(
    pytester: pytest.Pytester, upstream: LiveServer
) -> None:
    cassette = pytester.path / "shared.jsonl"
    old_task = {"id": "recorded-long-ago", "dataSource": "rerecorded"}
    query = [("datasource", "rerecorded")]
    before = read_meta(write_cassette(cassette, upstream.url, (f"{V1}/tasks", query, Body("json", [old_task]))))
    pytester.makepyfile(
        test_user="""
import pytest

@pytest.mark.druid_sim(cassette="shared.jsonl")
def test_lists(druid_sim):
    assert druid_sim.http.get("/druid/indexer/v1/tasks", params={"datasource": "rerecorded"}).status_code == 200

@pytest.mark.druid_sim(cassette="shared.jsonl")
def test_leader(druid_sim):
    druid_sim.http.get("/druid/indexer/v1/leader")
"""
    )
    spec = {"type": "index_parallel", "spec": {"dataSchema": {"dataSource": "rerecorded"}}}
    task = httpx.post(f"{upstream.url}{V1}/task", json=spec, timeout=10).json()["task"]  # the cluster has changed

    result = run(pytester, f"--druid-sim-record={upstream.url}", "--druid-sim-record-mode=all")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            f"druid-sim: recorded 1 interaction(s) * into {cassette}",
            f"druid-sim: appended 1 interaction(s) * {cassette}",
        ]
    )
    after = load_cassette(cassette)
    assert [i.request.path for i in after.interactions] == [f"{V1}/tasks", f"{V1}/leader"]  # rewritten once
    assert [listed["id"] for listed in after.interactions[0].response.body.json()] == [task]
    assert after.meta.redaction == before.redaction  # recorded again from the same cluster: the same salt (stable)


def test_an_unrecorded_request_fails_a_replayed_test_unless_it_asks_for_the_model(
    pytester: pytest.Pytester,
) -> None:
    json = [("Content-Type", "application/json")]
    with CassetteWriter.open(
        pytester.path / "recorded.jsonl", RecordMode.OVERWRITE, new_meta("http://router:8888", None)
    ) as writer:
        writer.append(
            Interaction(Request("GET", f"{V1}/tasks", [("state", "running")]), Response(200, json, Body("json", [])))
        )
        writer.append(Interaction(Request("GET", f"{V1}/leader"), Response(200, [], Body("text", "http://o:8081"))))
    pytester.makepyfile(
        test_user="""
import pytest

def poll(druid_sim):
    return druid_sim.http.get("/druid/indexer/v1/tasks", params={"state": "complete"}).status_code

@pytest.mark.druid_sim(cassette="recorded.jsonl", strict=True)
def test_strict(druid_sim):
    assert poll(druid_sim) == 599  # the replay's miss, explained in the body too

@pytest.mark.druid_sim(cassette="recorded.jsonl", on_miss="simulate")
def test_hybrid(druid_sim):
    assert poll(druid_sim) == 200  # the model answers what was not recorded, because the test asked for it

@pytest.mark.druid_sim(cassette="recorded.jsonl")
def test_replayed(druid_sim):
    assert poll(druid_sim) == 599  # record mode none, as VCR.py's: the unrecorded request fails the test

@pytest.mark.druid_sim(cassette="recorded.jsonl", strict=True)
def test_strict_and_failing(druid_sim):
    assert druid_sim.http.get("/druid/indexer/v1/leader").text == "http://o:8081"
    assert poll(druid_sim) == 200
"""
    )
    result = run(pytester)
    result.assert_outcomes(passed=1, failed=3)
    cassette = pytester.path / "recorded.jsonl"
    result.stdout.fnmatch_lines(
        [
            "*_ test_strict _*",
            "druid_sim replay failed:",
            f"druid-sim: 1 request(s) had no answer in {cassette}:",
            f"  GET {V1}/tasks?state=complete (answered by the replay's 599)",
            f"    nearest #0 GET {V1}/tasks?state=running: query state: recorded 'running', received 'complete'",
            f"    nearest #1 GET {V1}/leader: path: recorded '{V1}/leader', received '{V1}/tasks'*",
            f"druid-sim: 2 recorded interactions in {cassette} were not (fully) played:",
            f"  #0 GET {V1}/tasks?state=running -> 200 (played 0 of 1)",
            f"  #1 GET {V1}/leader -> 200 (played 0 of 1)",
            "*- druid-sim journal -*",
            f"#1 2026-01-01T00:00:00.000Z GET {V1}/tasks?state=complete -> 599 by replay",
            "*_ test_replayed _*",
            "druid_sim replay failed:",
            f"druid-sim: 1 request(s) had no answer in {cassette}:",
            f"  GET {V1}/tasks?state=complete (answered by the replay's 599)",
            f"    nearest #0 GET {V1}/tasks?state=running: query state: recorded 'running', received 'complete'",
            "*_ test_strict_and_failing _*",
            "*- druid-sim journal -*",
            "*- druid-sim replay -*",
            f"  GET {V1}/tasks?state=complete (answered by the replay's 599)",
            f"  #0 GET {V1}/tasks?state=running -> 200 (played 0 of 1)",
        ]
    )
    replayed = result.stdout.str().split("_ test_replayed _")[1].split("_ test_strict_and_failing _")[0]
    assert "were not (fully) played" not in replayed  # unplayed interactions fail only a strict replay
    assert "Traceback" not in result.stdout.str()


def test_a_cluster_that_is_down_fails_the_recording_and_leaves_the_cassette_alone(pytester: pytest.Pytester) -> None:
    closed = free_socket()
    url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    closed.close()
    cassette = pytester.path / "kept.jsonl"
    cassette.write_bytes(b'{"druid_sim_cassette":1,"recorded_at":"2026-01-01T00:00:00.000Z"}\n')
    pytester.makepyfile(
        test_user="""
import pytest

@pytest.mark.druid_sim(cassette="kept.jsonl")
def test_it(druid_sim):
    pass
"""
    )
    result = run(pytester, f"--druid-sim-record={url}", "--druid-sim-record-mode=all")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            f"*druid_sim: cannot record: the cluster at {url} (--druid-sim-record) is unreachable (*no cassette was changed"
        ]
    )
    assert read_meta(cassette).recorded_at == "2026-01-01T00:00:00.000Z"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--druid-sim-record-mode=once",), "--druid-sim-record-mode=once records cassettes from a Druid cluster: *"),
        (("--druid-sim-record=router:8888",), "--druid-sim-record 'router:8888': expected the Druid Router or *"),
        (
            ("--druid-sim-record=http://router:8888", "--druid-sim-record-max-body=8 megs"),
            "--druid-sim-record-max-body '8 megs': give the bytes of each body to keep in the cassette, e.g. 8MiB*",
        ),
    ],
)
def test_recording_options_that_cannot_work_are_usage_errors(
    pytester: pytest.Pytester, args: tuple[str, ...], message: str
) -> None:
    result = run(pytester, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])


def test_the_example_records_from_a_simulated_cluster_and_then_replays(pytester: pytest.Pytester) -> None:
    """examples/test_recorded_client.py as its docstring says to record it, with the simulator on a frozen
    clock as the cluster (the tests move its clock)."""
    pytester.makepyfile(test_recorded_client=(EXAMPLES / "test_recorded_client.py").read_text())
    scenario = str(EXAMPLES / "ingest-scenario.yaml")
    with live_server(ServeConfig(scenario=scenario, time_scale=0, start_ms=START_MS)) as cluster:
        run(pytester, f"--druid-sim-record={cluster.url}", "--druid-sim-record-mode=all").assert_outcomes(passed=3)
    recorded = sorted((pytester.path / "cassettes" / "test_recorded_client").glob("*.jsonl"))
    assert [path.name for path in recorded] == sorted(
        path.name for path in (EXAMPLES / "cassettes" / "test_recorded_client").glob("*.jsonl")
    )
    for path in recorded:
        cassette = load_cassette(path)
        assert find_secrets(cassette) == [] and cassette.meta.upstream == cluster.url
        assert cassette.interactions[0].request.method == "POST"  # after the faults' two 503s, in one test
    run(pytester).assert_outcomes(passed=3)  # replayed, strictly (the example's marker)

"""``druid-sim serve`` the way WireMock and Hoverfly users work (issue 19): spy mode (answer what is
recorded, forward the rest to the cluster), recording while proxying (``--record-new``), snapshotting
the journal as a cassette (``druid-sim journal --save``), a strict replay that still passes a health
check, and SIGTERM printing the replay's summary as Ctrl-C does. Every server is ``druid-sim serve`` in
its own process; the "cluster" is the simulator on a free port.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from druid_sim.cassette import CassetteWriter, RecordMode, Redactor, find_secrets, load_cassette, new_meta, new_salt
from druid_sim.cli import main
from tests.support.credentials import SECRETS, SPEC
from tests.support.live import LiveServer, live_server
from tests.support.process import serve
from tests.support.replay import exchange

V1 = "/druid/indexer/v1"
LEADER = "http://druid-overlord-recorded.internal:8081"
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def cluster() -> Iterator[LiveServer]:
    """The "real cluster": an empty simulated one with a frozen clock."""
    with live_server() as server:
        yield server


def recorded_cassette(path: Path) -> Path:
    """A cassette recorded with redaction (a salt in its header), holding only the leader."""
    redactor = Redactor(new_salt())
    with CassetteWriter.open(path, RecordMode.OVERWRITE, new_meta("http://router:8888", redactor.redaction)) as writer:
        writer.append(exchange("GET", f"{V1}/leader", 200, LEADER, content_type="text/plain"))
    return path


def stop(process: subprocess.Popen[str], sig: signal.Signals = signal.SIGTERM) -> tuple[str, str]:
    os.killpg(process.pid, sig)
    out, err = process.communicate(timeout=15)
    return out, err


def assert_no_secret(data: str | bytes) -> None:
    raw = data.encode() if isinstance(data, str) else data
    for secret in SECRETS.values():
        assert secret.encode() not in raw, f"a secret ({secret[:3]}...) is shown in clear"


def test_spy_mode_answers_what_is_recorded_forwards_the_rest_and_records_it_redacted(
    tmp_path: Path, cluster: LiveServer
) -> None:
    cassette = recorded_cassette(tmp_path / "partial.jsonl")
    spy = ("--cassette", str(cassette), "--on-miss", "forward", "--upstream", cluster.url, "--record-new")
    with serve(*spy, "--no-access-log") as (process, url), httpx.Client(base_url=url) as http:
        assert http.get(f"{V1}/leader").text == LEADER  # recorded: the cassette answers
        task = http.post(f"{V1}/task", json=SPEC).json()["task"]  # not recorded: the cluster answers
        status = http.get(f"{V1}/task/{task}/status")
        assert status.json()["status"]["status"] == "RUNNING" or status.status_code == 200
        payload = http.get(f"{V1}/task/{task}").content
        assert SECRETS["s3_secret"].encode() in payload  # the cluster's own answer, relayed unchanged
        journal = http.get("/__sim/journal").json()["entries"]
        assert [entry["answeredBy"] for entry in journal] == ["replay", "upstream", "upstream", "upstream"]
        shown = http.get("/__sim/cassette").json()
        assert [miss["answeredBy"] for miss in shown["missed"]] == ["upstream"] * 3
        assert shown["forwarded"]["recordNew"] is True and shown["forwarded"]["recorded"] == 3
        assert [(item["method"], item["path"]) for item in shown["forwarded"]["recent"]] == [
            ("POST", f"{V1}/task"),
            ("GET", f"{V1}/task/{task}/status"),
            ("GET", f"{V1}/task/{task}"),
        ]
        assert_no_secret(orjson.dumps(shown))
        switched = http.post("/__sim/cassette", json={"cassette": "docs-examples"})
        assert switched.status_code == 409 and "spies on" in switched.json()["message"]
        out, err = stop(process)
    assert process.returncode == -signal.SIGTERM  # ends as SIGTERM ends a process, after its summary
    assert "1 hits, 3 misses, 3 forwarded (3 appended to the cassette), 0 of 1 recorded interactions" in out
    assert "Traceback" not in err
    assert_no_secret(out + err)

    data = cassette.read_bytes()
    assert_no_secret(data)
    grown = load_cassette(cassette)
    assert find_secrets(grown) == []
    assert [(i.request.method, i.request.path) for i in grown.interactions] == [
        ("GET", f"{V1}/leader"),
        ("POST", f"{V1}/task"),
        ("GET", f"{V1}/task/{task}/status"),
        ("GET", f"{V1}/task/{task}"),
    ]
    for interaction in grown.interactions[1:]:  # nothing that changes from run to run
        assert interaction.request.header("host") is None and interaction.response.header("date") is None

    # The grown cassette replays strictly, offline: what was forwarded is now a hit, the client's own
    # secrets come back in the payload it reads, and a health check passes though nobody recorded one.
    with serve("--cassette", str(cassette), "--no-access-log") as (process, url), httpx.Client(base_url=url) as http:
        assert http.post(f"{V1}/task", json=SPEC).json()["task"] == task
        assert http.get(f"{V1}/task/{task}").content == payload
        assert http.get(f"{V1}/task/{task}").content == payload  # again, by the express lane: the same
        assert http.get("/status/health").text == "true"
        assert http.get(f"{V1}/runningTasks").status_code == 599  # not recorded: strict by default
        counts = http.get("/__sim/cassette").json()
        out, _ = stop(process, signal.SIGINT)
    assert (counts["hits"], counts["misses"]) == (3, 1)
    assert "3 hits, 1 misses" in out


def test_spy_options_that_cannot_work_are_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cassette = str(recorded_cassette(tmp_path / "c.jsonl"))
    cases = [
        (["--cassette", cassette, "--on-miss", "forward"], "--on-miss forward sends what the cassette has no answer"),
        (["--cassette", cassette, "--upstream", "http://x:8888"], "--upstream is where --on-miss forward sends misses"),
        (["--cassette", cassette, "--record-new"], "--record-new appends what is forwarded: add --on-miss forward"),
        (["--cassette", cassette, "--on-miss", "forward", "--upstream", "x:1"], "--upstream 'x:1': expected the Druid"),
        (["--cassette", cassette, "--match-on", "x-tenant"], "cannot read match-on rule 'x-tenant': use header:NAME"),
    ]
    for argv, message in cases:
        assert main(["serve", "--port", "0", *argv]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_the_journal_saved_as_a_cassette_replays_the_session_byte_for_byte(tmp_path: Path) -> None:
    demo = ("--scenario", "demo", "--time-scale", "0", "--start-time", "2026-01-01T00:00:00Z", "--no-access-log")
    calls = [("GET", f"{V1}/runningTasks"), ("GET", f"{V1}/tasks?state=complete&max=3"), ("GET", f"{V1}/leader")]
    saved = tmp_path / "session.jsonl"
    with serve(*demo) as (process, url), httpx.Client(base_url=url) as http:
        seen = [http.request(method, target).content for method, target in calls]
        task = http.post(f"{V1}/task", json=SPEC).json()["task"]
        payload = http.get(f"{V1}/task/{task}").content
        page = re.search(r'data-client="([^"]+)"', http.get("/").text)  # what the served page sends
        assert page is not None
        http.get(f"{V1}/tasks", headers={"X-Druid-Sim-Client": page.group(1)})  # the page's own: left out
        http.post("/__sim/faults", json={"kind": "error", "status": 503, "when": {"first": 1}})
        assert http.get(f"{V1}/isLeader").status_code == 503  # a fault's answer: left out
        assert main(["journal", "--url", url, "--save", str(saved)]) == 0
        assert main(["journal", "--url", url, "--save", str(saved)]) == 1  # never overwritten
        exported = http.get("/__sim/journal/cassette", params={"method": "GET", "path": f"{V1}/leader"})
        big = orjson.dumps([f"task-{n:07d}" for n in range(100_000)])  # past the 1 MiB an exchange may hold
        assert len(big) > 1024 * 1024 and http.post(f"{V1}/taskStatus", content=big, headers=JSON).status_code == 200
        everything = http.get("/__sim/journal/cassette")
        stop(process)
    assert everything.headers["x-druid-sim-skipped"] == "dashboard=1, fault=1, not held=1"
    assert everything.headers["x-druid-sim-exported"] == "5"
    assert exported.headers["x-druid-sim-exported"] == "1"
    assert exported.headers["content-type"].startswith("application/x-ndjson")
    data = saved.read_bytes()
    assert_no_secret(data)
    cassette = load_cassette(saved)
    assert find_secrets(cassette) == []
    assert len(cassette.interactions) == 5
    assert cassette.meta.recorded_at == "2026-01-01T00:00:00.000Z"  # virtual time: the same session, the same file

    with serve("--cassette", str(saved), "--no-access-log") as (process, url), httpx.Client(base_url=url) as http:
        assert [http.request(method, target).content for method, target in calls] == seen
        assert http.post(f"{V1}/task", json=SPEC).json()["task"] == task
        assert http.get(f"{V1}/task/{task}").content == payload
        assert http.get("/__sim/cassette").json()["misses"] == 0
        stop(process)

"""Record a credentialed client, replay it offline with the same credentials (issue 10, "Credentials end to end").

Everything is real: `druid-sim record` (in-process mitmproxy) in front of the simulator, a third-party
client (httpx) sending Basic auth and an ingestion spec with S3 keys, a JDBC password and Kafka SASL
credentials, then `druid-sim serve --cassette FILE` as a process with serve's own settings, and the
same client again. The same credentials are answered from the cassette, byte for byte; other ones
miss, and nothing the server answers or logs shows a secret in clear.
"""

from __future__ import annotations

import base64
import copy
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from druid_sim.cassette import find_secrets, load_cassette
from druid_sim.cassette.keys import KEY_ENV
from druid_sim.cli import main
from druid_sim.proxy.testing import record_argv, running_recorder
from tests.support.credentials import SECRETS as CARRIED
from tests.support.credentials import SPEC
from tests.support.live import live_server
from tests.support.process import serve
from tests.support.replay import replay_server

V1 = "/druid/indexer/v1"
USER, PASSWORD = "admin", "s3cret-Adm1n"
SECRETS = {**CARRIED, "basic": PASSWORD}
OTHER = {"basic": "other-Adm1n-pw", "jdbc": "changed-Pa55word!"}
JDBC_POINTER = "/context/connectorConfig/password"


def _forms(secret: str) -> list[bytes]:
    """A secret as it could leak: itself, and inside a Basic credential."""
    return [secret.encode(), base64.b64encode(f"{USER}:{secret}".encode())]


def assert_no_secret(data: str | bytes, *secrets: str) -> None:
    raw = data.encode() if isinstance(data, str) else data
    for secret in secrets or (*SECRETS.values(), *OTHER.values()):
        for form in _forms(secret):
            assert form not in raw, f"a secret ({secret[:3]}...) is shown in clear"


Call = tuple[str, str, dict[str, Any]]


def flow(task: str | None = None) -> list[Call]:
    """The requests a small ingestion tool sends: submit, poll, read the payload and the lists, shut down."""
    calls: list[Call] = [("POST", f"{V1}/task", {"json": SPEC})]
    if task is not None:
        calls += [("GET", f"{V1}/task/{task}/status", {})] * 3
        calls += [
            ("GET", f"{V1}/task/{task}", {}),
            ("GET", f"{V1}/tasks", {"params": {"datasource": "wiki", "state": "running"}}),
            ("POST", f"{V1}/taskStatus", {"json": [task]}),
            ("POST", f"{V1}/task/{task}/shutdown", {}),
            ("GET", f"{V1}/task/{task}/status", {}),
        ]
    return calls


def stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    """Ctrl-C, then what the server printed (stdout, stderr)."""
    process.send_signal(signal.SIGINT)
    return process.communicate(timeout=15)


def client(url: str, password: str = PASSWORD) -> httpx.Client:
    return httpx.Client(base_url=url, auth=(USER, password), timeout=10)


@dataclass
class Recording:
    cassette: Path
    calls: list[Call]
    seen: list[tuple[int, bytes]]  # what the client received through the recorder


@pytest.fixture(scope="module")
def confdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One mitmproxy directory for the module's recorders: its CA is made once."""
    return tmp_path_factory.mktemp("mitmproxy")


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory, confdir: Path) -> Iterator[Recording]:
    folder = tmp_path_factory.mktemp("credentials")
    cassette = folder / "secured.jsonl"
    with (
        live_server() as upstream,
        running_recorder(record_argv(upstream.url, cassette, confdir=confdir)) as proxy,
        client(proxy.url) as http,
    ):
        task = http.post(f"{V1}/task", json=SPEC).json()["task"]
        calls = flow(task)[1:]
        seen = []
        for method, path, kwargs in calls:
            response = http.request(method, path, **kwargs)
            seen.append((response.status_code, response.content))
            upstream.clock.advance(30)
    # The submission is replayed first: put it back at the head of the flow with what it answered.
    submitted = orjson.dumps({"task": task})
    yield Recording(cassette, [flow()[0], *calls], [(200, submitted), *seen])


def test_the_recorded_cassette_holds_no_secret_and_check_passes(recording: Recording) -> None:
    data = recording.cassette.read_bytes()
    assert_no_secret(data)
    assert find_secrets(load_cassette(recording.cassette)) == []
    header = orjson.loads(data.split(b"\n", 1)[0])
    assert header["redaction"]["salt"] and "rules" not in header["redaction"]


def test_same_client_same_credentials_is_answered_from_the_cassette_byte_for_byte(recording: Recording) -> None:
    cassette = load_cassette(recording.cassette)
    recorded = [i.response.body.raw() for i in cassette.interactions for _ in range(i.count)]
    with serve("--cassette", str(recording.cassette), "--on-miss", "error") as (process, url):
        with client(url) as http:
            for (method, path, kwargs), (status, live), stored in zip(
                recording.calls, recording.seen, recorded, strict=True
            ):
                response = http.request(method, path, **kwargs)
                assert response.status_code == status, f"{method} {path}: {response.text[:300]}"
                # What the cluster sent, byte for byte: an answer that echoed a secret (the task payload)
                # gets this client's own secrets back, from the submission it matched (issue 19 item 4).
                assert response.content == live, f"{method} {path}"
                if not any(s.encode() in live for s in SECRETS.values()):
                    assert_no_secret(response.content)
                else:
                    assert b"<redacted:" in stored and b"<redacted:" not in response.content
            counts = httpx.get(f"{url}/__sim/cassette").json()
        out, err = stop(process)
    assert (counts["hits"], counts["misses"], counts["unused"]) == (len(recording.calls), 0, 0)
    assert f"replaying {recording.cassette}: {len(cassette.interactions)} interactions" in out
    assert f"{len(recording.calls)} hits, 0 misses, 0 of {len(cassette.interactions)} recorded interactions" in out
    assert "Traceback" not in err
    assert_no_secret(out + err)


def test_other_credentials_miss_with_an_explanation_that_shows_no_secret(recording: Recording) -> None:
    spec = copy.deepcopy(SPEC)
    spec["context"]["connectorConfig"]["password"] = OTHER["jdbc"]
    with serve("--cassette", str(recording.cassette), "--on-miss", "error") as (process, url):
        with client(url, OTHER["basic"]) as http:
            response = http.post(f"{V1}/task", json=spec)
            listing = http.get(f"{V1}/tasks", params={"datasource": "wiki", "state": "running"})
        with client(url) as http:  # the recorded credentials, the changed JDBC password only
            jdbc_only = http.post(f"{V1}/task", json=spec)
        out, err = stop(process)
    assert response.status_code == 599 and response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    nearest = problem["nearest"][0]
    assert nearest["interaction"] == 0
    assert [(d["part"], d["name"]) for d in nearest["differences"]] == [
        ("header", "authorization"),
        ("body", JDBC_POINTER),
    ]
    assert all("different secret" in d["secret"] for d in nearest["differences"])
    assert "other secrets than were recorded" in problem["detail"]
    assert listing.status_code == 599
    assert [d["name"] for d in listing.json()["nearest"][0]["differences"]] == ["authorization"]
    assert [d["name"] for d in jdbc_only.json()["nearest"][0]["differences"]] == [JDBC_POINTER]
    assert (
        "--ignore header:authorization" in problem["detail"]
        and f"--ignore body:{JDBC_POINTER}" in (jdbc_only.json()["detail"])
    )
    for text in (response.content, listing.content, jdbc_only.content, out, err):
        assert_no_secret(text)
    assert f"body {JDBC_POINTER}: a different secret than recorded" in err


def test_with_the_model_answering_misses_each_distinct_miss_is_one_warning(
    recording: Recording, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        replay_server(recording.cassette, replay_on_miss="simulate") as server,
        client(server.url, OTHER["basic"]) as http,
    ):
        for _ in range(3):
            assert http.get(f"{V1}/tasks", params={"datasource": "wiki", "state": "running"}).status_code == 200
        counts = httpx.get(f"{server.url}/__sim/cassette").json()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and "replay miss" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert "the model answers it (--on-miss simulate)" in warnings[0]
    assert "header authorization: a different secret than recorded" in warnings[0]
    assert counts["misses"] == 3 and counts["hits"] == 0
    assert_no_secret(warnings[0])


def test_a_cassette_redacted_with_a_key_kept_outside_replays_only_with_that_key(
    tmp_path: Path, confdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file, cassette = tmp_path / "redaction.key", tmp_path / "keyed.jsonl"
    with live_server() as upstream:
        argv = record_argv(upstream.url, cassette, "--redaction-key", str(key_file), confdir=confdir)
        with running_recorder(argv) as proxy, client(proxy.url) as http:
            task = http.post(f"{V1}/task", json=SPEC).json()["task"]
    header = load_cassette(cassette).meta.redaction
    assert header is not None and header.salt is None and header.key_id
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # no default key file either
    assert main(["serve", "--cassette", str(cassette), "--port", "0"]) == 2  # refused before it listens
    refused = capsys.readouterr().err
    assert f"key id '{header.key_id}'" in refused and "--redaction-key FILE" in refused
    keyed = ("--cassette", str(cassette), "--on-miss", "error", "--redaction-key", str(key_file))
    with serve(*keyed) as (_, url), client(url) as http:
        assert http.post(f"{V1}/task", json=SPEC).json() == {"task": task}


def test_a_placeholder_sent_literally_does_not_match_the_recorded_credentials(recording: Recording) -> None:
    """Issue 22 item 12: a client copying ``Basic <redacted:…>`` out of a shared cassette is not answered as the
    recorded user: only the real secret matches, as it would against the real cluster."""
    listed = next(i for i in load_cassette(recording.cassette).interactions if i.request.path == f"{V1}/tasks").request
    copied = dict(listed.headers)
    authorization = next(value for name, value in copied.items() if name.lower() == "authorization")
    assert authorization.startswith("Basic <redacted:")
    with replay_server(recording.cassette, replay_on_miss="error") as server:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            forged = http.get(listed.path, params=listed.query, headers={"Authorization": authorization})
        with client(server.url) as http:
            genuine = http.get(listed.path, params=listed.query)
    assert forged.status_code == 599
    assert [d["name"] for d in forged.json()["nearest"][0]["differences"]] == ["authorization"]
    assert genuine.status_code == 200

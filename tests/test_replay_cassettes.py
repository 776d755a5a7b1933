"""Cassettes as ``serve --cassette`` meets them: broken ones stop the server with file, place and fix;
a truncated tail loads with a warning; unused interactions are listed; the shipped cassettes replay."""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import orjson
import pytest

from druid_sim.cassette import load_cassette
from tests.support.replay import exchange, replay_server, write_cassette
from tests.support.served import serve

V1 = "/druid/indexer/v1"
REPO = Path(__file__).resolve().parent.parent
HEADER = b'{"druid_sim_cassette":1,"recorded_at":"2026-01-01T00:00:00.000Z","upstream":null,"recorder":"test"}\n'
GOOD_LINE = (
    b'{"request":{"method":"GET","path":"/druid/indexer/v1/isLeader","query":[],"headers":[],"body":null},'
    b'"response":{"status":200,"headers":[["Content-Type","application/json"]],"body":{"json":{"leader":true}}},'
    b'"elapsed_ms":1.0,"at":0.0}\n'
)


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    """``serve`` with a cassette it refuses: it exits before it listens (port 0, should it not)."""
    argv = [sys.executable, "-m", "druid_sim", "serve", "--port", "0", "--no-access-log", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize(
    ("content", "where", "problem"),
    [
        (HEADER + GOOD_LINE + b'{"request": {"method": "GET",\n' + GOOD_LINE, ":3:", "not valid JSON"),
        (HEADER.replace(b":1,", b":7,") + GOOD_LINE, ":1", "format version 7 is not supported"),
        (HEADER + GOOD_LINE.replace(b'"method":"GET",', b""), ":2", "request.method: is missing"),
        (b"", ":1", "the file is empty"),
    ],
    ids=["bad-json", "wrong-version", "missing-field", "empty"],
)
def test_a_broken_cassette_stops_serve_with_file_place_and_fix_and_exit_code_2(
    tmp_path: Path, content: bytes, where: str, problem: str
) -> None:
    cassette = tmp_path / "broken.jsonl"
    cassette.write_bytes(content)
    done = _serve("--cassette", str(cassette))
    assert done.returncode == 2
    assert f"{cassette}{where}" in done.stderr
    assert problem in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert "Overlord Tasks API on" not in done.stdout  # it never started


def test_a_missing_cassette_or_bad_option_stops_serve_with_exit_code_2(tmp_path: Path) -> None:
    missing = _serve("--cassette", str(tmp_path / "nope.jsonl"))
    bad_rule = _serve("--cassette", str(write_cassette(tmp_path / "ok.jsonl", [])), "--ignore", "cookie:x")
    assert (missing.returncode, bad_rule.returncode) == (2, 2)
    assert "the file does not exist" in missing.stderr
    assert "query:KEY, header:NAME or body:/json/pointer" in bad_rule.stderr
    assert "Traceback" not in missing.stderr + bad_rule.stderr


def test_a_truncated_last_interaction_is_dropped_with_a_warning_and_the_rest_replays(tmp_path: Path) -> None:
    cassette = tmp_path / "killed.jsonl"
    cassette.write_bytes(HEADER + GOOD_LINE + GOOD_LINE.replace(b"isLeader", b"leader")[:60])
    with replay_server(cassette, replay_on_miss="error") as server, httpx.Client(base_url=server.url) as client:
        answer = client.get(f"{V1}/isLeader")
        warnings = server.simulation.extensions["replay"].cassette.warnings
    assert (answer.status_code, answer.content) == (200, b'{"leader":true}')
    assert len(warnings) == 1 and ":3: the last line is incomplete" in warnings[0]


def test_unused_lists_interactions_never_played_and_those_played_fewer_times_than_recorded(tmp_path: Path) -> None:
    status = f"{V1}/task/t1/status"
    cassette = write_cassette(
        tmp_path / "unused.jsonl",
        [
            exchange("GET", status, 200, {"task": "t1", "status": {"statusCode": "RUNNING"}}),
            exchange("GET", status, 200, {"task": "t1", "status": {"statusCode": "RUNNING"}}),
            exchange("GET", status, 200, {"task": "t1", "status": {"statusCode": "SUCCESS"}}),
            exchange("GET", f"{V1}/leader", 200, "http://druid:8081"),
        ],
    )
    with replay_server(cassette) as server, httpx.Client(base_url=server.url) as client:
        client.get(status)
        unused = server.simulation.extensions["replay"].unused()
    assert [(u["interaction"], u["path"], u["played"], u["recorded"]) for u in unused] == [
        (0, status, 1, 2),
        (1, status, 0, 1),
        (2, f"{V1}/leader", 0, 1),
    ]


def test_report_unused_prints_the_never_played_interactions_when_serve_stops(tmp_path: Path) -> None:
    cassette = write_cassette(
        tmp_path / "report.jsonl",
        [exchange("GET", f"{V1}/isLeader", 200, {"leader": True}), exchange("GET", f"{V1}/leader", 200, "http://x")],
    )
    with serve("--no-access-log", "--cassette", str(cassette), "--report-unused") as (process, url):
        assert httpx.get(f"{url}{V1}/isLeader").status_code == 200  # played; /leader never is
        process.send_signal(signal.SIGINT)
        out, _err = process.communicate(timeout=15)
    assert "1 recorded interactions in" in out
    assert f"#1 GET {V1}/leader -> 200 (played 0 of 1)" in out


@pytest.mark.parametrize("name", ["docs-examples.jsonl", "demo-recording.jsonl"])
def test_a_shipped_cassette_replays_every_recorded_answer_in_order(name: str) -> None:
    cassette = load_cassette(REPO / "cassettes" / name)
    with (
        replay_server(cassette.path, replay_on_miss="error") as server,
        httpx.Client(base_url=server.url) as client,
    ):
        for interaction in cassette.interactions:
            request = interaction.request
            for _ in range(interaction.count):
                response = client.request(
                    request.method,
                    request.path,
                    params=request.query,
                    content=request.body.raw() or None,
                    headers=[(k, v) for k, v in request.headers if k.lower() != "host"],
                )
                assert response.status_code == interaction.response.status, request.path
                assert response.content == interaction.response.body.raw(), request.path
        assert server.simulation.extensions["replay"].unused() == []


def test_the_docs_examples_cassette_holds_the_submission_sample_of_the_tasks_api_page() -> None:
    cassette = load_cassette(REPO / "cassettes" / "docs-examples.jsonl")
    assert len(cassette.interactions) >= 14
    submitted = next(
        i for i in cassette.interactions if i.request.method == "POST" and i.request.path.endswith("/task")
    )
    assert orjson.loads(submitted.response.body.raw()) == {
        "task": "index_parallel_wikipedia_odofhkle_2023-06-23T21:07:28.226Z"
    }
    assert submitted.request.body.json()["spec"]["dataSchema"]["dataSource"] == "wikipedia_auto"


def test_the_docs_examples_cassette_is_made_from_the_page_in_docs_by_default(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_docs_examples", REPO / "cassettes" / "make_docs_examples.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.DEFAULT_SOURCE == REPO / "docs" / "druid-tasks-api.md"  # inside the repository, as a clone has it
    assert script.DEFAULT_OUTPUT == REPO / "cassettes" / "docs-examples.jsonl"
    output = tmp_path / "docs-examples.jsonl"
    assert script.main([str(script.DEFAULT_SOURCE), str(output)]) == 0
    made, shipped = load_cassette(output), load_cassette(script.DEFAULT_OUTPUT)
    assert made.interactions == shipped.interactions
    assert script.main([str(tmp_path / "missing.md"), str(output)]) == 2  # a message, not a traceback

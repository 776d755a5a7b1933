"""A broken cassette is refused with its file, line and the fix, by every command that reads one.

`cassette check`, `cassette show`, `serve --cassette` (a real process) and ``POST /__sim/cassette``
(over a real socket) all report the loader's message; nothing reaches a user as a traceback. What
the loader accepts replays correctly, JSON bodies deeper than orjson writes included.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from druid_sim.cassette import CassetteFormatError, load_cassette
from druid_sim.cli import main
from druid_sim.commands.cassette import EXIT_INVALID
from tests.support.served import START, Served, served

HEADER = {"druid_sim_cassette": 1, "recorded_at": "2026-01-01T00:00:00.000Z", "upstream": None, "recorder": "test"}


def line(
    status: int = 200,
    body: Any = None,
    headers: list[list[str]] | None = None,
    method: str = "GET",
    path: str = "/druid/indexer/v1/runningTasks",
    **extra: Any,
) -> str:
    response = {"status": status, "headers": headers or [["Content-Type", "application/json"]], "body": body}
    request = {"method": method, "path": path, "query": [], "headers": [], "body": None}
    return json.dumps({"request": request, "response": response, "elapsed_ms": 1.0, "at": 0.5, **extra})


def cassette(folder: Path, *lines: str, name: str = "c.jsonl") -> Path:
    path = folder / name
    path.write_text("\n".join([json.dumps(HEADER), *lines]) + "\n", encoding="utf-8")
    return path


BROKEN: dict[str, tuple[list[str], int, str]] = {
    # name: (lines after the header, line number reported, words of the message)
    "huge repeat": ([line(body={"json": []}), '{"repeat": 1000000000}'], 3, "repeat: 1,000,000,000 repetitions"),
    "repeats past the total": (
        [line(body={"json": []}), '{"repeat": 10000000}'],
        3,
        "more than 10,000,000 exchanges counting repeats",
    ),
    "too deep": ([line(body={"json": "DEEP"}).replace('"DEEP"', "[" * 2000 + "]" * 2000)], 2, "nested more than 1,024"),
    "empty header name": ([line(headers=[["", "v"]])], 2, "response.headers[0]: the header name is empty"),
    "header name with a space": ([line(headers=[["X A", "v"]])], 2, "is not an HTTP token"),
    "non-ASCII header name": ([line(headers=[["Nämé", "v"]])], 2, "is not an HTTP token"),
    "204 with a body": ([line(status=204, body={"text": "x"})], 2, "a 204 response has no body in HTTP"),
    "304 with a body": ([line(status=304, body={"json": {}})], 2, "a 304 response has no body in HTTP"),
    "HEAD answered with a body": ([line(method="HEAD", body={"json": []})], 2, "a response to HEAD has no body"),
    "interim status": ([line(status=101)], 2, "101 is an interim (1xx) response"),
    "invalid base64": ([line(body={"base64": "!!!not base64"})], 2, "response.body.base64: is not valid base64"),
    "base64 cut short": ([line(body={"base64": "YWJ"})], 2, "is not valid base64"),
    "negative elapsed": ([line(elapsed_ms=-1)], 2, "elapsed_ms: must be between 0 and 86,400,000"),
    "start in the far future": ([line(at=1e12)], 2, "at: must be between 0 and 1,000,000,000"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_loader_refuses_with_file_line_and_fix(tmp_path: Path, case: str) -> None:
    lines, number, words = BROKEN[case]
    path = cassette(tmp_path, *lines)
    with pytest.raises(CassetteFormatError) as caught:
        load_cassette(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{number}")
    assert words in message
    assert caught.value.fix  # every refusal says how to fix it


@pytest.mark.parametrize("command", ["check", "show"])
@pytest.mark.parametrize("case", ["huge repeat", "empty header name", "204 with a body", "invalid base64", "too deep"])
def test_cassette_commands_exit_2_with_the_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, case: str
) -> None:
    lines, number, words = BROKEN[case]
    path = cassette(tmp_path, *lines)
    assert main(["cassette", command, str(path)]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert f"{path}:{number}" in err
    assert words in err


def test_serve_with_a_broken_cassette_exits_2_naming_the_line(tmp_path: Path) -> None:
    path = cassette(tmp_path, line(body={"json": []}), '{"repeat": 1000000000}')
    result = subprocess.run(
        [sys.executable, "-m", "druid_sim", "serve", "--port", "0", "--cassette", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"{path}:3" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


# -- what loads replays right, over a real socket with serve's settings ---------------------------------------


@pytest.fixture(scope="module")
def deep_cassette(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cassettes")
    deep = "[" * 1000 + "]" * 1000  # deeper than orjson writes (254), as deep as Druid reads
    return cassette(
        folder,
        line(body={"json": "DEEP"}).replace('"DEEP"', deep),
        line(status=204, path="/druid/indexer/v1/pendingTasks"),
        name="deep.jsonl",
    )


@pytest.fixture(scope="module")
def _served(deep_cassette: Path) -> Iterator[Served]:
    args = ("--cassette", str(deep_cassette), "--time-scale", "0", "--start-time", START, "--no-access-log")
    args += ("--data-dir", tempfile.gettempdir())  # where pytest's tmp_path lives: the control API may load there
    with served(*args) as process:
        yield process


@pytest.fixture
def server(_served: Served) -> Iterator[Served]:
    """The module's server, its log checked for tracebacks after each test (issue 23, item 2): every
    test checks what its own requests wrote, whether it runs alone, with ``-k`` or in any order."""
    with _served.no_traceback():
        yield _served


def test_a_body_deeper_than_orjson_writes_replays_byte_for_byte(server: Served) -> None:
    with httpx.Client(base_url=server.url) as client:
        for _ in range(2):  # the second answer comes from the express lane
            answer = client.get("/druid/indexer/v1/runningTasks")
            assert answer.status_code == 200
            assert answer.content == b"[" * 1000 + b"]" * 1000


def test_a_204_replays_without_a_body_and_keeps_the_connection_in_step(server: Served) -> None:
    with httpx.Client(base_url=server.url) as client:
        for _ in range(3):
            answer = client.get("/druid/indexer/v1/pendingTasks")
            assert answer.status_code == 204
            assert answer.content == b""
        assert client.get("/druid/indexer/v1/runningTasks").status_code == 200


@pytest.mark.parametrize("case", ["huge repeat", "empty header name", "invalid base64"])
def test_loading_a_broken_cassette_at_run_time_is_422_and_changes_nothing(
    server: Served, tmp_path: Path, deep_cassette: Path, case: str
) -> None:
    lines, number, words = BROKEN[case]
    path = cassette(tmp_path, *lines)
    with httpx.Client(base_url=server.url) as client:
        answer = client.post("/__sim/cassette", json={"cassette": str(path)})
        assert answer.status_code == 422
        assert f"{path}:{number}" in answer.json()["message"]
        assert words in answer.json()["message"]
        assert client.get("/__sim/cassette").json()["interactions"] == 2  # still the deep cassette

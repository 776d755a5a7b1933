"""The recorder against hostile upstreams (issue 22, items 2 and 3): real `druid-sim record`, real sockets.

* Bodies far over ``--max-recorded-body`` (an answer with a Content-Length, a chunked one, an upload):
  the peer gets every byte, the recorder's memory stays bounded, and the cassette holds a small, marked
  part of each, which `cassette show` explains and a replay answers with a header saying so.
* An upstream that sends its headers and then stalls: the client gets a 504 naming it (nothing was
  passed on yet) or a closed connection (the body was being streamed), never a hang, and nothing of
  that exchange reaches the cassette.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from druid_sim.cassette import load_cassette
from druid_sim.proxy.testing import RunningProxy, record_argv, running_recorder
from tests.support.replay import replay_server
from tests.support.upstream import LOG_LINE, endless_log, log_bytes, serve, stalling_upstream

V1 = "/druid/indexer/v1"
LIMIT = 1024 * 1024  # --max-recorded-body 1MiB
LINES = 200_000  # 20 MB of log, twenty times the limit
LINE = len(LOG_LINE % 0)
LOG_SIZE = LINES * LINE
#: How much more than at start the recorder may take while proxying those 20 MB: its limit, mitmproxy's
#: buffers and the cassette line being written, with room to spare, but less than one body held whole.
MAX_GROWTH = 15 * 1024 * 1024


def peak_rss(proxy: RunningProxy) -> int:
    """The recorder process's peak resident memory so far (VmHWM), in bytes."""
    for line in Path(f"/proc/{proxy.process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/PID/status")


def received_digest(client: httpx.Client, path: str) -> tuple[int, str]:
    """Stream an answer through the recorder: how many bytes the client got, and their SHA-256."""
    digest, size = hashlib.sha256(), 0
    with client.stream("GET", path) as response:
        assert response.status_code == 200
        for chunk in response.iter_raw():
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


@pytest.fixture(scope="module")
def expected_log() -> tuple[int, str]:
    data = log_bytes(LINES)
    return len(data), hashlib.sha256(data).hexdigest()


@contextmanager
def record_bodies(tmp_path: Path, chunked: bool) -> Iterator[tuple[RunningProxy, httpx.Client, Path]]:
    cassette = tmp_path / "big.jsonl"
    with serve(endless_log(LINES, chunked)) as upstream:
        argv = record_argv(upstream, cassette, "--max-recorded-body", "1MiB", confdir=tmp_path / "mitmproxy")
        with running_recorder(argv) as proxy, httpx.Client(base_url=proxy.url, timeout=60) as client:
            yield proxy, client, cassette


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_a_body_over_the_limit_reaches_the_client_whole_and_is_recorded_cut_and_marked(
    tmp_path: Path, chunked: bool, expected_log: tuple[int, str]
) -> None:
    with record_bodies(tmp_path, chunked) as (proxy, client, cassette):
        assert client.post(f"{V1}/task", content=b"{}").json() == {"received": 2}  # mitmproxy warmed up
        before = peak_rss(proxy)
        assert received_digest(client, f"{V1}/task/big/log") == expected_log  # every byte, in order
        upload = LOG_SIZE // 2
        answer = client.post(f"{V1}/task", content=b"x" * upload, headers={"Content-Type": "application/json"})
        assert answer.json() == {"received": upload}  # the upstream got the whole upload
        growth = peak_rss(proxy) - before
        assert growth < MAX_GROWTH, f"the recorder grew by {growth / 1e6:.0f} MB proxying {LOG_SIZE / 1e6:.0f} MB"
    assert cassette.stat().st_size < 4 * LIMIT
    small, log, post = load_cassette(cassette).interactions
    assert small.request.body.truncated is None and small.request.body.raw() == b"{}"
    body = log.response.body
    assert body.truncated == LOG_SIZE  # the whole size, as the upstream sent it
    kept = body.raw()
    assert 0 < len(kept) <= LIMIT and kept.endswith(b"\n")  # cut at a line boundary
    assert kept == log_bytes(len(kept) // LINE)
    assert post.request.body.truncated == upload and len(post.request.body.raw()) <= LIMIT
    assert post.response.body.truncated is None and post.response.body.json() == {"received": upload}


@pytest.fixture
def truncated_cassette(tmp_path: Path) -> Path:
    """A cassette recorded with a 64 KiB limit: one task log of 2,000 lines, cut short."""
    cassette = tmp_path / "cut.jsonl"
    with serve(endless_log(2_000, chunked=True)) as upstream:
        argv = record_argv(upstream, cassette, "--max-recorded-body", "64KiB", confdir=tmp_path / "mitmproxy")
        with running_recorder(argv) as proxy:
            assert len(httpx.get(f"{proxy.url}{V1}/task/t1/log", timeout=30).content) == 2_000 * LINE
            assert proxy.wait_for_output(r"interaction\(s\) recorded")
    return cassette


def test_cassette_show_explains_a_truncated_body(truncated_cassette: Path) -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "druid_sim", "cassette", "show", str(truncated_cassette)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "1 body recorded cut short" in shown
    kept = 64 * 1024 // LINE * LINE  # the whole lines that fit in 64 KiB
    assert f"interaction 1: GET {V1}/task/{{taskId}}/log  response body: kept {kept:,} of {2_000 * LINE:,} bytes" in (
        shown
    )


def test_a_replay_answers_a_truncated_body_with_what_was_kept_and_says_so(truncated_cassette: Path) -> None:
    with replay_server(truncated_cassette) as server:
        answer = httpx.get(f"{server.url}{V1}/task/t1/log", timeout=10)
    assert answer.status_code == 200
    assert answer.content == log_bytes(64 * 1024 // LINE)  # the whole lines that fit in 64 KiB
    assert answer.headers["X-Druid-Sim-Truncated"] == (
        f"{len(answer.content)} of {2_000 * LINE} bytes: the recorder kept only the start of this body "
        "(--max-recorded-body)"
    )


# -- an upstream that stops half-way ---------------------------------------------------------------------


def recorder_before(upstream: str, tmp_path: Path) -> list[str]:
    return record_argv(upstream, tmp_path / "stall.jsonl", "--upstream-timeout", "0.5", confdir=tmp_path / "mitm")


def assert_nothing_but_status_recorded(tmp_path: Path, output: str) -> None:
    recorded = [(i.request.path, i.response.status) for i in load_cassette(tmp_path / "stall.jsonl").interactions]
    assert recorded == [("/status", 200)]  # the stalled exchange left no trace
    assert "Traceback" not in output and "not recorded" not in output


def test_a_body_that_stops_before_anything_was_passed_on_gets_the_client_a_504_naming_the_upstream(
    tmp_path: Path,
) -> None:
    with serve(stalling_upstream(b"20 bytes of 100 ... ", length=100)) as upstream:
        with (
            running_recorder(recorder_before(upstream, tmp_path)) as proxy,
            httpx.Client(base_url=proxy.url, timeout=10) as client,
        ):
            stalled = client.get(f"{V1}/task/t1/reports")
            assert stalled.status_code == 504
            assert f"upstream {upstream} sent its response headers, then nothing more of the body for 0.5 s" in (
                stalled.text
            )
            assert client.get("/status").status_code == 200  # the recorder keeps serving
            assert proxy.wait_for_output(r"interaction\(s\) recorded")
        output = proxy.output
    assert f"upstream {upstream} stopped sending the body of GET {V1}/task/t1/reports after 20 bytes" in output
    assert "answering 504" in output
    assert_nothing_but_status_recorded(tmp_path, output)


def test_a_streamed_body_that_stops_closes_the_clients_connection_instead_of_hanging(tmp_path: Path) -> None:
    with serve(stalling_upstream(log_bytes(10), length=None)) as upstream:
        with (
            running_recorder(recorder_before(upstream, tmp_path)) as proxy,
            httpx.Client(base_url=proxy.url, timeout=10) as client,
        ):
            received = b""
            with pytest.raises(httpx.RemoteProtocolError), client.stream("GET", f"{V1}/task/t1/log") as response:
                assert response.status_code == 200  # the headers were passed on before the stall
                for chunk in response.iter_raw():
                    received += chunk
            assert received == log_bytes(10)  # what did arrive reached the client
            assert client.get("/status").status_code == 200
            assert proxy.wait_for_output(r"interaction\(s\) recorded")
        output = proxy.output
    assert "closing the client's connection" in output
    assert_nothing_but_status_recorded(tmp_path, output)

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
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from druid_sim.cassette import RecordMode, find_secrets, load_cassette
from druid_sim.proxy.testing import RunningProxy, record_argv, running_recorder
from tests.support.replay import replay_server
from tests.support.upstream import LOG_LINE, endless_log, log_bytes, serve, stalling_upstream, unread_upstream

V1 = "/druid/indexer/v1"
LIMIT = 1024 * 1024  # --max-recorded-body 1MiB
LINES = 200_000  # 20 MB of log, twenty times the limit
LINE = len(LOG_LINE % 0)
LOG_SIZE = LINES * LINE
AZURE_KEY = b"c2VjcmV0LWF6dXJlLXN0b3JhZ2Uta2V5LW9mLTY0LWJ5dGVz"
S3_SECRET = b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
#: The start of an ingestion spec with secrets where only their names say so (Azure's `key` is secret
#: only under `properties`): the recorder keeps this part of an upload cut at the limit.
SPEC_START = (
    b'{"type":"index_parallel","spec":{"ioConfig":{"inputSource":{"type":"azureStorage","properties":{"key":"'
    + AZURE_KEY
    + b'"}},"s3":{"secretAccessKey":"'
    + S3_SECRET
    + b'"}},"padding":"'
)
#: How much more than at start the recorder may take while proxying 20 MB bodies: its limit, mitmproxy's
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


def test_bodies_over_the_limit_reach_the_peer_whole_in_bounded_memory_and_are_recorded_cut_and_marked(
    tmp_path: Path,
) -> None:
    cassette = tmp_path / "big.jsonl"
    log = log_bytes(LINES)
    expected = (len(log), hashlib.sha256(log).hexdigest())
    with serve(endless_log(LINES)) as upstream:
        argv = record_argv(upstream, cassette, "--max-recorded-body", "1MiB", confdir=tmp_path / "mitmproxy")
        with running_recorder(argv) as proxy, httpx.Client(base_url=proxy.url, timeout=60) as client:
            assert client.post(f"{V1}/task", content=b"{}").json() == {"received": 2}  # mitmproxy warmed up
            before = peak_rss(proxy)
            assert received_digest(client, f"{V1}/task/chunked/log") == expected  # every byte, in order
            assert received_digest(client, f"{V1}/task/sized/log?length") == expected
            bomb = client.get(f"{V1}/task/gz/log?gzip")  # about 60 KB that decode to 20 MB
            assert bomb.headers["content-encoding"] == "gzip" and bomb.content == LOG_LINE % 0 * LINES
            spec = SPEC_START + b"x" * (LOG_SIZE // 2) + b'"}}'  # an ingestion spec far over the limit
            upload = len(spec)
            answer = client.post(f"{V1}/task", content=spec, headers={"Content-Type": "application/json"})
            assert answer.json() == {"received": upload}  # the upstream got the whole upload
            growth = peak_rss(proxy) - before
            assert growth < MAX_GROWTH, f"the recorder grew by {growth / 1e6:.0f} MB proxying {LOG_SIZE / 1e6:.0f} MB"
            assert proxy.wait_for_output("request body of")
        output = proxy.output
    said = f"response body of {LOG_SIZE:,} bytes passed on whole, recorded cut to its first "
    assert f"GET {V1}/task/chunked/log: {said}" in output and f"GET {V1}/task/sized/log: {said}" in output
    assert f"POST {V1}/task: request body of {upload:,} bytes passed on whole" in output
    assert "Traceback" not in output
    assert cassette.stat().st_size < 5 * LIMIT
    small, chunked, sized, gz, post = load_cassette(cassette).interactions
    assert small.request.body.truncated is None and small.request.body.raw() == b"{}"
    for interaction in (chunked, sized):
        body = interaction.response.body
        assert body.truncated == LOG_SIZE  # the whole size, as the upstream sent it
        kept = body.raw()
        assert 0 < len(kept) <= LIMIT and kept.endswith(b"\n")  # cut at a line boundary
        assert kept == log_bytes(len(kept) // LINE)
    gz_body = gz.response.body  # decoded, and never to more than the limit
    assert (
        gz_body.encoding == "gzip"
        and 0 < len(gz_body.raw()) <= LIMIT
        and gz_body.truncated == int(bomb.headers["content-length"])
    )
    assert post.request.body.truncated == upload and len(post.request.body.raw()) <= LIMIT
    kept_spec = post.request.body.raw()  # cut JSON is no JSON: its secrets are found by name all the same
    assert kept_spec.startswith(b'{"type":"index_parallel"') and b"<redacted:" in kept_spec
    for secret in (AZURE_KEY, S3_SECRET):
        assert secret not in cassette.read_bytes()
    assert find_secrets(load_cassette(cassette)) == []  # what `druid-sim cassette check` looks for
    assert post.response.body.truncated is None and post.response.body.json() == {"received": upload}


@pytest.fixture(scope="module")
def truncated_cassette(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cassette recorded with a 64 KiB limit by the pytest plugin's embedded recorder: one task log of
    2,000 lines, cut short."""
    from druid_sim.proxy.embedded import EmbeddedRecorder

    folder = tmp_path_factory.mktemp("truncated")
    cassette = folder / "cut.jsonl"
    with serve(endless_log(2_000)) as upstream:
        recorder = EmbeddedRecorder(upstream, folder / "mitmproxy", max_recorded_body="64KiB")
        try:
            recorder.record_into(cassette, RecordMode.OVERWRITE)
            assert len(httpx.get(f"{recorder.url}{V1}/task/t1/log", timeout=30).content) == 2_000 * LINE
            assert recorder.finish() == 1
        finally:
            recorder.stop()
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


def stalling_or_long(first: bytes) -> Any:
    """`stalling_upstream`, except for ``…/slow-reader``, answered with a 20 MB log that never stalls."""
    stalling, long = stalling_upstream(first), endless_log(LINES)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await (long if scope.get("path", "").endswith("/slow-reader") else stalling)(scope, receive, send)

    return app


def test_a_body_that_stops_coming_ends_the_exchange_cleanly_and_nothing_of_it_is_recorded(tmp_path: Path) -> None:
    cassette = tmp_path / "stall.jsonl"
    first = log_bytes(10)
    with serve(stalling_or_long(first)) as upstream:
        argv = record_argv(upstream, cassette, "--upstream-timeout", "1", confdir=tmp_path / "mitmproxy")
        with running_recorder(argv) as proxy, httpx.Client(base_url=proxy.url, timeout=10) as client:
            # A Content-Length body is read whole before it is passed on: nothing reached the client yet.
            stalled = client.get(f"{V1}/task/t1/reports?length")
            assert stalled.status_code == 504
            assert f"upstream {upstream} sent its response headers, then nothing more of the body for 1 s" in (
                stalled.text
            )
            # A chunked body is streamed: the client has its headers and first lines, then the connection closes.
            received = b""
            with pytest.raises(httpx.RemoteProtocolError), client.stream("GET", f"{V1}/task/t1/log") as response:
                assert response.status_code == 200
                for chunk in response.iter_raw():
                    received += chunk
            assert received == first  # what did arrive reached the client
            # A client that stops reading for longer than the timeout holds the upstream back (mitmproxy's
            # backpressure): that is no stall of the upstream's, and the answer completes.
            with client.stream("GET", f"{V1}/task/t1/slow-reader") as response:
                chunks = response.iter_raw()
                received = next(chunks)
                time.sleep(2.5)  # a real client reading slowly: the proxy's timeout runs on the wall clock
                received += b"".join(chunks)
            assert len(received) == LOG_SIZE
            assert client.get("/status").status_code == 200  # the recorder keeps serving
            assert proxy.wait_for_output(r"interaction\(s\) recorded")
        output = proxy.output
    recorded = [(i.request.path, i.response.status) for i in load_cassette(cassette).interactions]
    assert recorded == [(f"{V1}/task/t1/slow-reader", 200), ("/status", 200)]  # the stalled ones left no trace
    stopped = f"upstream {upstream} stopped sending the body of GET {V1}/task/t1"
    assert f"{stopped}/reports?length after {len(first)} bytes (nothing for 1 s): answering 504" in output
    assert f"{stopped}/log after {len(first)} bytes (nothing for 1 s): closing the client's connection" in output
    assert "Traceback" not in output and "not recorded" not in output


def test_an_upstream_that_stops_reading_an_upload_gets_the_client_a_504_naming_it(tmp_path: Path) -> None:
    cassette = tmp_path / "unread.jsonl"
    with unread_upstream() as upstream:
        argv = record_argv(upstream, cassette, "--upstream-timeout", "0.5", confdir=tmp_path / "mitmproxy")
        with running_recorder(argv) as proxy, httpx.Client(base_url=proxy.url, timeout=20) as client:
            answer = client.post(f"{V1}/task", content=b"x" * LOG_SIZE, headers={"Content-Type": "application/json"})
            assert answer.status_code == 504
            assert f"upstream {upstream} stopped reading the request body for 0.5 s" in answer.text
        output = proxy.output
    assert f"upstream {upstream} stopped reading the body of POST {V1}/task after " in output
    assert load_cassette(cassette).interactions == []
    assert "Traceback" not in output

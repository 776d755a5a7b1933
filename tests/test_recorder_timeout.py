"""A hung upstream behind ``druid-sim record`` (real mitmproxy, real sockets): the client gets a 504 naming it.

The upstream answers ``/status`` at once and never answers ``/druid/indexer/v1/tasks`` (it holds the
request until the proxy gives up on it), which is what a wedged Overlord looks like from outside.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from druid_sim.cassette import load_cassette
from druid_sim.proxy.testing import record_argv, running_recorder
from tests.support.upstream import serve


async def wedged_overlord(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers ``/status``; holds every other request until the client (the proxy) goes away."""
    if scope["type"] != "http":
        return
    if scope["path"] == "/status":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"version":"35.0.0"}'})
        return
    while (await receive())["type"] != "http.disconnect":
        pass


def test_a_hung_upstream_gets_the_client_a_504_naming_it_and_nothing_is_recorded(tmp_path: Path) -> None:
    cassette = tmp_path / "hung.jsonl"
    with serve(wedged_overlord) as upstream:
        argv = record_argv(upstream, cassette, "--upstream-timeout", "0.5", confdir=tmp_path / "mitmproxy")
        with running_recorder(argv) as proxy, httpx.Client(base_url=proxy.url, timeout=10) as client:
            hung = client.get("/druid/indexer/v1/tasks")
            assert hung.status_code == 504
            assert f"upstream {upstream} did not answer within 0.5 s" in hung.text
            assert client.get("/status").status_code == 200  # the recorder keeps serving
            assert proxy.wait_for_output(r"interaction\(s\) recorded")
        output = proxy.output
    recorded = [(i.request.method, i.request.path, i.response.status) for i in load_cassette(cassette).interactions]
    assert recorded == [("GET", "/status", 200)]  # the timed-out request left no trace in the cassette
    assert f"upstream {upstream} did not answer GET /druid/indexer/v1/tasks within 0.5 s: answering 504" in output
    assert "Traceback" not in output and "not recorded" not in output


def test_the_upstream_timeout_must_be_seconds(tmp_path: Path) -> None:
    from druid_sim.proxy.launcher import LaunchError, RecordOptions, recorder_settings

    options = RecordOptions(cassette=str(tmp_path / "c.jsonl"), upstream="http://localhost:8888")
    assert recorder_settings(options)["upstream_timeout"] == "60"
    with pytest.raises(LaunchError, match="--upstream-timeout -1: give seconds"):
        recorder_settings(RecordOptions(cassette=options.cassette, upstream=options.upstream, upstream_timeout=-1))

"""The control API's token: required when listening beyond loopback, never for the Druid API.

Which address a test can bind beyond loopback depends on the machine: the subprocess test binds the
host's own non-loopback address when it has one, else the wildcard 0.0.0.0 (reached through
127.0.0.1). The in-process tests configure ``host="0.0.0.0"`` while the test server really listens on
127.0.0.1: the token rule depends only on the configuration, so that exercises it without exposing a
port to the network.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time

import httpx
import pytest

from druid_sim.config import ServeConfig
from druid_sim.control.auth import decide_control_token, is_loopback
from tests.support.live import START_MS, live_server


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_hosts_need_no_token(host: str) -> None:
    assert is_loopback(host)
    decision = decide_control_token(host, None)
    assert decision.token is None and not decision.generated


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "druid-sim.internal"])
def test_other_hosts_get_a_generated_token_that_serve_prints(host: str) -> None:
    assert not is_loopback(host)
    decision = decide_control_token(host, None)
    assert decision.generated and decision.token and len(decision.token) >= 32
    announcement = decision.announcement("http://localhost:8888") or ""
    assert decision.token in announcement and "--control-token" in announcement


def test_a_given_token_is_used_everywhere() -> None:
    assert decide_control_token("127.0.0.1", "s3cret").token == "s3cret"
    assert decide_control_token("0.0.0.0", "s3cret") == decide_control_token("10.0.0.1", "s3cret")


def test_with_a_token_the_control_api_refuses_requests_without_it() -> None:
    config = ServeConfig(host="0.0.0.0", scenario=None, time_scale=0, start_ms=START_MS, control_token="s3cret")
    with live_server(config) as server, httpx.Client(base_url=server.url) as client:
        missing = client.post("/__sim/reset", json={})
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"].startswith("Bearer")
        assert "Authorization: Bearer <token>" in missing.json()["message"]
        assert client.get("/__sim/journal", headers={"authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/__sim/journal", headers={"authorization": "Bearer s3cret"}).status_code == 200
        assert client.get("/__sim/health").status_code == 200  # liveness probes need no secret
        assert client.get("/druid/indexer/v1/tasks").status_code == 200  # the Druid API is never gated


def _non_loopback_address() -> str | None:
    """This host's address on its default route, if it has one (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            address = str(probe.getsockname()[0])
        except OSError:
            return None
    return None if is_loopback(address) else address


def test_serve_beyond_loopback_generates_prints_and_requires_a_token() -> None:
    address = _non_loopback_address()
    host, connect = (address, address) if address else ("0.0.0.0", "127.0.0.1")
    with socket.socket() as free:
        free.bind((connect, 0))
        port = free.getsockname()[1]
    env = {key: value for key, value in os.environ.items() if key != "DRUID_SIM_CONTROL_TOKEN"}
    command = [sys.executable, "-m", "druid_sim", "serve", "--host", host, "--port", str(port), "--no-access-log"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(4)]
        match = re.search(r"generated one: (\S+)", lines[1])
        assert match, lines
        token = match.group(1)
        assert lines[3].rstrip().endswith(f":{port}/#token={token}"), lines  # the dashboard link carries it
        url = f"http://{connect}:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                health = httpx.get(f"{url}/__sim/health")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "druid-sim serve did not start"
                time.sleep(0.05)
        assert health.status_code == 200
        assert httpx.get(f"{url}/__sim/clock").status_code == 401
        assert httpx.get(f"{url}/__sim/clock", headers={"authorization": f"Bearer {token}"}).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def test_beyond_loopback_any_host_name_works_but_other_origins_still_cannot_change_anything() -> None:
    """A container's name or LAN address reaches it (the token guards it); web pages still cannot drive it."""
    config = ServeConfig(host="0.0.0.0", scenario=None, time_scale=0, start_ms=START_MS, control_token="s3cret")
    token = {"authorization": "Bearer s3cret"}
    with live_server(config) as server, httpx.Client(base_url=server.url, headers=token) as client:
        port = server.url.rsplit(":", 1)[1]
        assert client.get("/__sim/health", headers={"host": f"druid-sim.internal:{port}"}).status_code == 200
        page = {"host": f"druid-sim.internal:{port}", "origin": f"http://druid-sim.internal:{port}"}
        assert client.post("/__sim/reset", json={}, headers=page).status_code == 200  # its own page
        other = {"host": f"druid-sim.internal:{port}", "origin": "http://evil.example"}
        assert client.post("/__sim/reset", json={}, headers=other).status_code == 403
        assert client.post("/__sim/reset", headers={"content-type": "text/plain"}).status_code == 415

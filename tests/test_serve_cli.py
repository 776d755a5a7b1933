"""``druid-sim serve`` as a user runs it: a real process, a real port, Ctrl-C to stop."""

from __future__ import annotations

import signal

import httpx

from tests.support.process import serve


def test_serve_starts_demo_cluster_logs_each_request_and_stops_cleanly_on_ctrl_c() -> None:
    with serve("--seed", "5") as (process, url):
        tasks = httpx.get(f"{url}/druid/indexer/v1/tasks").json()
        assert len(tasks) >= 20
        assert {"SUCCESS", "FAILED", "RUNNING"} <= {task["statusCode"] for task in tasks}
        assert httpx.get(f"{url}/druid/indexer/v1/leader").text == url
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=15)
    assert process.returncode == 0
    assert "Traceback" not in err
    assert f"{url}/druid/indexer/v1/tasks" in out
    assert f"druid-sim: dashboard on {url}/\n" in out
    request_lines = [line for line in err.splitlines() if "GET /druid/indexer/v1/tasks" in line]
    assert len(request_lines) == 1 and '" 200 ' in request_lines[0]


def test_serve_binds_loopback_by_default() -> None:
    with serve("--no-access-log") as (_, url):
        assert url.startswith("http://127.0.0.1:")
        host_ip = _non_loopback_ip()
        if host_ip is not None:
            port = url.rsplit(":", 1)[1]
            try:
                httpx.get(f"http://{host_ip}:{port}/status/health", timeout=1)
                reached = True
            except httpx.TransportError:
                reached = False
            assert not reached


def _non_loopback_ip() -> str | None:
    import socket

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("10.255.255.255", 1))  # no packet is sent for a UDP connect
            address: str = probe.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


def test_serve_same_seed_gives_same_cluster() -> None:
    bodies = []
    for _ in range(2):
        with serve("--seed", "9", "--time-scale", "0", "--start-time", "2026-03-01T00:00:00Z", "--no-access-log") as (
            _,
            url,
        ):
            bodies.append(httpx.get(f"{url}/druid/indexer/v1/tasks").content)
    assert bodies[0] == bodies[1]

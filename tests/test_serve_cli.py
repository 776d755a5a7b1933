"""``druid-sim serve`` as a user runs it: a real process, a real port, Ctrl-C to stop."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import httpx

from tests.support.live import free_socket
from tests.support.served import serve


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


def test_serve_refuses_a_port_that_does_not_exist_before_announcing_anything() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "druid_sim", "serve", "--port", "99999"], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2 and done.stdout == ""
    assert "argument --port: '99999' is not a port: give 1 to 65535, or 0 to pick a free one" in done.stderr


def test_serve_on_a_port_in_use_says_so_in_one_line_without_a_banner() -> None:
    taken = free_socket()
    port = taken.getsockname()[1]
    try:
        done = subprocess.run(
            [sys.executable, "-m", "druid_sim", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        taken.close()
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"druid-sim serve: cannot listen on 127.0.0.1:{port}: Address already in use; is another server already "
        "running there? choose another port with --port (0 picks a free one)"
    ]


def test_serve_on_port_0_announces_the_port_it_got() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "druid_sim", "serve", "--port", "0", "--no-access-log", "--scenario", "slow-tasks"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        match = re.search(r"on http://127\.0\.0\.1:(\d+)/druid/indexer/v1/tasks", banner)
        assert match is not None and match.group(1) != "0", banner
        url = f"http://127.0.0.1:{match.group(1)}"
        assert httpx.get(f"{url}/druid/indexer/v1/leader", timeout=10).text == url  # the model knows it too
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)

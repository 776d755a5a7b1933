"""SIGTERM stops ``druid-sim serve`` within a second whatever it is doing (a real process, serve's settings).

The deadlines are `druid_sim.server.stopping`'s. No test measures time: a server that was cut short says so on
stderr and exits with 128 + SIGTERM, while one left to finish would have answered the request first.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.support.served import serve

V1 = "/druid/indexer/v1"


class Request(threading.Thread):
    """GET ``url`` in the background; ``outcome`` is the status code, or the exception's type."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.outcome: object = None
        self.start()

    def run(self) -> None:
        try:
            self.outcome = httpx.get(self.url, timeout=60).status_code
        except httpx.HTTPError as exc:
            self.outcome = type(exc)

    def result(self) -> object:
        self.join(timeout=30)
        return self.outcome


def _within(condition: Callable[[], bool], seconds: float) -> bool:
    """Poll ``condition`` (real time: these wait for another process) for up to ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        threading.Event().wait(0.02)
    return True


def _until(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` for up to 20 seconds."""
    assert _within(condition, 20), "the server never got there"


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=0.25)
    except httpx.TimeoutException:
        return False
    return True


def _stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    return process.returncode, err


def test_sigterm_ends_a_server_busy_on_its_event_loop(tmp_path: Path) -> None:
    """80,000 scripted submissions at one instant keep the loop busy for seconds: SIGTERM cuts them short.

    A machine fast enough to get through them before a probe finds the loop busy gets 4x as many, then
    16x: the test needs a busy loop, not a given speed."""
    for bursts in (8, 32, 128):
        lines = "".join("  - {at: 1s, submit: {count: 10000}}\n" for _ in range(bursts))
        (tmp_path / "busy.yaml").write_text(f"description: a heavy burst\ntimeline:\n{lines}")
        with serve("--scenario", "busy.yaml", "--time-scale", "0", "--no-access-log", cwd=tmp_path) as (process, url):
            assert httpx.post(f"{url}/__sim/clock", json={"advance": "2s"}).status_code == 200
            request = Request(f"{url}{V1}/tasks")  # materialises the burst on the loop
            busy = _within(lambda: not _answers(f"{url}/status/health"), seconds=20)  # too busy for a probe
            if not busy and request.result() == 200:
                continue  # it got through the burst first: a bigger one
            returncode, err = _stop(process)
        break
    assert busy, "no burst kept the loop busy long enough for a probe to notice"
    assert returncode == 128 + signal.SIGTERM
    assert "still busy 0.8 s after SIGTERM; stopping now" in err and "Traceback" not in err
    assert request.result() is httpx.RemoteProtocolError  # cut off, never answered


def test_sigterm_does_not_wait_for_a_request_that_hangs() -> None:
    with serve("--no-access-log") as (process, url):
        assert httpx.post(f"{url}/__sim/faults", json={"kind": "hang"}).status_code == 200
        request = Request(f"{url}{V1}/tasks")
        _until(lambda: httpx.get(f"{url}/__sim/journal/count").json()["count"] > 0)  # the server holds it
        returncode, err = _stop(process)
    assert returncode == 128 + signal.SIGTERM and "still busy" in err and "Traceback" not in err
    assert request.result() is httpx.RemoteProtocolError


def test_sigterm_stops_an_idle_server_at_once() -> None:
    with serve("--no-access-log") as (process, url):
        assert httpx.get(f"{url}{V1}/tasks").status_code == 200
        returncode, err = _stop(process)
    assert returncode == -signal.SIGTERM  # uvicorn's graceful stop, then the signal's own ending
    assert "still busy" not in err and "Traceback" not in err


def test_sigterm_stops_every_worker_even_with_requests_hanging(tmp_path: Path) -> None:
    """``--workers 2``: uvicorn's supervisor would wait for its workers without limit; it kills the busy ones."""
    (tmp_path / "hang.yaml").write_text("description: every request hangs\nfaults:\n  - {kind: hang}\n")
    cassette = Path(__file__).resolve().parent.parent / "cassettes" / "docs-examples.jsonl"
    args = ("--scenario", "hang.yaml", "--cassette", str(cassette), "--workers", "2", "--no-access-log")
    with serve(*args, cwd=tmp_path) as (process, url):
        requests = [Request(f"{url}{V1}/completeTasks") for _ in range(4)]  # the kernel spreads them
        _until(lambda: httpx.get(f"{url}/__sim/journal/count").json()["count"] > 0)  # a worker holds one
        returncode, err = _stop(process)
    assert returncode == 0 and "Traceback" not in err
    assert [request.result() for request in requests] == [httpx.RemoteProtocolError] * 4

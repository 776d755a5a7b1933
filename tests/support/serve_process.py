"""``druid-sim serve`` as a user runs it, for tests: a real process on a free port, serve's own settings."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.live import free_socket


def free_port() -> int:
    sock = free_socket()
    port: int = sock.getsockname()[1]
    sock.close()
    return port


@contextmanager
def serve(*args: str, cwd: Path | None = None) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Start ``druid-sim serve --port FREE ARGS`` (in ``cwd``), wait until it answers, kill it at the end."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator", "serve", "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        cwd=cwd,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:  # the control API's probe: no fault of the scenario's can touch it
                if httpx.get(f"{url}/__sim/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGKILL)
                raise AssertionError(f"server did not start: {process.communicate()}")
            time.sleep(0.05)
        yield process, url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()

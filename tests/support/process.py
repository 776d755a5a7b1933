"""``druid-sim serve`` in its own process, as a user starts it, on a free loopback port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.support.live import free_socket


def free_port() -> int:
    """A loopback port nobody listens on now (for a server started in another process)."""
    sock = free_socket()
    port: int = sock.getsockname()[1]
    sock.close()
    return port


@contextmanager
def serve(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``druid-sim serve ARGS`` as a user runs it, on a free port: the process and its URL, killed after."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator", "serve", "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/status/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"server did not start: {process.communicate()}")
            time.sleep(0.05)
        yield process, url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()

"""``druid-sim serve`` in its own process, as a user starts it, on a free loopback port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.support.live import free_socket

#: ``druid-sim`` as this checkout's interpreter runs it.
DRUID_SIM = (sys.executable, "-m", "druid_sim")


def free_port() -> int:
    """A loopback port nobody listens on now (for a server started in another process)."""
    sock = free_socket()
    port: int = sock.getsockname()[1]
    sock.close()
    return port


def wait_until_answering(process: subprocess.Popen[Any], url: str, timeout: float, output: Callable[[], str]) -> None:
    """Return once the server at ``url`` answers HTTP; an AssertionError with ``output()`` if it exits or
    does not answer within ``timeout`` seconds (then it is killed)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            # the control API's probe: no fault of a scenario's can touch it; any answer means it is up
            httpx.get(f"{url}/__sim/health", timeout=1)
            return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            raise AssertionError(f"druid-sim serve did not start:\n{output()}")
        time.sleep(0.05)


@contextmanager
def serve(
    *args: str,
    command: Sequence[str] = DRUID_SIM,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 20,
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Run ``command serve --port FREE *args`` until it answers HTTP; yield the process and its URL."""
    port = free_port()
    process = subprocess.Popen(
        [*command, "serve", "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        cwd=cwd,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(process, url, timeout, lambda: str(process.communicate()))
        yield process, url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()

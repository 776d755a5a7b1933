"""``druid-sim serve`` as a user runs it: a real process on a free port, stopped with Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from tests.support.live import free_socket


def free_port() -> int:
    sock = free_socket()
    port: int = sock.getsockname()[1]
    sock.close()
    return port


@dataclass
class ServeProcess:
    process: subprocess.Popen[str]
    url: str

    def stop(self) -> tuple[str, str]:
        """Ctrl-C, then everything it printed (stdout, stderr)."""
        self.process.send_signal(signal.SIGINT)
        return self.process.communicate(timeout=15)


@contextmanager
def serve(*args: str, ready: str = "/__sim/health") -> Iterator[ServeProcess]:
    """``druid-sim serve --port FREE *args``, yielded once ``ready`` answers 200 (the control API by
    default, so a replay's counters see no probe); killed at the end if still running."""
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
                if httpx.get(f"{url}{ready}", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"server did not start: {process.communicate()}")
            time.sleep(0.05)
        yield ServeProcess(process, url)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()

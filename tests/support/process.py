"""``druid-sim serve`` as a user runs it, for tests: a real process on a free port, output kept in files.

Output goes to files rather than pipes, so a chatty server never blocks on a full pipe, and a test can
read the log while the server runs (to check, say, that no traceback was printed).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.live import free_socket


def free_port() -> int:
    """A port that was free a moment ago (for a subprocess to bind)."""
    sock = free_socket()
    port: int = sock.getsockname()[1]
    sock.close()
    return port


@dataclass
class ServeProcess:
    """A running ``druid-sim serve``: its process, URL and what it printed."""

    process: subprocess.Popen[bytes]
    url: str
    stdout_path: Path
    stderr_path: Path

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def rss_kib(self) -> int:
        """The server's resident memory now (Linux ``/proc``), in KiB."""
        return self._status_kib("VmRSS")

    def peak_rss_kib(self) -> int:
        """The most resident memory the server has had so far (its high-water mark), in KiB."""
        return self._status_kib("VmHWM")

    def _status_kib(self, field: str) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
        raise AssertionError(f"no {field} line in /proc/{self.process.pid}/status")

    def stop(self, timeout: float = 15) -> int:
        """Ctrl-C, as a user stops it; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=timeout)


@contextmanager
def serve_process(*args: str, port: int | None = None, wait: bool = True) -> Iterator[ServeProcess]:
    """Start ``druid-sim serve --port PORT ARGS``; yield once ``/status/health`` answers (unless ``wait`` is off)."""
    port = port or free_port()
    with tempfile.TemporaryDirectory(prefix="druid-sim-serve-") as folder:
        out, err = Path(folder) / "stdout", Path(folder) / "stderr"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "simulator", "serve", "--port", str(port), *args],
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        running = ServeProcess(process, f"http://127.0.0.1:{port}", out, err)
        try:
            if wait:
                _wait_until_healthy(running)
            yield running
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _wait_until_healthy(running: ServeProcess, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{running.url}/status/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if running.process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"server did not start:\n{running.stdout}\n{running.stderr}")
        time.sleep(0.05)

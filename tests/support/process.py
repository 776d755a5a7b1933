"""``druid-sim serve`` in its own process, as a user starts it, on a free loopback port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.live import free_socket

#: ``druid-sim`` as this checkout's interpreter runs it.
DRUID_SIM = (sys.executable, "-m", "simulator")


def free_port() -> int:
    """A loopback port nobody listens on now (for a server started in another process)."""
    sock = free_socket()
    port: int = sock.getsockname()[1]
    sock.close()
    return port


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
        deadline = time.monotonic() + timeout
        while True:
            try:
                # the control API's probe: no fault of a scenario's can touch it; any answer means it is up
                httpx.get(f"{url}/__sim/health", timeout=1)
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


@dataclass
class ServeProcess:
    """A running ``druid-sim serve`` whose output goes to files: its process, URL, what it printed, its memory.

    Files rather than pipes, so a chatty server never blocks on a full pipe and a test can read the
    log while the server runs (to check, say, that no traceback was printed).
    """

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
def serve_process(*args: str, timeout: float = 20) -> Iterator[ServeProcess]:
    """``druid-sim serve --port FREE *args`` with its output in files; yield once it answers HTTP."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="druid-sim-serve-") as folder:
        out, err = Path(folder) / "stdout", Path(folder) / "stderr"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            process = subprocess.Popen(
                [*DRUID_SIM, "serve", "--port", str(port), *args],
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        running = ServeProcess(process, f"http://127.0.0.1:{port}", out, err)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    httpx.get(f"{running.url}/__sim/health", timeout=1)
                    break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"server did not start:\n{running.stdout}\n{running.stderr}")
                time.sleep(0.05)
            yield running
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

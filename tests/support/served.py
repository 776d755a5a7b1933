"""``druid-sim serve`` in its own process, exactly as a user starts it, with its log kept for inspection.

Hardening tests and the fuzz suite need the server's real settings (`UVICORN_SETTINGS`: uvloop,
httptools with the express lane) and its whole log: a traceback there is a failure even when the
client got an answer. The log goes to a file, not a pipe, so a long run never blocks on a full pipe.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.process import free_port, wait_until_answering

#: A fixed start keeps the demo cluster and every timestamp the same from run to run.
START = "2026-01-01T00:00:00Z"
_TRACEBACK = re.compile(r"^Traceback \(most recent call last\):$", re.MULTILINE)


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        """Everything the server wrote to stdout and stderr so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def tracebacks(self) -> list[str]:
        """Each traceback in the log, with the lines that follow it (empty when there is none)."""
        text = self.log()
        return [text[match.start() : match.start() + 3000] for match in _TRACEBACK.finditer(text)]

    def rss_kib(self) -> int:
        """The server's resident memory, from /proc (Linux)."""
        return self._status_kib("VmRSS")

    def peak_rss_kib(self) -> int:
        """The most resident memory the server has had so far (its high-water mark), from /proc (Linux)."""
        return self._status_kib("VmHWM")

    def _status_kib(self, field: str) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
        raise AssertionError(f"no {field} line in /proc/PID/status")

    def stop(self, timeout: float = 15) -> int:
        """Ctrl-C, as a user stops it; its exit status."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(timeout=timeout)


@contextmanager
def served(*args: str, start_timeout: float = 30.0) -> Iterator[Served]:
    """Run ``druid-sim serve`` on a free loopback port with ``args``; stop it (SIGINT, then SIGKILL) after."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="druid-sim-served-") as folder:
        log_path = Path(folder) / "server.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "druid_sim", "serve", "--port", str(port), *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = Served(f"http://127.0.0.1:{port}", process, log_path)
        try:
            wait_until_answering(process, server.url, start_timeout, server.log)
            yield server
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()

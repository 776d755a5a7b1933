"""``druid-sim serve`` in its own process, exactly as a user starts it: the one way the tests do it.

The server picks its own port (``--port 0``) and the helper reads it from the banner the server prints,
so no port is chosen here, closed, and then taken by a parallel pytest-xdist worker before the server
binds it. Its stdout and stderr go to two files, not pipes, so a long run never blocks on a full pipe
and the whole log stays readable: a traceback there is a failure even when the client got an answer
(`Served.check_no_traceback`, which the hardening tests run in each test's teardown).

`served` yields a `Served`; `serve` yields ``(Served, url)`` for the tests written against the pair. A
`Served` answers what those tests ask of a process (``send_signal``, ``terminate``, ``communicate``,
``returncode``...), reading the output files instead of pipes.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

#: ``druid-sim`` as this checkout's interpreter runs it.
DRUID_SIM = (sys.executable, "-m", "druid_sim")
#: A fixed start keeps the demo cluster and every timestamp the same from run to run.
START = "2026-01-01T00:00:00Z"
_TRACEBACK = re.compile(r"^Traceback \(most recent call last\):$", re.MULTILINE)
#: The line ``serve`` prints once it listens (after a replay banner, if any), with the port it got.
_LISTENING = re.compile(r"Overlord Tasks API on http://[^\s/]+:(\d+)/druid/indexer/v1/tasks")


@dataclass
class Served:
    """A running ``druid-sim serve`` and its output."""

    process: subprocess.Popen[bytes]
    folder: Path
    url: str = ""
    #: How much of the log a test has already checked (`check_no_traceback` looks only past it).
    checked: int = field(default=0)

    @property
    def stdout_path(self) -> Path:
        return self.folder / "stdout.log"

    @property
    def stderr_path(self) -> Path:
        return self.folder / "stderr.log"

    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def log(self) -> str:
        """Everything the server wrote so far: stdout, then stderr (Python's logging writes to stderr)."""
        return self.stdout() + self.stderr()

    def tracebacks(self, since: int = 0) -> list[str]:
        """Each traceback in the log past character ``since``, with the lines that follow it."""
        text = self.log()[since:]
        return [text[match.start() : match.start() + 3000] for match in _TRACEBACK.finditer(text)]

    @contextmanager
    def no_traceback(self) -> Iterator[Served]:
        """Fail (on leaving) if the server logged a traceback meanwhile: for a fixture's teardown, so each
        test checks the log its own requests wrote, whatever ran before it or was deselected."""
        start = len(self.log())
        yield self
        found = self.tracebacks(since=start)
        assert found == [], f"the server logged {len(found)} traceback(s):\n" + "\n".join(found)

    # -- what the tests ask of the process ------------------------------------------------------------

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def poll(self) -> int | None:
        return self.process.poll()

    def send_signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def terminate(self) -> None:
        self.process.terminate()

    def wait(self, timeout: float | None = None) -> int:
        return self.process.wait(timeout=timeout)

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        """Wait for the server to exit; its stdout and stderr (as ``Popen.communicate`` with text pipes)."""
        self.process.wait(timeout=timeout)
        return self.stdout(), self.stderr()

    def stop(self, timeout: float = 15) -> int:
        """Ctrl-C, as a user stops it; its exit status."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(timeout=timeout)

    # -- memory ----------------------------------------------------------------------------------------

    def rss_kib(self) -> int:
        """The server's resident memory, from /proc (Linux)."""
        return self._status_kib("VmRSS")

    def peak_rss_kib(self) -> int:
        """The most resident memory the server has had so far (its high-water mark), from /proc (Linux)."""
        return self._status_kib("VmHWM")

    def _status_kib(self, name: str) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(f"{name}:"):
                return int(line.split()[1])
        raise AssertionError(f"no {name} line in /proc/PID/status")


def wait_until_answering(process: subprocess.Popen[bytes], url: str, timeout: float, output: Callable[[], str]) -> None:
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
        _give_up_if(process, deadline, output)
        time.sleep(0.05)


def _give_up_if(process: subprocess.Popen[bytes], deadline: float, output: Callable[[], str]) -> None:
    if process.poll() is not None or time.monotonic() > deadline:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        raise AssertionError(f"druid-sim serve did not start:\n{output()}")


def _announced_url(server: Served, deadline: float) -> str:
    """The URL from the server's banner, once printed (it binds before it announces)."""
    while True:
        match = _LISTENING.search(server.stdout())
        if match is not None:
            return f"http://127.0.0.1:{match.group(1)}"
        _give_up_if(server.process, deadline, server.log)
        time.sleep(0.02)


@contextmanager
def served(
    *args: str,
    command: Sequence[str] = DRUID_SIM,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    start_timeout: float = 30.0,
) -> Iterator[Served]:
    """Run ``command serve --port 0 *args`` until it answers HTTP; stop it (SIGINT, then SIGKILL) after.

    ``start_timeout`` is liveness, not speed: a loaded two-core machine can take seconds to start Python.
    """
    with tempfile.TemporaryDirectory(prefix="druid-sim-served-") as temporary:
        folder = Path(temporary)
        with (folder / "stdout.log").open("wb") as out, (folder / "stderr.log").open("wb") as err:
            process = subprocess.Popen(
                [*command, "serve", "--port", "0", *args],
                stdout=out,
                stderr=err,
                start_new_session=True,
                cwd=cwd,
                env=env,
            )
        server = Served(process, folder)
        try:
            deadline = time.monotonic() + start_timeout
            server.url = _announced_url(server, deadline)
            wait_until_answering(process, server.url, max(deadline - time.monotonic(), 1.0), server.log)
            yield server
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


@contextmanager
def serve(
    *args: str,
    command: Sequence[str] = DRUID_SIM,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> Iterator[tuple[Served, str]]:
    """`served`, as the pair ``(server, url)``."""
    with served(*args, command=command, cwd=cwd, env=env, start_timeout=timeout) as server:
        yield server, server.url

"""Running the recorder as a real process, for tests and benchmarks.

`running_recorder(...)` starts `druid-sim record` (or `mitmdump`, bare or with `-s druid_sim/proxy/addon.py`) on
a free port in its own process group, waits for mitmproxy's "listening at" line, and on exit stops the
whole group (SIGTERM, then SIGKILL), so no proxy outlives the test that started it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

ADDON_SCRIPT = Path(__file__).resolve().parent / "addon.py"
_LISTENING = re.compile(r"listening at (?:http://)?\[?([0-9a-fA-F.:]+?)\]?:(\d+)")


@dataclass
class RunningProxy:
    """A proxy process: its URL, its process and everything it printed so far."""

    process: subprocess.Popen[str]
    url: str = ""
    lines: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        """Everything the process printed (stdout and stderr interleaved)."""
        return "\n".join(self.lines)

    def signal(self, signum: int) -> None:
        """Send `signum` to the proxy's process group."""
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def wait_for_output(self, pattern: str, timeout: float = 10.0) -> bool:
        """Poll until a line matching `pattern` has been printed."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(regex.search(line) for line in list(self.lines)):
                return True
            time.sleep(0.01)
        return False


def record_argv(upstream: str | None, cassette: Path | str, *extra: str, confdir: Path | str) -> list[str]:
    """`druid-sim record` on a free loopback port."""
    argv = [sys.executable, "-m", "druid_sim", "record", "--listen", "127.0.0.1:0", "--cassette", str(cassette)]
    if upstream is not None:
        argv += ["--upstream", upstream]
    return [*argv, "--confdir", str(confdir), *extra]


def bare_mitmdump_argv(upstream: str, confdir: Path | str, *extra: str) -> list[str]:
    """Plain `mitmdump --mode reverse:` with no addon, the baseline the recorder is compared with."""
    mitmdump = str(Path(sys.executable).parent / "mitmdump")
    return [
        mitmdump,
        "--mode",
        f"reverse:{upstream}",
        "--listen-host",
        "127.0.0.1",
        "--listen-port",
        "0",
        "--set",
        f"confdir={confdir}",
        "--set",
        "connection_strategy=lazy",
        "--set",
        "flow_detail=0",
        *extra,
    ]


def script_argv(upstream: str, cassette: Path | str, *extra: str, confdir: Path | str) -> list[str]:
    """`mitmdump -s druid_sim/proxy/addon.py --mode reverse:UPSTREAM`: the recorder as a script in plain mitmdump."""
    return bare_mitmdump_argv(upstream, confdir, "-s", str(ADDON_SCRIPT), "--set", f"cassette={cassette}", *extra)


@contextmanager
def running_recorder(argv: Sequence[str], startup_timeout: float = 20.0) -> Iterator[RunningProxy]:
    """Start `argv` (a proxy) in a new process group; yield once it listens; always stop the group."""
    process = subprocess.Popen(
        list(argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    proxy = RunningProxy(process)
    ready = threading.Event()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip("\n")
            proxy.lines.append(line)
            if not ready.is_set() and (m := _LISTENING.search(line)):
                proxy.url = f"http://{m.group(1)}:{m.group(2)}"
                ready.set()
        ready.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        if not ready.wait(startup_timeout) or not proxy.url:
            raise RuntimeError(f"the proxy did not start: {' '.join(argv)}\n{proxy.output}")
        yield proxy
    finally:
        proxy.signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proxy.signal(signal.SIGKILL)
            process.wait(timeout=10)
        reader.join(timeout=5)
        if process.stdout is not None:
            process.stdout.close()

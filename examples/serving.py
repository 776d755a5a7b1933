"""``druid-sim serve`` started from a test, as a user starts it in a terminal: for the examples that show
WireMock's and Hoverfly's workflows (a proxy in front of a cluster, recording while proxying, a snapshot
of what a server saw), where the thing under test talks to a server of its own rather than the fixture's.

The port is 0 (a free one, which the start banner names); Ctrl-C (SIGINT) stops it, and what it prints
when it stops (a replay's hits, misses, what was forwarded) is kept in :attr:`Served.output`.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

_LISTENING = re.compile(r"Overlord Tasks API on (http://\S+?)/druid/indexer/v1/tasks")


@dataclass
class Served:
    url: str
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)

    def stop(self) -> str:
        """Ctrl-C, then everything it printed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        out, _ = self.process.communicate(timeout=15)
        self.output.append(out)
        return "".join(self.output)


@contextmanager
def druid_sim_serve(*args: str) -> Iterator[Served]:
    """``druid-sim serve --port 0 ARGS`` until the block ends."""
    process = subprocess.Popen(
        [sys.executable, "-m", "druid_sim", "serve", "--port", "0", "--no-access-log", "--no-dashboard", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    seen: list[str] = []
    for line in process.stdout:
        seen.append(line)
        found = _LISTENING.search(line)
        if found:
            break
    else:
        process.wait(timeout=15)
        raise AssertionError("druid-sim serve did not start:\n" + "".join(seen))
    served = Served(found.group(1), process, seen)
    try:
        yield served
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=15)

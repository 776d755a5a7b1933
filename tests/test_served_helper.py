"""The one helper that runs ``druid-sim serve`` in a process (tests/support/served.py), checked itself:
a helper that cannot fail would let every test built on it pass with nothing checked (issue 23)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support.served import Served, served

TRACEBACK = 'Traceback (most recent call last):\n  File "x.py", line 1, in <module>\nValueError: boom\n'


def _idle_server(folder: Path) -> Served:
    """A `Served` over a process that writes nothing, so the test alone decides what the log holds."""
    (folder / "stdout.log").write_text("")
    (folder / "stderr.log").write_text("")
    return Served(subprocess.Popen(["sleep", "60"], start_new_session=True), folder)


def test_a_traceback_logged_during_a_test_fails_that_test_and_only_that_one(tmp_path: Path) -> None:
    """Issue 23, item 2: the log check runs in each test's teardown, over what that test's requests wrote;
    a traceback an earlier test caused is that test's failure, not every later one's."""
    server = _idle_server(tmp_path)
    try:
        with (
            pytest.raises(AssertionError, match="logged 1 traceback"),
            server.no_traceback(),
            (tmp_path / "stderr.log").open("a") as log,
        ):
            log.write(TRACEBACK)
        with server.no_traceback():  # the next test: nothing new in the log
            pass
        assert server.tracebacks() == [TRACEBACK]
    finally:
        server.process.kill()
        server.process.wait()


def test_the_server_picks_its_port_and_the_helper_reads_it_from_the_banner() -> None:
    """Issue 23, item 6: the port is the one the server bound (``--port 0``), read from its banner, never
    one the helper picked and closed (which a parallel xdist worker could take in between)."""
    with served("--time-scale", "0", "--no-access-log") as server:
        banner = re.search(r"Overlord Tasks API on (http://\S+)/druid/indexer/v1/tasks", server.stdout())
        assert banner is not None and banner.group(1) == server.url
        assert httpx.get(f"{server.url}/druid/indexer/v1/leader", timeout=10).text == server.url
        assert server.stop() == 0
        out, err = server.communicate(timeout=5)
        assert "Overlord Tasks API" in out and "Traceback" not in out + err

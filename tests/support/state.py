"""Helpers for the state store's tests: submit, kill the hard way, and watch ``serve`` refuse a store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
import pytest

from druid_sim.cli import main
from druid_sim.config import ServeConfig
from druid_sim.state.serving import open_for
from tests.support.served import Served

D = "/druid/indexer/v1"
SUBMIT = {"type": "index_parallel", "spec": {"dataSchema": {"dataSource": "wikipedia"}}}


#: A Kafka supervisor spec Druid accepts (kept, on a store, as the call itself).
SUPERVISOR = {
    "type": "kafka",
    "spec": {
        "dataSchema": {"dataSource": "wiki"},
        "ioConfig": {"topic": "wiki", "consumerProperties": {"bootstrap.servers": "kafka:9092"}, "taskCount": 2},
        "tuningConfig": {"type": "kafka"},
    },
}


def kill(server: Served) -> None:
    """SIGKILL: the process ends between two instructions, nothing flushed or closed on its way out."""
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait()


def submit(client: httpx.Client, body: dict[str, object] = SUBMIT) -> str:
    response = client.post(f"{D}/task", json=body)
    assert response.status_code == 200, response.text
    task: str = response.json()["task"]
    return task


def refused_here(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """``druid-sim serve`` with ``args``, in this process; assert it refuses (exit 2, one line); its message.

    Only for refusals made before anything listens (the store is checked first): a fast unit test of the
    messages, next to `refused`, which runs a real process.
    """
    assert main(["serve", "--port", "0", "--no-access-log", *args]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def new_store(location: str, scenario: str | None = "demo", seed: int = 0) -> None:
    """A store made as ``serve --state location --scenario scenario --seed seed`` makes it, with no actions yet."""
    _, store, _ = open_for(ServeConfig(scenario=scenario, seed=seed, start_ms=0, state=location), True, True)
    store.close()


def refused(*args: str) -> str:
    """Run ``serve`` with ``args``; assert it refuses (exit 2, one line, no traceback); its message."""
    result = subprocess.run(
        [sys.executable, "-m", "druid_sim", "serve", "--port", "0", "--no-access-log", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]

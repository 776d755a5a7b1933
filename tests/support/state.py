"""Helpers for the state store's tests: submit, kill the hard way, and watch ``serve`` refuse a store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx

from tests.support.served import Served

D = "/druid/indexer/v1"
SUBMIT = {"type": "index_parallel", "spec": {"dataSchema": {"dataSource": "wikipedia"}}}


def kill(server: Served) -> None:
    """SIGKILL: the process ends between two instructions, nothing flushed or closed on its way out."""
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait()


def submit(client: httpx.Client, body: dict[str, object] = SUBMIT) -> str:
    response = client.post(f"{D}/task", json=body)
    assert response.status_code == 200, response.text
    task: str = response.json()["task"]
    return task


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

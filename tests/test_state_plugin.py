"""The pytest plugin on a state store: ``druid_sim`` with ``state=`` rebuilds from it when it restarts.

The example docs/state.md gives: a test restarts the server in the middle and checks its client
carries on, with everything it did still there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from druid_sim.pytest_plugin import DruidSim

D = "/druid/indexer/v1"


@pytest.fixture
def druid_sim_options(tmp_path: Path) -> dict[str, Any]:
    return {"state": str(tmp_path / "state.db"), "scenario": "demo"}


def test_a_client_carries_on_when_the_server_restarts_mid_test(druid_sim: DruidSim) -> None:
    """Submitted over HTTP and through the fixture, shut down, the clock moved: after ``restart()`` the
    same URL answers the same bytes, and the client's next request simply works (its old connection was
    closed, as a real restart closes it)."""
    with httpx.Client(base_url=druid_sim.url) as client:
        task = client.post(f"{D}/task", json={"type": "index", "spec": {"dataSchema": {"dataSource": "orders"}}})
        submitted = task.json()["task"]
        direct = druid_sim.submit(id="kept-through-the-fixture")
        druid_sim.advance("90s")
        client.post(f"{D}/task/{direct}/shutdown")
        paths = [f"{D}/task/{submitted}/status", f"{D}/task/{direct}/status", f"{D}/tasks", "/__sim/clock"]
        before = [client.get(path).content for path in paths]
        druid_sim.restart()
        assert [client.get(path).content for path in paths] == before
        assert client.get(f"{D}/task/{direct}/status").json()["status"]["errorMsg"] == "Shutdown request from user"


@pytest.mark.druid_sim(state=None)
def test_without_a_store_a_restart_starts_over(druid_sim: DruidSim) -> None:
    """Without ``state=`` the restarted server is at its configuration's start: the task is gone (404)."""
    with httpx.Client(base_url=druid_sim.url) as client:
        task = druid_sim.submit()
        druid_sim.restart()
        assert client.get(f"{D}/task/{task}/status").status_code == 404

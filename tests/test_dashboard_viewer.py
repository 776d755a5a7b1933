"""The dashboard shows a signed-in Druid user only what it may read (issue 22, item 8), over a real socket.

On ``secured-cluster``, ``viewer`` may not READ ``payroll``. Its Tasks view already hid payroll's tasks
(Druid filters ``/tasks``); the Cluster view (``GET /__sim/cluster``) listed payroll's running task ids
and the Traffic view (``GET /__sim/journal``) the admin's requests. The page names its signed-in user in
``X-Druid-Sim-Viewer`` and both answers are cut by Druid's list rule (READ on the task's datasource,
docs/security.md 4.2, reference 2.1); a call without the header is an operator's and sees everything.
"""

from __future__ import annotations

import base64

import httpx
import pytest

from tests.support.live import LiveServer

V1 = "/druid/indexer/v1"
ADMIN = ("admin", "admin-password")
VIEWER = ("viewer", "viewer-password")


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def secured(server: LiveServer, client: httpx.Client) -> LiveServer:
    assert client.post("/__sim/scenario", json={"scenario": "secured-cluster"}).status_code == 200
    return server


def running_ids(client: httpx.Client, viewer: str | None) -> list[str]:
    headers = {} if viewer is None else {"X-Druid-Sim-Viewer": viewer}
    cluster = client.get("/__sim/cluster", headers=headers)
    assert cluster.status_code == 200
    workers = cluster.json()["workers"]
    assert workers["used"] == 2  # slots in use are counted whoever looks: Druid's /workers shows that much
    return sorted(task for manager in workers["middleManagers"] for task in manager["runningTasks"])


def test_the_cluster_view_lists_only_running_tasks_the_viewer_may_read(
    secured: LiveServer, client: httpx.Client
) -> None:
    payroll = client.get(f"{V1}/runningTasks", auth=ADMIN).json()
    payroll_ids = [task["id"] for task in payroll if task["dataSource"] == "payroll"]
    assert len(payroll_ids) == 1
    everything = running_ids(client, None)
    assert payroll_ids[0] in everything and len(everything) == 2
    assert running_ids(client, basic(*ADMIN)) == everything
    as_viewer = running_ids(client, basic(*VIEWER))
    assert payroll_ids[0] not in as_viewer and len(as_viewer) == 1
    assert running_ids(client, "") == []  # nobody signed in reads nothing
    assert running_ids(client, basic("viewer", "wrong")) == []


def test_the_traffic_view_shows_a_viewer_its_own_requests_only(secured: LiveServer, client: httpx.Client) -> None:
    client.get(f"{V1}/tasks", params={"datasource": "payroll"}, auth=ADMIN)
    client.get(f"{V1}/tasks", auth=VIEWER)

    def users(viewer: str | None) -> list[str | None]:
        headers = {} if viewer is None else {"X-Druid-Sim-Viewer": viewer}
        journal = client.get("/__sim/journal", headers=headers)
        assert journal.status_code == 200
        return [entry["user"] for entry in journal.json()["entries"]]

    assert users(None) == ["admin", "viewer"]
    assert users(basic(*VIEWER)) == ["viewer"]
    assert users(basic(*ADMIN)) == ["admin"]
    assert users("") == []


def test_without_security_the_viewer_header_changes_nothing(server: LiveServer, client: httpx.Client) -> None:
    client.get(f"{V1}/tasks")
    assert len(client.get("/__sim/journal", headers={"X-Druid-Sim-Viewer": ""}).json()["entries"]) == 1

"""Testing how a client handles a secured Druid cluster: the ``secured-cluster`` scenario and auth faults.

The scenario has two users: ``admin`` may do anything, ``viewer`` only reads (and never sees the
``payroll`` datasource). Druid answers bad credentials with 401 and a missing permission with 403,
in its own bodies (``docs/security.md``); a good client stops at once with Druid's reason instead of
retrying, which the journal shows. The ``unauthorized`` fault makes a cluster refuse credentials
half-way, as when a password is rotated while a task runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from druid_sim.pytest_plugin import DruidSim
from examples.ingest_client import IngestClient, NotAuthenticated, NotAuthorized
from examples.test_ingest_client import spec

pytestmark = pytest.mark.druid_sim(scenario="secured-cluster")

TASK = "/druid/indexer/v1/task"
ADMIN = ("admin", "admin-password")
VIEWER = ("viewer", "viewer-password")


@pytest.fixture
def client_for() -> Iterator[Callable[..., IngestClient]]:
    """The client under test on druid-sim's virtual clock, logged in as ``auth``; closed after the test."""
    made: list[IngestClient] = []

    def make(druid_sim: DruidSim, auth: tuple[str, str] | None, **options: Any) -> IngestClient:
        client = IngestClient(druid_sim.url, auth=auth, sleep=druid_sim.advance, clock=druid_sim.now_seconds, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def test_the_admin_ingests_and_every_request_is_made_as_admin(
    druid_sim: DruidSim, client_for: Callable[..., IngestClient]
) -> None:
    status = client_for(druid_sim, ADMIN, poll_interval=30).run(spec("wikipedia"), timeout=3600)
    assert status["status"] == "SUCCESS"
    assert druid_sim.count(user="admin") == druid_sim.count() > 2


def test_a_wrong_password_stops_the_client_at_once_with_druids_reason(
    druid_sim: DruidSim, client_for: Callable[..., IngestClient]
) -> None:
    with pytest.raises(NotAuthenticated, match=r"401: User authentication failed username\[admin\]\."):
        client_for(druid_sim, ("admin", "old-password")).run(spec("wikipedia"))
    assert druid_sim.count() == 1  # no retry storm against the authenticator


def test_no_credentials_is_a_401_too(druid_sim: DruidSim, client_for: Callable[..., IngestClient]) -> None:
    with pytest.raises(NotAuthenticated, match=r"no credentials \(401: Unauthorized request\)"):
        client_for(druid_sim, None).run(spec("wikipedia"))
    assert druid_sim.count(answered_by="security") == 1


def test_a_user_without_write_permission_gets_a_clear_403_and_nothing_is_submitted(
    druid_sim: DruidSim, client_for: Callable[..., IngestClient]
) -> None:
    tasks_before = druid_sim.http.get("/druid/indexer/v1/tasks", auth=ADMIN).json()
    with pytest.raises(NotAuthorized, match=r"user 'viewer' lacks the permission for this \(403: Unauthorized\)"):
        client_for(druid_sim, VIEWER).run(spec("wikipedia"))
    assert druid_sim.journal("POST", TASK)[0]["status"] == 403
    assert druid_sim.http.get("/druid/indexer/v1/tasks", auth=ADMIN).json() == tasks_before


def test_credentials_refused_half_way_stop_the_wait_without_shutting_the_task_down(
    druid_sim: DruidSim, client_for: Callable[..., IngestClient]
) -> None:
    # a fault stands for the password being rotated while the task runs: the third poll is refused
    druid_sim.add_fault(
        name="rotated",
        kind="unauthorized",
        answer="rejected",
        user="admin",
        routes=[f"{TASK}/*/status"],
        when={"nth": 3},
    )
    with pytest.raises(NotAuthenticated, match=r"username\[admin\]"):
        client_for(druid_sim, ADMIN, poll_interval=30).run(spec("wikipedia"), timeout=3600)
    polls = druid_sim.journal("GET", f"{TASK}/*/status")
    assert [(entry["status"], entry["fault"]) for entry in polls] == [(200, None), (200, None), (401, "rotated")]
    assert druid_sim.count("POST", f"{TASK}/*/shutdown") == 0

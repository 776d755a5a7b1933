"""``serve --state postgresql://...``: replicas on one real PostgreSQL elect a leader, redirect to it, and
take over when it dies (reference 8.1), with nothing acknowledged lost.

The server is a real PostgreSQL from the machine's binaries (`tests.support.postgres`); without one the
tests skip and say why (``make postgresql`` installs it as root).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.support.postgres import Postgres
from tests.support.served import START, Served, served
from tests.support.state import D, kill, new_store, postgres_or_skip, refused_here, submit


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    yield from postgres_or_skip()


def wait_for(condition: Callable[[], bool], seconds: float = 15) -> None:
    """Poll ``condition`` until it holds (leases run on the database's real clock, not the virtual one)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def leads(server: Served) -> bool:
    return httpx.get(f"{server.url}{D}/isLeader").status_code == 200


def replica(url: str) -> tuple[str, ...]:
    return ("--state", url, "--start-time", START, "--time-scale", "0", "--no-access-log", "--no-dashboard")


def test_a_redirect_following_client_finishes_its_work_on_the_new_leader(postgres: Postgres) -> None:
    """Two replicas. The standby answers as a standby Overlord (reference 8.1): ``/leader`` and ``/isLeader``
    (404 false) itself, ``/status*`` too, and 307s everything else to the leader's base URL plus the request
    URI as received (``/isLeader/`` with a slash is not the exact local path, so it is redirected); control
    changes go to the leader too. A client that follows redirects works through the standby, which catches
    up on the shared action log. The leader is killed with SIGKILL: within the lease the standby takes over,
    the client's retries land on it, and every task it was told about is there, shut down where it asked."""
    url = postgres.new_database()
    acknowledged: list[str] = []
    with served(*replica(url)) as first:
        wait_for(lambda: leads(first))
        with served(*replica(url)) as second, httpx.Client(base_url=second.url) as standby:
            assert standby.get(f"{D}/isLeader").status_code == 404
            assert standby.get(f"{D}/isLeader").json() == {"leader": False}
            assert standby.get(f"{D}/leader").text == first.url
            assert httpx.get(f"{first.url}{D}/leader").text == first.url
            assert standby.get("/status/health").status_code == 200
            redirect = standby.get(f"{D}/tasks?state=running&max=5")
            assert redirect.status_code == 307 and redirect.content == b""
            assert redirect.headers["location"] == f"{first.url}{D}/tasks?state=running&max=5"
            assert standby.get(f"{D}/isLeader/").headers["location"] == f"{first.url}{D}/isLeader/"
            leader = standby.get("/__sim/cluster").json()["leader"]
            assert (leader["state"], leader["url"]) == ("redirecting", first.url)
            posted = standby.post("/__sim/clock", json={"advance": "1m"})
            assert posted.status_code == 307 and posted.headers["location"] == f"{first.url}/__sim/clock"

            client = httpx.Client(base_url=second.url, follow_redirects=True)
            for _ in range(5):
                acknowledged.append(submit(client))
            assert client.post(f"{D}/task/{acknowledged[0]}/shutdown").status_code == 200
            client.post("/__sim/clock", json={"advance": "30s"})
            before = client.get(f"{D}/task/{acknowledged[1]}/status").content
            wait_for(lambda: standby.get("/__sim/health").json()["state"]["appliedActions"] == 7)
            kill(first)
            deadline = time.monotonic() + 20
            while len(acknowledged) < 10:
                assert time.monotonic() < deadline, "no replica took over"
                try:
                    response = client.post(
                        f"{D}/task", json={"type": "index", "spec": {"dataSchema": {"dataSource": "x"}}}
                    )
                except httpx.TransportError:  # a redirect to the dead leader, before the standby knows
                    time.sleep(0.1)
                    continue
                if response.status_code == 503:  # no leader known yet: Druid's answer, retry
                    time.sleep(0.1)
                    continue
                assert response.status_code == 200, response.text
                acknowledged.append(response.json()["task"])
            assert leads(second)
            assert client.get(f"{D}/leader").text == second.url
            for task in acknowledged:
                assert client.get(f"{D}/task/{task}/status").status_code == 200
            shut = client.get(f"{D}/task/{acknowledged[0]}/status").json()["status"]
            assert shut["errorMsg"] == "Shutdown request from user"
            assert client.get(f"{D}/task/{acknowledged[1]}/status").content == before
            client.close()
            assert second.tracebacks() == []


def test_an_unreachable_database_is_named(postgres: Postgres, capsys: pytest.CaptureFixture[str]) -> None:
    message = refused_here(capsys, "--state", f"postgresql://druid:secret@127.0.0.1:{postgres.port + 1}/nowhere")
    assert "cannot reach the state store" in message and "start PostgreSQL or fix the URL" in message
    assert "secret" not in message


def test_a_newer_schema_is_refused(postgres: Postgres, capsys: pytest.CaptureFixture[str]) -> None:
    import psycopg

    url = postgres.new_database()
    new_store(url)
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("UPDATE druid_sim_meta SET value = '99' WHERE name = 'schema_version'")
    assert "schema version 99" in refused_here(capsys, "--state", url)


def test_a_leader_whose_database_goes_away_steps_down_and_comes_back(postgres: Postgres) -> None:
    """The database stops taking the leader's connections: within a lease it stops answering from memory
    (503 as an Overlord without a leader, reference 8.1; ``/isLeader`` 404), and once the database is back it
    rebuilds from the store and leads again, with nothing acknowledged lost."""
    import psycopg

    url = postgres.new_database()
    name = url.rsplit("/", 1)[1]
    with served(*replica(url)) as server, httpx.Client(base_url=server.url) as client:
        wait_for(lambda: leads(server))
        kept = submit(client)
        with psycopg.connect(postgres.url("postgres"), autocommit=True) as admin:
            admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
            wait_for(lambda: not leads(server))
            assert client.get(f"{D}/tasks").status_code == 503
            assert client.post(f"{D}/task", json={"type": "index"}).status_code == 503
            admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
        wait_for(lambda: leads(server))
        assert client.get(f"{D}/task/{kept}/status").status_code == 200
        submit(client)
        assert server.tracebacks() == []

"""``serve --cassette FILE --state URL``: replay replicas (separate processes, as on separate machines) share
their sequence cursors through the state store (docs/state.md "Replay replicas"), over real sockets, on a
real PostgreSQL (`tests.support.postgres`; without one the PostgreSQL tests skip and say why).

A client polling a recorded sequence through any mix of replicas sees each recorded answer once, in
recorded order; a reset on one replica rewinds it for all; another cassette on the same database has
cursors of its own; a restarted replica goes on where the cursors stand.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from druid_sim.state.schema import SCHEMA_VERSION
from druid_sim.state.sqlite import SqliteStore
from tests.support.postgres import Postgres
from tests.support.replay import exchange, write_cassette
from tests.support.served import Served, served
from tests.support.state import refused_here

V1 = "/druid/indexer/v1"
TASK = "index_parallel_wiki_abcdefgh_2026-01-01T00:00:00.000Z"
STATUS = f"{V1}/task/{TASK}/status"
RECORDED = ("PENDING", "RUNNING", "SUCCESS")


def status_body(state: str) -> dict[str, object]:
    return {"task": TASK, "status": {"id": TASK, "status": state, "statusCode": state}}


def poll_cassette(path: Path, states: tuple[str, ...] = RECORDED) -> Path:
    """One task polled while it ran: one recorded answer per state, in order (recorded without redaction, so
    each replica redacts it with a salt of its own and must still number its sequences as the others do)."""
    return write_cassette(path, [exchange("GET", STATUS, 200, status_body(state)) for state in states])


def replica(cassette: Path, state: str, *more: str) -> tuple[str, ...]:
    return ("--cassette", str(cassette), "--state", state, "--no-access-log", "--no-dashboard", *more)


def seen(client: httpx.Client) -> str:
    response = client.get(STATUS)
    assert response.status_code == 200, response.text
    state: str = response.json()["status"]["status"]
    return state


def stored_positions(url: str) -> list[int]:
    """Every cursor row's position in the database, read with psycopg (not through druid-sim)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        return [int(row[0]) for row in db.execute("SELECT pos FROM druid_sim_cursors ORDER BY cassette, slot")]


@pytest.fixture
def pair(postgres: Postgres, tmp_path: Path) -> Iterator[tuple[Served, Served, str]]:
    """Two replicas replaying the poll cassette on one fresh database; and that database's URL."""
    url = postgres.new_database()
    cassette = poll_cassette(tmp_path / "poll.jsonl")
    with (
        served(*replica(cassette, url)) as first,
        served(*replica(cassette, url)) as second,
        first.no_traceback(),
        second.no_traceback(),
    ):
        yield first, second, url


def test_a_client_alternating_between_two_replicas_sees_each_step_once_in_order(
    pair: tuple[Served, Served, str],
) -> None:
    """Every replica answers (no leader to redirect to in replay), and the sequence advances once per
    request whichever replica takes it: PENDING, RUNNING, SUCCESS, then SUCCESS sticks (stick-last)."""
    first, second, url = pair
    with httpx.Client(base_url=first.url) as a, httpx.Client(base_url=second.url) as b:
        assert [seen(client) for client in (a, b, a, b, a, b)] == [*RECORDED, "SUCCESS", "SUCCESS", "SUCCESS"]
        assert a.get(f"{V1}/isLeader").json() == {"leader": True}
        assert b.get(f"{V1}/isLeader").json() == {"leader": True}
        for client in (a, b):  # each replica reads the shared cursors: nothing left unplayed
            shown = client.get("/__sim/cassette").json()
            assert shown["unused"] == 0
            assert shown["cursors"]["kept"] == "state store"
            assert shown["cursors"]["location"] == url
        assert a.get("/__sim/cassette").json()["cursors"] == b.get("/__sim/cassette").json()["cursors"]
        refused = a.post("/__sim/cassette", json={"cassette": None})
        assert refused.status_code == 409 and "restart every replica" in refused.json()["message"]
    assert stored_positions(url) == [3]


def test_a_reset_on_one_replica_rewinds_the_sequence_for_every_replica(pair: tuple[Served, Served, str]) -> None:
    first, second, url = pair
    with httpx.Client(base_url=first.url) as a, httpx.Client(base_url=second.url) as b:
        assert [seen(b), seen(b), seen(b), seen(b)] == [*RECORDED, "SUCCESS"]  # b has settled on SUCCESS
        assert a.post("/__sim/reset").status_code == 200
        assert stored_positions(url) == []
        assert [seen(b), seen(a), seen(b)] == list(RECORDED)


def test_concurrent_clients_on_both_replicas_advance_the_cursor_exactly_once_per_request(
    postgres: Postgres, tmp_path: Path
) -> None:
    """Eight clients at once, each alternating between the replicas, through a recorded sequence longer than
    all their requests together (``--sequence cycle``: every request advances it). Each recorded answer is
    handed out exactly once, none skipped, and the stored cursor counts every request."""
    clients, each = 8, 40
    total = clients * each
    cassette = write_cassette(
        tmp_path / "long.jsonl", [exchange("GET", STATUS, 200, {"task": TASK, "n": n}) for n in range(total + 100)]
    )
    url = postgres.new_database()
    answers: list[int] = []
    failures: list[str] = []
    lock = threading.Lock()
    with (
        served(*replica(cassette, url, "--sequence", "cycle")) as first,
        served(*replica(cassette, url, "--sequence", "cycle")) as second,
    ):
        start = threading.Barrier(clients)

        def hammer() -> None:
            with httpx.Client(base_url=first.url) as a, httpx.Client(base_url=second.url) as b:
                start.wait()
                for index in range(each):
                    response = (a, b)[index % 2].get(STATUS)
                    with lock:
                        if response.status_code == 200:
                            answers.append(int(response.json()["n"]))
                        else:
                            failures.append(f"{response.status_code} {response.text[:200]}")

        threads = [threading.Thread(target=hammer) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        counts = [httpx.get(f"{server.url}/__sim/journal/count").json()["count"] for server in (first, second)]
        assert first.tracebacks() == [] and second.tracebacks() == []
    assert failures == []
    assert sorted(answers) == list(range(total))
    assert counts == [total // 2, total // 2]
    assert stored_positions(url) == [total]


def test_a_second_cassette_on_the_same_database_has_cursors_of_its_own(postgres: Postgres, tmp_path: Path) -> None:
    """Same request, same database, another cassette (another task's life): its sequence starts at its own
    first answer, and a reset of one cassette's replicas leaves the other's where it is."""
    url = postgres.new_database()
    one = poll_cassette(tmp_path / "one.jsonl")
    other = poll_cassette(tmp_path / "other.jsonl", ("WAITING", "RUNNING", "FAILED"))
    with (
        served(*replica(one, url)) as first,
        served(*replica(other, url)) as second,
        httpx.Client(base_url=first.url) as a,
        httpx.Client(base_url=second.url) as b,
    ):
        assert [seen(a), seen(a)] == ["PENDING", "RUNNING"]
        assert [seen(b), seen(a), seen(b)] == ["WAITING", "SUCCESS", "RUNNING"]
        ids = {client.get("/__sim/cassette").json()["cursors"]["cassetteId"] for client in (a, b)}
        assert len(ids) == 2
        assert sorted(stored_positions(url)) == [2, 3]
        assert a.post("/__sim/reset").status_code == 200
        assert stored_positions(url) == [2]
        assert [seen(b), seen(a)] == ["FAILED", "PENDING"]


def test_a_restarted_replica_goes_on_where_the_cursors_stand(postgres: Postgres, tmp_path: Path) -> None:
    url = postgres.new_database()
    cassette = poll_cassette(tmp_path / "poll.jsonl")
    with served(*replica(cassette, url)) as server, httpx.Client(base_url=server.url) as client:
        assert [seen(client), seen(client)] == ["PENDING", "RUNNING"]
        assert server.stop() == 0
    with served(*replica(cassette, url)) as server, httpx.Client(base_url=server.url) as client:
        assert [seen(client), seen(client)] == ["SUCCESS", "SUCCESS"]
        assert server.tracebacks() == []


def test_sqlite_keeps_the_cursors_of_a_single_server_across_a_restart(tmp_path: Path) -> None:
    """``--state FILE`` with a cassette: the same table in SQLite, for one server (the file is locked)."""
    store = str(tmp_path / "state.db")
    cassette = poll_cassette(tmp_path / "poll.jsonl")
    with served(*replica(cassette, store, "--sequence", "exhaust")) as server:
        with httpx.Client(base_url=server.url) as client:
            assert [seen(client), seen(client)] == ["PENDING", "RUNNING"]
        assert server.stop() == 0
    with served(*replica(cassette, store, "--sequence", "exhaust")) as server:
        with httpx.Client(base_url=server.url) as client:
            assert seen(client) == "SUCCESS"
            used_up = client.get(STATUS)  # exhaust: the fourth poll is a miss, explained
            assert used_up.status_code == 599
            assert "its sequence is used up: all 3 recorded answers were played" in used_up.text
        assert server.tracebacks() == []


def test_a_replica_whose_database_goes_away_answers_503_and_goes_on_when_it_is_back(
    postgres: Postgres, tmp_path: Path
) -> None:
    """Without its database a replica cannot know where a sequence stands: 503 (as an Overlord without its
    metadata store), never a guess; once the database is back, the sequence goes on from where it was."""
    import psycopg

    url = postgres.new_database()
    name = url.rsplit("/", 1)[1]
    cassette = poll_cassette(tmp_path / "poll.jsonl")
    with served(*replica(cassette, url)) as server, httpx.Client(base_url=server.url) as client:
        assert seen(client) == "PENDING"
        with psycopg.connect(postgres.url("postgres"), autocommit=True) as admin:
            admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
            for _ in range(3):
                refused = client.get(STATUS, headers={"Accept": "application/json"})
                assert refused.status_code == 503
                assert refused.json()["message"] == "Service Unavailable"
            admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
        answers: list[int] = []
        while len(answers) < 40:  # the replica tries the database again every half second
            response = client.get(STATUS)
            answers.append(response.status_code)
            if response.status_code == 200:
                assert response.json()["status"]["status"] == "RUNNING"
                break
            time.sleep(0.1)
        assert answers[-1] == 200, answers
        assert seen(client) == "SUCCESS"
        assert server.tracebacks() == []


def test_state_with_more_than_one_worker_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cassette = poll_cassette(tmp_path / "poll.jsonl")
    message = refused_here(capsys, *replica(cassette, str(tmp_path / "state.db"), "--workers", "2"))
    assert message == (
        "druid-sim serve: --workers above 1 with --state needs an SQLite file and no --cassette: replay's workers "
        "share their cursors through a file of their own; with --state run more replicas on it instead (docs/state.md)"
    )


def test_a_store_of_schema_1_gains_the_cursors_and_snapshot_tables(tmp_path: Path) -> None:
    """The cursors came with schema 2 and snapshots with 3: a store written by an older druid-sim is
    migrated through each step when it opens."""
    import sqlite3

    path = str(tmp_path / "old.db")
    SqliteStore(path).close()
    with sqlite3.connect(path) as db:
        for table in ("druid_sim_cursors", "druid_sim_snapshots", "druid_sim_snapshot_parts"):
            db.execute(f"DROP TABLE {table}")
        db.execute("UPDATE druid_sim_meta SET value = '1' WHERE name = 'schema_version'")
    db.close()
    store = SqliteStore(path)
    try:
        assert SCHEMA_VERSION == 3
        assert store.run("SELECT value FROM druid_sim_meta WHERE name = 'schema_version'") == [("3",)]
        for table in ("druid_sim_cursors", "druid_sim_snapshots", "druid_sim_snapshot_parts"):
            assert store.run(f"SELECT count(*) FROM {table}") == [(0,)]
    finally:
        store.close()


def test_store_cursors_hand_out_each_position_once_up_to_the_cap_per_cassette(tmp_path: Path) -> None:
    """The cursor calls themselves, on SQLite in this process: ``advance`` gives the count before it (what
    `take` turns into a position), stops at the cap, and every call touches its own cassette's rows only."""
    from druid_sim.replay.cursors import take
    from druid_sim.replay.options import SequencePolicy
    from druid_sim.state.cursors import open_cursors

    one = open_cursors(str(tmp_path / "cursors.db"), "1" * 64)
    other = type(one)(one.store, "2" * 64)  # another cassette on the same store
    try:
        assert [one.advance(0, 3) for _ in range(5)] == [0, 1, 2, 3, 3]
        assert [one.advance(1, None) for _ in range(4)] == [0, 1, 2, 3]
        assert [take(other, 0, 2, SequencePolicy.STICK_LAST) for _ in range(3)] == [0, 1, 1]
        assert [take(other, 1, 2, SequencePolicy.EXHAUST) for _ in range(3)] == [0, 1, None]
        assert (one.counts(3), other.counts(3)) == ([3, 4, 0], [2, 2, 0])
        assert (one.get(0), one.get(2), other.get(0)) == (3, 0, 2)
        assert one.claim(7) and not one.claim(7) and other.claim(7)  # logged misses: per process and cassette
        one.reset()
        assert (one.counts(3), other.counts(3)) == ([0, 0, 0], [2, 2, 0])
        assert one.claim(7)
        assert one.describe() == {
            "kept": "state store",
            "location": str(tmp_path / "cursors.db"),
            "cassetteId": "1" * 64,
            "shared": True,
        }
    finally:
        one.close()

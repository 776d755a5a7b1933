"""The shared store: PostgreSQL (psycopg 3), for replicas on one or many machines that elect a leader.

The leader holds a lease row (``druid_sim_leader``) that it renews every third of `LEASE_S`; when it
stops renewing (killed, cut off from the database) the lease runs out on the database's own clock and
the first replica to ask takes it over, so takeover takes at most `LEASE_S` plus a poll. Every write
checks the lease in its own transaction (``SELECT ... FOR UPDATE``), so a leader that lost it can never
write again: it steps down and rebuilds from the log before it leads once more.

Two connections: one for the writes the event loop makes, one for the elector's lease and catch-up
reads (`druid_sim.state.election`, in a thread), so neither waits for the other.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from druid_sim.state.store import LEASE_S, SqlStore, Stored, StoreError

#: How long connecting to the database may take, and any one statement (seconds).
CONNECT_TIMEOUT_S = 3
STATEMENT_TIMEOUT_MS = 5000


def shown_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


class PostgresStore(SqlStore):
    """The state in the PostgreSQL database at ``url``, shared by every replica given the same URL."""

    dialect = "postgresql"
    mark = "%s"
    shared = True

    def __init__(self, url: str) -> None:
        self.location = shown_url(url)
        self._url = url
        try:
            import psycopg
        except ModuleNotFoundError:
            raise StoreError("--state postgresql://... needs psycopg: pip install 'druid-sim[postgresql]'") from None
        self._psycopg = psycopg
        self._db = self._connect()
        try:
            self._bg = self._connect()
            self.prepare()
        except StoreError:
            self.close()
            raise

    def _connect(self) -> Any:
        try:
            return self._psycopg.connect(
                self._url,
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT_S,
                options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
            )
        except self._psycopg.Error as exc:
            raise StoreError(
                f"cannot reach the state store {self.location} ({_first_line(exc)}): start PostgreSQL or fix the URL"
            ) from None

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        yield from self._transaction(self._db)

    @contextmanager
    def background(self) -> Iterator[Any]:
        """A transaction on the elector's own connection."""
        yield from self._transaction(self._bg)

    def _transaction(self, connection: Any) -> Iterator[Any]:
        with self._translated():
            if connection.closed:
                raise self._psycopg.OperationalError("the connection was closed")
            with connection.transaction(), connection.cursor() as cursor:
                yield cursor

    def run(self, statement: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """One statement on the write connection, autocommitted: atomic, in one round trip."""
        with self._translated():
            if self._db.closed:
                raise self._psycopg.OperationalError("the connection was closed")
            cursor = self._db.execute(self.sql(statement), parameters)
            return list(cursor.fetchall()) if cursor.description is not None else []

    def read_bulk(self, cursor: Any, statement: str, parameters: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """In binary: a ``bytea`` comes as its bytes, not as twice as many hex digits to decode (a snapshot's
        parts are ~100 MB with 100,000 tasks: 0.8 s in text, 0.3 s in binary)."""
        cursor.execute(self.sql(statement), parameters, binary=True)
        return list(cursor.fetchall())

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """psycopg's errors as `StoreError`, each saying what to do."""
        psycopg = self._psycopg
        try:
            yield
        except psycopg.errors.ReadOnlySqlTransaction:
            raise StoreError(
                f"cannot write the state store {self.location} (the database is read-only): point --state at "
                "the primary"
            ) from None
        except psycopg.errors.InsufficientPrivilege as exc:
            raise StoreError(
                f"cannot write the state store {self.location} ({_first_line(exc)}): grant the user CREATE and "
                "write on the database"
            ) from None
        except psycopg.Error as exc:
            raise StoreError(f"the state store {self.location} failed ({_first_line(exc)})") from None

    def reconnect(self) -> None:
        """Make sure both connections answer (a connection the server dropped is only found out when used),
        opening fresh ones where they do not."""
        for name in ("_db", "_bg"):
            connection = getattr(self, name)
            if not connection.closed and not connection.broken:
                try:
                    connection.execute("SELECT 1")
                    continue
                except self._psycopg.Error:
                    connection.close()
            setattr(self, name, self._connect())

    def check_holder(self, cursor: Any, holder: str) -> None:
        cursor.execute(
            "SELECT 1 FROM druid_sim_leader WHERE id = 1 AND holder = %s AND expires_at > now() FOR UPDATE", (holder,)
        )
        if cursor.fetchone() is None:
            raise StoreError(f"this replica's lease on {self.location} ran out: another replica leads")

    def heartbeat(self, holder: str, url: str, lease_s: float = LEASE_S) -> tuple[str, str] | None:
        """Take or renew the lease; who holds it and the leader's URL, None if none is known.

        Who leads is told by the holder, never the URL: two replicas given the same URL by mistake must
        not both believe they lead."""
        with self.background() as cursor:
            cursor.execute(
                "INSERT INTO druid_sim_leader (id, holder, url, expires_at) "
                "VALUES (1, %s, %s, now() + make_interval(secs => %s)) "
                "ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, url = excluded.url, "
                "expires_at = excluded.expires_at "
                "WHERE druid_sim_leader.holder = excluded.holder OR druid_sim_leader.expires_at < now() "
                "RETURNING holder",
                (holder, url, lease_s),
            )
            if cursor.fetchone() is not None:
                return holder, url
            cursor.execute("SELECT holder, url FROM druid_sim_leader WHERE id = 1 AND expires_at >= now()")
            row = cursor.fetchone()
        return (str(row[0]), str(row[1])) if row else None

    def resign(self, holder: str) -> None:
        """Give the lease up at once (a server stopping), so another replica need not wait for it to run out."""
        with self.background() as cursor:
            cursor.execute("DELETE FROM druid_sim_leader WHERE id = 1 AND holder = %s", (holder,))

    def actions_after(self, seq: int) -> list[Stored]:
        with self.background() as cursor:
            return self.fetch_actions(cursor, seq)

    def close(self) -> None:
        for name in ("_db", "_bg"):
            connection = getattr(self, name, None)
            if connection is not None:
                connection.close()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]

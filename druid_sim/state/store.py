"""The state store: what the ledger needs of a database, and the SQL both engines share.

Two engines, both real and neither home-made: SQLite (`druid_sim.state.sqlite`, the standard library,
one server) and PostgreSQL (`druid_sim.state.postgres`, several replicas that elect a leader through
it). `open_store` picks one from ``--state``. Every problem an operator can fix (a folder that does
not exist, a read-only file, a database that does not answer, a schema from a newer druid-sim) is a
`StoreError` whose message is one line naming the store and the fix.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from druid_sim.actions import RESET, SCENARIO, SHUTDOWN_ALL, SUBMIT, Action
from druid_sim.state.schema import SCHEMA_VERSION, create_statements, migration_statements

logger = logging.getLogger(__name__)


#: How long a leader's lease lasts without renewal (seconds): the longest a killed leader is waited for.
LEASE_S = 3.0


class StoreError(Exception):
    """A store that cannot be used as it is; the message names it and says how to fix it."""


@dataclass(frozen=True, slots=True)
class Settings:
    """What fixes the model besides the actions: the scenario, the seed, and where and how the clock started."""

    scenario: str | None
    seed: int
    start_ms: int
    scale: float
    wall_ms: int  # the wall clock when the store was made: with start_ms and scale, where virtual time is

    def encode(self) -> str:
        return orjson.dumps(asdict(self)).decode()

    @classmethod
    def decode(cls, text: str) -> Settings:
        return cls(**orjson.loads(text))


#: (seq, action): an action as stored, with its place in the log.
Stored = tuple[int, Action]


class Store(ABC):
    """A database holding the settings, the action log and the ``druid_tasks`` rows."""

    #: Where it is, as the operator gave it (passwords left out).
    location: str
    #: True when several servers can share it (and so elect a leader through it).
    shared: bool = False

    @abstractmethod
    def load_settings(self) -> Settings | None:
        """The settings the store was made with; None for a new store."""

    @abstractmethod
    def save_settings(self, settings: Settings) -> None:
        """Record the settings of a new store."""

    @abstractmethod
    def append(self, action: Action, holder: str | None = None) -> int:
        """Add ``action`` to the log (and its task row); durable when this returns. Returns its seq.

        ``holder``: on a shared store, the leader's lease this write is made under; the write is refused
        (`StoreError`) unless that lease still holds, so a deposed leader can never write.
        """

    @abstractmethod
    def actions_after(self, seq: int) -> list[Stored]:
        """Every action after ``seq``, in order."""

    @abstractmethod
    def close(self) -> None: ...

    def heartbeat(self, holder: str, url: str, lease_s: float = LEASE_S) -> tuple[str, str] | None:
        """Take or renew the leader's lease; who holds it and the leader's URL (None: no leader known).

        A store only one server uses: always ``holder`` at ``url``."""
        return holder, url

    def resign(self, holder: str) -> None:
        """Give the lease up (nothing to give on a store only one server uses)."""
        return None

    def reconnect(self) -> None:
        """Open fresh connections after the database came back (nothing to do for a file)."""
        return None


class SqlStore(Store):
    """The SQL both engines share: the schema and its version, settings, the log and ``druid_tasks``."""

    dialect = "sqlite"
    #: The placeholder for a parameter in this engine's SQL ("?" in SQLite, "%s" in psycopg).
    mark = "?"

    @abstractmethod
    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A cursor inside one transaction, committed on leaving (rolled back on an exception)."""
        yield None

    def sql(self, statement: str) -> str:
        return statement.replace("?", self.mark)

    def run(self, statement: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement (``?`` placeholders) in a transaction of its own; the rows it returns.

        A single statement is atomic on both engines; the engines run it without a transaction's extra
        round trips where they can (autocommit)."""
        with self.transaction() as cursor:
            cursor.execute(self.sql(statement), parameters)
            return list(cursor.fetchall()) if cursor.description is not None else []

    def prepare(self) -> None:
        """Create the schema, or bring an older one up to date; refuse a newer one."""
        with self.transaction() as cursor:
            cursor.execute(create_statements(self.dialect)[0])
            cursor.execute(self.sql("SELECT value FROM druid_sim_meta WHERE name = ?"), ("schema_version",))
            row = cursor.fetchone()
            version = int(row[0]) if row else None
            if version is not None and version > SCHEMA_VERSION:
                raise StoreError(
                    f"the state store {self.location} has schema version {version}, newer than this druid-sim's "
                    f"({SCHEMA_VERSION}): upgrade druid-sim, or give another --state"
                )
            statements = create_statements(self.dialect) if version is None else migration_statements(version)
            for statement in statements:
                cursor.execute(statement)
            if version != SCHEMA_VERSION:
                self._put(cursor, "schema_version", str(SCHEMA_VERSION))
                if version is not None:
                    logger.info("state store %s migrated from schema %d to %d", self.location, version, SCHEMA_VERSION)

    def _put(self, cursor: Any, name: str, value: str) -> None:
        cursor.execute(
            self.sql(
                "INSERT INTO druid_sim_meta (name, value) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value"
            ),
            (name, value),
        )

    def load_settings(self) -> Settings | None:
        with self.transaction() as cursor:
            cursor.execute(self.sql("SELECT value FROM druid_sim_meta WHERE name = ?"), ("settings",))
            row = cursor.fetchone()
        return Settings.decode(row[0]) if row else None

    def save_settings(self, settings: Settings) -> None:
        with self.transaction() as cursor:
            self._put(cursor, "settings", settings.encode())

    def check_holder(self, cursor: Any, holder: str) -> None:
        """Refuse the write unless ``holder`` leads (shared stores only)."""
        return None

    def append(self, action: Action, holder: str | None = None) -> int:
        with self.transaction() as cursor:
            if holder is not None:
                self.check_holder(cursor, holder)
            cursor.execute(
                self.sql(
                    "INSERT INTO druid_sim_actions (kind, at_ms, clock_ms, wall_ms, scale, task_id, args) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING seq"
                ),
                (
                    action.kind,
                    action.at_ms,
                    action.clock_ms,
                    action.wall_ms,
                    action.scale,
                    action.task_id,
                    action.args,
                ),
            )
            seq = int(cursor.fetchone()[0])
            row = action.row
            if action.kind == SUBMIT and row is not None:
                cursor.execute(
                    self.sql(
                        "INSERT INTO druid_tasks (id, created_date, datasource, payload, status, active, type, "
                        "group_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                        "created_date = excluded.created_date, datasource = excluded.datasource, "
                        "payload = excluded.payload, status = excluded.status, active = excluded.active, "
                        "type = excluded.type, group_id = excluded.group_id"
                    ),
                    (
                        row.id,
                        row.created_date,
                        row.datasource,
                        row.payload,
                        row.status,
                        row.active,
                        row.type,
                        row.group_id,
                    ),
                )
            elif row is not None:  # a shutdown: the task's status as it now stands
                cursor.execute(
                    self.sql("UPDATE druid_tasks SET status = ?, active = ? WHERE id = ?"),
                    (row.status, row.active, row.id),
                )
            elif action.kind in (RESET, SCENARIO):  # a fresh cluster: what came before can never matter again
                cursor.execute(self.sql("DELETE FROM druid_sim_actions WHERE seq < ?"), (seq,))
                cursor.execute("DELETE FROM druid_tasks")
            elif action.kind == SHUTDOWN_ALL:
                cursor.execute(
                    self.sql("UPDATE druid_tasks SET active = ? WHERE datasource = ? AND active = ?"),
                    (False, action.arg("dataSource"), True),
                )
        return seq

    def actions_after(self, seq: int) -> list[Stored]:
        with self.transaction() as cursor:
            return self.fetch_actions(cursor, seq)

    def fetch_actions(self, cursor: Any, seq: int) -> list[Stored]:
        """The actions after ``seq``, in order, read with ``cursor``."""
        cursor.execute(
            self.sql(
                "SELECT seq, kind, at_ms, clock_ms, wall_ms, scale, task_id, args FROM druid_sim_actions "
                "WHERE seq > ? ORDER BY seq"
            ),
            (seq,),
        )
        return [
            (
                int(row[0]),
                Action(
                    kind=row[1],
                    at_ms=int(row[2]),
                    args=bytes(row[7]),
                    task_id=row[6],
                    clock_ms=int(row[3]),
                    scale=float(row[5]),
                    wall_ms=int(row[4]),
                ),
            )
            for row in cursor.fetchall()
        ]


def open_store(location: str) -> Store:
    """The store ``--state`` names: a ``postgresql://`` URL, else an SQLite file path. Raises `StoreError`."""
    if location.startswith(("postgresql://", "postgres://")):
        from druid_sim.state.postgres import PostgresStore

        return PostgresStore(location)
    from druid_sim.state.sqlite import SqliteStore

    return SqliteStore(location)

"""The state store: what the ledger needs of a database, and the SQL both engines share.

Two engines, both real and neither home-made: SQLite (`druid_sim.state.sqlite`, the standard library,
one server) and PostgreSQL (`druid_sim.state.postgres`, several replicas that elect a leader through
it). `open_store` picks one from ``--state``. Every problem an operator can fix (a folder that does
not exist, a read-only file, a database that does not answer, a schema from a newer druid-sim) is a
`StoreError` whose message is one line naming the store and the fix.
"""

from __future__ import annotations

import hashlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from druid_sim.actions import RESET, SCENARIO, SHUTDOWN_ALL, SUBMIT, Action
from druid_sim.clock import wall_clock_ms
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
#: How big each part of a snapshot is written (bytes): each part is its own short transaction, so the
#: server's writes never wait long behind a snapshot being written.
SNAPSHOT_PART_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A complete snapshot as stored: the model after action ``seq`` of the log that began at ``epoch``."""

    seq: int
    epoch: int
    data: bytes


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

    def first_seq(self) -> int:
        """The seq of the oldest action kept (everything before the last reset is gone); 0 for an empty log."""
        return 0

    def save_snapshot(self, seq: int, epoch: int, data: bytes, part_bytes: int = SNAPSHOT_PART_BYTES) -> bool:
        """Keep a snapshot of the model after action ``seq``; False when the log moved past it (a reset)."""
        return False

    def latest_snapshot(self) -> Snapshot | None:
        """The newest complete snapshot of the log as it stands now, or None."""
        return None

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
            statements = (
                create_statements(self.dialect) if version is None else migration_statements(version, self.dialect)
            )
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
                cursor.execute(self.sql("DELETE FROM druid_sim_snapshots WHERE seq < ?"), (seq,))
            elif action.kind == SHUTDOWN_ALL:
                cursor.execute(
                    self.sql("UPDATE druid_tasks SET active = ? WHERE datasource = ? AND active = ?"),
                    (False, action.arg("dataSource"), True),
                )
        return seq

    def read_bulk(self, cursor: Any, statement: str, parameters: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """The rows of a read of many rows or large values (``?`` placeholders), with ``cursor``."""
        cursor.execute(self.sql(statement), parameters)
        return list(cursor.fetchall())

    def actions_after(self, seq: int) -> list[Stored]:
        with self.transaction() as cursor:
            return self.fetch_actions(cursor, seq)

    def fetch_actions(self, cursor: Any, seq: int) -> list[Stored]:
        """The actions after ``seq``, in order, read with ``cursor``."""
        rows = self.read_bulk(
            cursor,
            "SELECT seq, kind, at_ms, clock_ms, wall_ms, scale, task_id, args FROM druid_sim_actions "
            "WHERE seq > ? ORDER BY seq",
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
            for row in rows
        ]

    # -- snapshots --------------------------------------------------------------------------------------

    def first_seq(self) -> int:
        with self.transaction() as cursor:
            cursor.execute("SELECT MIN(seq) FROM druid_sim_actions")
            row = cursor.fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def save_snapshot(self, seq: int, epoch: int, data: bytes, part_bytes: int = SNAPSHOT_PART_BYTES) -> bool:
        """Write the parts, each in its own transaction, then the row that makes the snapshot complete.

        Atomic and durable: a snapshot whose writer died part-way has no row, so it is never read (its
        parts are cleared by the next one). Only the newest complete snapshot is kept.
        """
        parts = [data[start : start + part_bytes] for start in range(0, len(data), part_bytes)] or [b""]
        with self.transaction() as cursor:
            cursor.execute(self.sql("DELETE FROM druid_sim_snapshot_parts WHERE snapshot_seq = ?"), (seq,))
        for number, part in enumerate(parts):
            with self.transaction() as cursor:
                cursor.execute(
                    self.sql("INSERT INTO druid_sim_snapshot_parts (snapshot_seq, part, data) VALUES (?, ?, ?)"),
                    (seq, number, part),
                )
        with self.transaction() as cursor:
            # Complete only while the log still holds the action it follows (no reset dropped it meanwhile).
            cursor.execute(
                self.sql(
                    "INSERT INTO druid_sim_snapshots (seq, epoch, parts, size, digest, wall_ms) "
                    "SELECT CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS INTEGER), CAST(? AS BIGINT), "
                    "CAST(? AS VARCHAR(64)), CAST(? AS BIGINT) "
                    "WHERE EXISTS (SELECT 1 FROM druid_sim_actions WHERE seq = ?) "
                    "ON CONFLICT (seq) DO NOTHING"
                ),
                (seq, epoch, len(parts), len(data), hashlib.sha256(data).hexdigest(), wall_clock_ms(), seq),
            )
            saved = bool(cursor.rowcount == 1)
            if saved:
                cursor.execute(self.sql("DELETE FROM druid_sim_snapshots WHERE seq < ?"), (seq,))
        with self.transaction() as cursor:  # the parts of older snapshots (and of this one, if it came too late)
            cursor.execute(
                self.sql(
                    f"DELETE FROM druid_sim_snapshot_parts WHERE snapshot_seq {'<' if saved else '<='} ? "
                    "AND snapshot_seq NOT IN (SELECT seq FROM druid_sim_snapshots)"
                ),
                (seq,),
            )
        return saved

    def latest_snapshot(self) -> Snapshot | None:
        """The newest complete snapshot whose log still stands (its epoch is the oldest action kept)."""
        with self.transaction() as cursor:
            cursor.execute("SELECT MIN(seq) FROM druid_sim_actions")
            row = cursor.fetchone()
            first = int(row[0]) if row and row[0] is not None else 0
            cursor.execute("SELECT seq, epoch, parts, size, digest FROM druid_sim_snapshots ORDER BY seq DESC LIMIT 1")
            found = cursor.fetchone()
            if found is None:
                return None
            seq, epoch, parts, size, digest = int(found[0]), int(found[1]), int(found[2]), int(found[3]), found[4]
            if epoch != first:
                logger.warning("the snapshot at action %d belongs to a log since reset: not used", seq)
                return None
            rows = self.read_bulk(
                cursor, "SELECT part, data FROM druid_sim_snapshot_parts WHERE snapshot_seq = ? ORDER BY part", (seq,)
            )
        data = b"".join(bytes(part) for _, part in rows)
        if [int(number) for number, _ in rows] != list(range(parts)) or len(data) != size:
            logger.warning("the snapshot at action %d is incomplete in the store: not used", seq)
            return None
        if hashlib.sha256(data).hexdigest() != digest:
            logger.warning("the snapshot at action %d does not match its digest: not used", seq)
            return None
        return Snapshot(seq, epoch, data)


def open_store(location: str, follower: bool = False) -> Store:
    """The store ``--state`` names: a ``postgresql://`` URL, else an SQLite file path. Raises `StoreError`.

    ``follower``: opened beside the server that holds it (its snapshotter), so an SQLite file is not locked.
    """
    if location.startswith(("postgresql://", "postgres://")):
        from druid_sim.state.postgres import PostgresStore

        return PostgresStore(location)
    from druid_sim.state.sqlite import SqliteStore

    return SqliteStore(location, lock=not follower)

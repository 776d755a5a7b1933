"""The embedded store: one SQLite file (standard library), WAL mode, one server at a time.

WAL lets readers and the writer work side by side. Each change is committed before its answer is sent,
with ``synchronous=NORMAL``: a committed change survives the process dying in any way (SIGKILL, a crash,
an OOM kill), which is what a simulator's state must survive; only a power cut of the machine may lose
the last changes (``FULL`` would fsync every commit and cost ~5 ms per submission on an ordinary disk,
a ceiling of ~200 submissions per second). Only one ``serve`` may use a file: an exclusive ``flock`` on it,
released by the kernel whatever way the process ends, turns a second one away with a clear message
(several servers sharing state is what the PostgreSQL store is for).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from druid_sim.state.store import SqlStore, StoreError


class SqliteStore(SqlStore):
    """The state in the SQLite file at ``path`` (created when missing)."""

    dialect = "sqlite"
    mark = "?"

    def __init__(self, path: str, lock: bool = True) -> None:
        """``lock`` False: a follower inside the server that holds the file (its snapshotter) takes no lock."""
        self.location = path
        self._path = Path(path)
        folder = self._path.parent
        if not folder.is_dir():
            raise StoreError(f"cannot open the state store {path}: the folder {folder} does not exist; create it first")
        self._lock = self._take_lock() if lock else -1
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self.prepare()
        except sqlite3.DatabaseError as exc:
            self.close()
            raise StoreError(self.explain(exc)) from None
        except StoreError:
            self.close()
            raise

    def _take_lock(self) -> int:
        try:
            descriptor = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        except PermissionError:
            raise StoreError(
                f"cannot write the state store {self.location} (permission denied): make it and its folder "
                "writable by this user, or give another --state"
            ) from None
        except OSError as exc:
            raise StoreError(
                f"cannot open the state store {self.location} ({exc.strerror}): give another --state"
            ) from None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            raise StoreError(
                f"the state store {self.location} is in use by another druid-sim serve: stop that one, or give "
                "another --state (replicas sharing state need --state postgresql://...)"
            ) from None
        return descriptor

    def explain(self, exc: sqlite3.DatabaseError) -> str:
        """One line for an SQLite error: what happened to which file, and the fix."""
        text = str(exc)
        if "readonly" in text or "read-only" in text:
            return (
                f"cannot write the state store {self.location} (read-only): make the file and its folder writable "
                "by this user, or give another --state"
            )
        if "not a database" in text or "malformed" in text:
            return f"the state store {self.location} is not a druid-sim SQLite store ({text}): give another --state"
        return f"the state store {self.location} cannot be used ({text}): check the file, or give another --state"

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        try:
            cursor = self._db.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield cursor
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            raise StoreError(self.explain(exc)) from None

    def run(self, statement: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """One statement, committed on its own (the connection autocommits outside ``BEGIN``)."""
        try:
            return self._db.execute(statement, parameters).fetchall()
        except sqlite3.DatabaseError as exc:
            raise StoreError(self.explain(exc)) from None

    def close(self) -> None:
        db = getattr(self, "_db", None)
        if db is not None:
            db.close()
        if self._lock >= 0:
            os.close(self._lock)
            self._lock = -1

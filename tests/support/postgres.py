"""A real PostgreSQL server for the suite, from the machine's own binaries, in a temporary folder.

PostgreSQL refuses to run as root (CI runs as root), so when the suite is root the server runs as an
unprivileged user (``postgres`` when Debian's package made one, else ``nobody``), owning its folder. It
listens on a free loopback port with ``trust`` authentication and ``fsync=off`` (a throw-away server:
the tests kill druid-sim, never PostgreSQL). Where there is no PostgreSQL (``make postgresql`` installs
it as root) or no psycopg, `PostgresUnavailable` says why, and the tests that need it skip with that.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.live import free_socket

USER = "druid"


class PostgresUnavailable(Exception):
    """Why no PostgreSQL server can be run here."""


def _binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if found is None:
        raise PostgresUnavailable(f"no {name} on this machine (make postgresql installs Debian's postgresql as root)")
    return found


def _run_as() -> str | None:
    """The unprivileged user to run the server as when the suite is root (None: run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise PostgresUnavailable("the suite runs as root and there is no unprivileged user to run PostgreSQL as")


@dataclass
class Postgres:
    port: int
    _created: int = 0

    def url(self, database: str) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database; its URL."""
        import psycopg

        self._created += 1
        name = f"sim{os.getpid()}_{self._created}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as db:
            db.execute(f"CREATE DATABASE {name}")
        return self.url(name)


@contextmanager
def postgres_server() -> Iterator[Postgres]:
    """Start a throw-away PostgreSQL server; stop it (immediate mode) and remove its folder after."""
    try:
        import psycopg  # noqa: F401
    except ModuleNotFoundError:
        raise PostgresUnavailable("psycopg is not installed (pip install 'druid-sim[postgresql]')") from None
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    user = _run_as()
    folder = Path(tempfile.mkdtemp(prefix="druid-sim-pg-"))
    data, log = folder / "data", folder / "server.log"
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    with free_socket() as probe:  # a port for PostgreSQL to bind (it takes a number, not a socket)
        port = probe.getsockname()[1]
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"
    try:
        subprocess.run(
            [initdb, "-D", str(data), "-U", USER, "--auth=trust", "-E", "UTF8", "--no-sync"],
            user=user,
            check=True,
            capture_output=True,
            timeout=120,
        )
        started = subprocess.run(
            [pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start"],
            user=user,
            capture_output=True,
            timeout=90,
        )
        if started.returncode != 0:
            text = log.read_text(errors="replace") if log.exists() else started.stderr.decode(errors="replace")
            raise PostgresUnavailable(f"PostgreSQL did not start: {text.strip().splitlines()[-1:]}")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, PermissionError) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise PostgresUnavailable(f"PostgreSQL could not be set up here: {exc}") from None
    try:
        yield Postgres(port)
    finally:
        subprocess.run([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], user=user, capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)

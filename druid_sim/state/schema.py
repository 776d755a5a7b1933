"""The store's tables, created and migrated by druid-sim itself, with a version.

``druid_tasks`` follows Druid's own metadata table (``MetadataStorageTablesConfig``: id, created_date,
datasource, payload, status, active, plus the type and group_id columns Druid 0.23 added); the rest
is what the simulation needs: its settings (``druid_sim_meta``), the log of what clients did
(``druid_sim_actions``), the replay's sequence cursors (``druid_sim_cursors``: how far each recorded
sequence of a cassette was played, shared by the replicas replaying it), snapshots of the model
(``druid_sim_snapshots``, each written in parts to ``druid_sim_snapshot_parts`` and complete once its row
exists) and, on PostgreSQL, the leader's lease (``druid_sim_leader``).

`SCHEMA_VERSION` goes up by one with every change, and `MIGRATIONS` holds the statements that take a
store from each version to the next, so an older store is brought up to date when it is opened and a
newer one is refused (this druid-sim cannot know what it means).
"""

from __future__ import annotations

SCHEMA_VERSION = 3

#: Per dialect ("sqlite", "postgresql"): the statements that create the current schema.
_TYPES = {
    "sqlite": {"blob": "BLOB", "serial": "INTEGER PRIMARY KEY", "float": "REAL"},
    "postgresql": {"blob": "BYTEA", "serial": "BIGSERIAL PRIMARY KEY", "float": "DOUBLE PRECISION"},
}
#: The replay's cursors (`druid_sim.state.cursors`): per cassette (its identity, a SHA-256 in hex) and
#: sequence (the slot its index gives it), how many times the sequence was played.
_CURSORS = (
    "CREATE TABLE IF NOT EXISTS druid_sim_cursors ("
    " cassette VARCHAR(64) NOT NULL, slot BIGINT NOT NULL, pos BIGINT NOT NULL, PRIMARY KEY (cassette, slot))"
)
_CREATE = [
    "CREATE TABLE IF NOT EXISTS druid_sim_meta (name VARCHAR(255) PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS druid_tasks ("
    " id VARCHAR(255) PRIMARY KEY,"
    " created_date VARCHAR(255) NOT NULL,"
    " datasource VARCHAR(255) NOT NULL,"
    " payload {blob} NOT NULL,"
    " status {blob} NOT NULL,"
    " active BOOLEAN NOT NULL DEFAULT FALSE,"
    " type VARCHAR(255),"
    " group_id VARCHAR(255))",
    "CREATE INDEX IF NOT EXISTS idx_druid_tasks_active_created_date ON druid_tasks (active, created_date)",
    "CREATE TABLE IF NOT EXISTS druid_sim_actions ("
    " seq {serial},"
    " kind VARCHAR(32) NOT NULL,"
    " at_ms BIGINT NOT NULL,"
    " clock_ms BIGINT NOT NULL,"
    " wall_ms BIGINT NOT NULL,"
    " scale {float} NOT NULL,"
    " task_id VARCHAR(255),"
    " args {blob} NOT NULL)",
    _CURSORS,
]
#: Version 3: snapshots of the model (`druid_sim.state.snapshot`).
_SNAPSHOTS = [
    "CREATE TABLE IF NOT EXISTS druid_sim_snapshot_parts ("
    " snapshot_seq BIGINT NOT NULL, part INTEGER NOT NULL, data {blob} NOT NULL, PRIMARY KEY (snapshot_seq, part))",
    "CREATE TABLE IF NOT EXISTS druid_sim_snapshots ("
    " seq BIGINT PRIMARY KEY, epoch BIGINT NOT NULL, parts INTEGER NOT NULL, size BIGINT NOT NULL,"
    " digest VARCHAR(64) NOT NULL, wall_ms BIGINT NOT NULL)",
]
_CREATE_POSTGRESQL = [
    "CREATE TABLE IF NOT EXISTS druid_sim_leader ("
    " id INTEGER PRIMARY KEY, holder VARCHAR(255) NOT NULL, url TEXT NOT NULL, expires_at TIMESTAMPTZ NOT NULL)",
]
#: version -> the statements that take a store from that version to the next one.
MIGRATIONS: dict[int, dict[str, list[str]]] = {
    1: {dialect: [_CURSORS] for dialect in _TYPES},  # 2: replay's sequence cursors, shared by replicas
    2: {dialect: [statement.format(**types) for statement in _SNAPSHOTS] for dialect, types in _TYPES.items()},
}


def create_statements(dialect: str) -> list[str]:
    """The statements that create the current schema in ``dialect``."""
    types = _TYPES[dialect]
    statements = [statement.format(**types) for statement in _CREATE + _SNAPSHOTS]
    return statements + (_CREATE_POSTGRESQL if dialect == "postgresql" else [])


def migration_statements(version: int, dialect: str) -> list[str]:
    """The statements that take a store at ``version`` to `SCHEMA_VERSION` in ``dialect``, in order."""
    return [statement for step in range(version, SCHEMA_VERSION) for statement in MIGRATIONS[step][dialect]]

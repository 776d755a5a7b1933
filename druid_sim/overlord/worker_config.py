"""The Overlord's dynamic worker config and its audit history, and enabling or disabling MiddleManagers.

``POST /druid/indexer/v1/worker`` stores a ``WorkerBehaviorConfig`` under the key ``worker.config`` and
audits it (``JacksonConfigManager.set``); ``GET /worker`` serves the stored config (none until the first
POST), ``GET /worker/history`` the audit entries (reference 18). The strategy it names decides from
that moment which MiddleManager each task not yet running gets (`druid_sim.overlord.worker_select`).
A disabled MiddleManager keeps what it runs and gets nothing new until enabled.

Lives with the Overlord it belongs to (``overlord.extras``), so a reset forgets it. No HTTP here: the
Druid face (`druid_sim.druid.worker_resource`) reads bodies and writes answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from druid_sim.overlord.overlord import Overlord
from druid_sim.overlord.worker_select import WorkerSelect

EXTRA = "worker_config"
#: ``WorkerBehaviorConfig.CONFIG_KEY``: the audit entries' ``key`` and ``type``.
CONFIG_KEY = "worker.config"
#: ``druid.audit.manager.auditHistoryMillis``'s default: the history an interval-less request reads.
AUDIT_HISTORY_MS = 7 * 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One ``AuditEntry`` of the worker config: who changed it, when, and the config as serialized."""

    at_ms: int
    author: str
    identity: str | None
    comment: str
    ip: str
    payload: str


@dataclass(slots=True)
class WorkerConfig:
    """The stored config (its JSON as Druid serves it, None before the first POST) and its audit trail."""

    served: bytes | None = None
    history: list[AuditEntry] = field(default_factory=list)

    def between(self, start_ms: int, end_ms: int) -> list[AuditEntry]:
        """Entries audited in ``[start_ms, end_ms]``, oldest first (``created_date between ... ORDER BY``)."""
        return [entry for entry in self.history if start_ms <= entry.at_ms <= end_ms]

    def latest(self, count: int) -> list[AuditEntry]:
        """The ``count`` newest entries, newest first (``ORDER BY created_date DESC`` with a row limit)."""
        newest = sorted(range(len(self.history)), key=lambda index: (self.history[index].at_ms, index), reverse=True)
        return [self.history[index] for index in newest[:count]]


def worker_config_of(overlord: Overlord) -> WorkerConfig:
    found = overlord.extras.get(EXTRA)
    if not isinstance(found, WorkerConfig):
        found = overlord.extras[EXTRA] = WorkerConfig()
    return found


def set_worker_config(overlord: Overlord, served: bytes, select: WorkerSelect, audit: AuditEntry) -> None:
    """Audit, store and apply a posted config: tasks not yet running are placed under its strategy."""
    config = worker_config_of(overlord)
    config.history.append(audit)
    config.served = served
    overlord.configure_workers(select=select)


def set_enabled(overlord: Overlord, host_index: int, enabled: bool) -> bool:
    """Enable or disable ``overlord.workers.hosts[host_index]``; False when it already was so (no change)."""
    pool = overlord.workers
    if (host_index not in pool.disabled) == enabled:
        return False
    disabled = pool.disabled - {host_index} if enabled else pool.disabled | {host_index}
    overlord.configure_workers(disabled=frozenset(disabled))
    return True

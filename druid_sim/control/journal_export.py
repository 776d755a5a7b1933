"""The journal saved as a cassette: what a running server answered (simulated, replayed or spied), replayable.

WireMock's snapshot of its request journal: a demo session, or a client exploring a simulated
cluster, becomes a deterministic replay (``druid-sim journal --save FILE``, ``GET
/__sim/journal/cassette``, the dashboard's Traffic view). Each exported exchange is redacted exactly as
``druid-sim record`` redacts (built-in rules, then the writer's last pass over each line), with the
replayed cassette's own salt when there is one, so its placeholders and the exported ones agree; a
fresh salt otherwise. Times are virtual: ``recorded_at`` is the first exported request's virtual time
and each ``at`` is counted from it, so the same session exports the same file.

Left out, and counted in `Exported.skipped` by reason: requests a fault answered (a replay arms its
faults again; the cluster never sent those answers; a request a latency fault only delayed is kept), the dashboard's own requests, exchanges the
journal no longer holds (past its byte budget or size) and ones never answered in full (a connection
reset, a body past `EXCHANGE_BODY_LIMIT`, such as a long task log).
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from druid_sim.cassette import CassetteWriter, RecordMode, Redactor, new_meta, new_salt
from druid_sim.cassette.raw import interaction_from_raw
from druid_sim.clock import format_instant
from druid_sim.journal import Exchange, JournalEntry

#: The client name the dashboard gives its requests: never part of an export.
DASHBOARD_CLIENT = "druid-sim-dashboard"


@dataclass(frozen=True, slots=True)
class Exported:
    """A cassette made of journal entries: its bytes, how many exchanges it holds, what was left out."""

    cassette: bytes
    exported: int
    skipped: dict[str, int]


def skip_reason(entry: JournalEntry, exchange: Exchange | None) -> str | None:
    """Why ``entry`` (whose exchange, read once, is ``exchange``) is not exported, or None."""
    if entry.client_name == DASHBOARD_CLIENT:
        return "dashboard"
    if entry.answered_by == "fault":
        return "fault"
    if exchange is None or entry.status is None:
        return "not held"
    return None


def export_cassette(entries: list[JournalEntry], source: str, redactor: Redactor | None = None) -> Exported:
    """The cassette of ``entries`` (oldest first) as bytes; ``source`` goes into its header's ``upstream``.

    Pure work on finished exchanges (about 0.2 ms each), so the control API runs it in a worker thread:
    10,000 of them take about 2 s, which the event loop must not wait for. ``redactor`` must be this
    export's own (`Redactor.same_key`), never one a replay uses on the event loop at the same time.
    """
    redactor = redactor or Redactor(new_salt())
    skipped: Counter[str] = Counter()
    kept: list[tuple[JournalEntry, Exchange]] = []
    for entry in entries:
        exchange = entry.exchange  # read once: the journal may let go of it meanwhile (this runs in a thread)
        reason = skip_reason(entry, exchange)
        if reason is None and exchange is not None:
            kept.append((entry, exchange))
        else:
            skipped[reason or "not held"] += 1
    start_ms = kept[0][0].time_ms if kept else 0
    meta = replace(new_meta(source, redactor.redaction), recorded_at=format_instant(start_ms))
    with tempfile.TemporaryDirectory(prefix="druid-sim-export-") as folder:
        path = Path(folder) / "journal.jsonl"
        with CassetteWriter.open(path, RecordMode.OVERWRITE, meta, line_filter=redactor.scrub_line) as writer:
            for entry, exchange in kept:
                interaction = interaction_from_raw(
                    entry.method,
                    exchange.raw_path,
                    entry.query,
                    exchange.request_headers,
                    b"".join(exchange.request_body),
                    entry.status or 0,
                    exchange.response_headers,
                    b"".join(exchange.response_body),
                    at=(entry.time_ms - start_ms) / 1000.0,
                )
                writer.append(redactor.redact_interaction(interaction))
        data = path.read_bytes()
    return Exported(data, len(kept), dict(skipped))

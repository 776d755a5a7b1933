"""Spy mode's recording: what ``serve --on-miss forward --record-new`` forwards is appended to the cassette.

WireMock calls it recording while proxying, Hoverfly spy mode with capture: the cassette answers what
it has, the real cluster the rest, and each forwarded exchange is appended as it finishes, redacted
exactly as ``druid-sim record`` redacts (the cassette's own rules and salt, `recording_redactor`, then
the writer's last pass over the line), so old and new placeholders agree and the file passes
``druid-sim cassette check``. The writer holds the cassette's lock while the server runs, so a
recorder pointed at the same file is refused rather than interleaving lines.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from druid_sim.cassette import CassetteWriter, RecordMode, RedactionRules, Redactor, new_meta, new_salt
from druid_sim.cassette.raw import interaction_from_raw
from druid_sim.cassette.redact import recording_redactor
from druid_sim.cassette.writer import existing_meta

logger = logging.getLogger("druid_sim.replay")

#: How many forwarded exchanges the control API lists (the newest).
FORWARDED_HISTORY = 200


@dataclass(frozen=True, slots=True)
class Forwarded:
    """One exchange the upstream answered, as the forwarder saw it (raw, secrets included: never kept)."""

    method: str
    raw_path: bytes
    query: bytes
    request_headers: list[tuple[bytes, bytes]]
    request_body: bytes
    status: int
    response_headers: list[tuple[bytes, bytes]]
    response_body: bytes
    elapsed_ms: float


class ForwardLog:
    """What was forwarded (shown by the dashboard and ``/__sim/cassette``), and with ``--record-new``
    the cassette it is appended to."""

    def __init__(self, upstream: str, cassette: str | Path | None = None, redaction_key: str | None = None) -> None:
        """``cassette``: append to it (``--record-new``); raises `CassetteError`, `RuleError` (a cassette
        recorded without redaction), `RedactionKeyError` or OSError, before anything is served."""
        self.count = 0
        self.recorded = 0
        self.recent: deque[dict[str, Any]] = deque(maxlen=FORWARDED_HISTORY)
        self._writer: CassetteWriter | None = None
        #: True with ``--record-new`` (still after `close`, for the summary).
        self.record_new = cassette is not None
        self._redactor = Redactor(new_salt())  # what the list shows is redacted too
        if cassette is not None:
            existing = existing_meta(cassette, RecordMode.APPEND)
            self._redactor = recording_redactor(RedactionRules(), existing, redaction_key)
            meta = existing or new_meta(upstream, self._redactor.redaction)
            self._writer = CassetteWriter.open(cassette, RecordMode.APPEND, meta, self._redactor.scrub_line)

    @property
    def recording(self) -> bool:
        return self._writer is not None

    def forwarded(self, exchange: Forwarded) -> None:
        """Note one forwarded exchange (its redacted target only) and append it to the cassette if recording."""
        self.count += 1
        at = 0.0 if self._writer is None else self._writer.at(time.time())
        interaction = interaction_from_raw(
            exchange.method,
            exchange.raw_path,
            exchange.query,
            exchange.request_headers,
            exchange.request_body,
            exchange.status,
            exchange.response_headers,
            exchange.response_body,
            elapsed_ms=exchange.elapsed_ms,
            at=at,
        )
        recorded = False
        if self._writer is not None:
            try:
                self._writer.append(self._redactor.redact_interaction(interaction))
                self.recorded += 1
                recorded = True
            except OSError as exc:
                logger.error("cannot append to %s: %s; the exchange was answered, not recorded", self._writer.path, exc)
        request = interaction.request
        query = "&".join(f"{k}={v}" for k, v in self._redactor.redact_query(request.query))
        self.recent.append(
            {
                "method": request.method,
                "path": request.path,
                "query": query,
                "status": exchange.status,
                "elapsedMs": round(exchange.elapsed_ms, 1),
                "recorded": recorded,
            }
        )

    def describe(self) -> dict[str, Any]:
        return {"forwarded": self.count, "recorded": self.recorded, "recordNew": self.record_new}

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

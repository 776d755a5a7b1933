"""Keeping credentials out of what the server keeps and prints: the journal and the access log.

A client's query string can carry a secret (``?password=...``, a signed URL's ``X-Amz-Signature``). The
journal and the access log write it with the recorder's own rules (`Redactor.redact_query_string`): with
the replayed cassette's redactor, so a placeholder in the log is the one in the cassette, or, with no
cassette, one with the built-in rules and a salt made for this server. A query string with no hint of a
credential (``state=running&max=5``) costs one scan, and a repeated one a dictionary lookup.

The journal also keeps the headers and the start of the bodies of its newest requests, as they came; they
are redacted by the same redactor when someone reads them (`LogRedaction.headers`, `LogRedaction.body`),
never on the request's path.
"""

from __future__ import annotations

import orjson

from druid_sim.cassette import Redactor, new_salt
from druid_sim.runtime import Simulation

#: The key of the simulation's `LogRedaction` in ``Simulation.extensions``.
EXTENSION = "log_redaction"
#: Raw query strings remembered with their redacted form (a poller sends the same few again and again).
_MEMO_LIMIT = 1024


class LogRedaction:
    """Redacts raw query strings for the journal and the access log."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        self._redactor = redactor or Redactor(new_salt(), remember=0)
        self._memo: dict[bytes, bytes] = {}

    def use(self, redactor: Redactor | None) -> None:
        """Redact with ``redactor`` from now on (a cassette's), or with a fresh built-in one (None)."""
        self._redactor = redactor or Redactor(new_salt(), remember=0)
        self._memo.clear()

    def query(self, raw: bytes) -> bytes:
        """``raw`` with credential values replaced by placeholders."""
        if not raw:
            return raw
        done = self._memo.get(raw)
        if done is None:
            text = raw.decode("latin-1")
            redacted = self._redactor.redact_query_string(text)
            done = raw if redacted == text else redacted.encode("latin-1", "replace")
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            self._memo[raw] = done
        return done

    def headers(self, raw: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
        """Headers as text with credentials replaced (``Authorization: Basic <redacted:…>``, cookie values)."""
        pairs = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in raw]
        return self._redactor.redact_headers(pairs)

    def body(self, raw: bytes, content_type: str) -> str:
        """A body (or its start) as text with credentials replaced: JSON by key and shape, text by pattern.

        A whole JSON document is shown indented; a cut one (only its start was kept) as text.
        """
        text = raw.decode("utf-8", "replace")
        if "json" in content_type or text.lstrip()[:1] in ("{", "["):
            try:
                value = orjson.loads(raw)
            except orjson.JSONDecodeError:
                return self._redactor.redact_text(text)
            redacted = self._redactor.redact_json(value)
            return orjson.dumps(redacted, option=orjson.OPT_INDENT_2).decode("utf-8")
        return self._redactor.redact_text(text)


def log_redaction(simulation: Simulation) -> LogRedaction:
    """The simulation's `LogRedaction`, created on first use."""
    redaction = simulation.extensions.get(EXTENSION)
    if redaction is None:
        redaction = simulation.extensions[EXTENSION] = LogRedaction()
    assert isinstance(redaction, LogRedaction)
    return redaction

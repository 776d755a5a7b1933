"""Recorded responses made ready to send: framing headers recomputed, body bytes encoded once.

Cassettes store bodies decoded, so Content-Encoding, Content-Length and Transfer-Encoding from the
upstream no longer describe them; hop-by-hop headers (Connection, Keep-Alive, ...) belonged to the
upstream's connection, not to ours. Those are dropped and Content-Length is set from the stored bytes,
unless the upstream streamed the body (task logs), which is replayed streamed the same way. ``Date`` is
left to the server, which writes the current one as any live Overlord would.

A body the recorder cut at ``--max-recorded-body`` is answered with the part it kept, a complete HTTP
answer of that length, plus an ``X-Druid-Sim-Truncated`` header saying how much the upstream had sent:
a client reading a task log gets its first lines, and a test that looks can tell.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from druid_sim.cassette import Interaction

#: Headers that are about one connection or about framing, never replayed as recorded.
DROPPED_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "content-length",
        "content-encoding",
        "date",
    }
)


#: The header a replayed answer carries when the recorder kept only the start of its body.
TRUNCATED_HEADER = b"x-druid-sim-truncated"


def truncated_note(kept: int, size: int) -> str:
    """The ``X-Druid-Sim-Truncated`` value: how much of how much, and why."""
    return f"{kept} of {size} bytes: the recorder kept only the start of this body (--max-recorded-body)"


def _latin1(value: str) -> bytes:
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


@dataclass(slots=True)
class Answer:
    """One recorded response, ready for ASGI: status, header pairs, exact body bytes."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    chunked: bool
    elapsed_s: float
    interaction: int  # its position in the cassette's interactions

    @classmethod
    def from_interaction(cls, interaction: Interaction, position: int) -> Answer:
        response = interaction.response
        body = response.body.raw()
        headers = _replayed_headers(tuple(response.headers))
        if not response.chunked:
            headers += ((b"content-length", str(len(body)).encode("ascii")),)
        if response.body.truncated is not None:
            headers += ((TRUNCATED_HEADER, truncated_note(len(body), response.body.truncated).encode("ascii")),)
        return cls(response.status, headers, body, response.chunked, interaction.elapsed_ms / 1000.0, position)


@functools.lru_cache(maxsize=1024)
def _replayed_headers(recorded: tuple[tuple[str, str], ...]) -> tuple[tuple[bytes, bytes], ...]:
    """The recorded headers minus framing and hop-by-hop ones, as ASGI bytes (few distinct sets per cassette)."""
    return tuple(
        (name.lower().encode("latin-1"), _latin1(value))
        for name, value in recorded
        if name.lower() not in DROPPED_HEADERS
    )

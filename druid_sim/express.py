"""The express lane: a synchronous way through the middleware chain for answers that are already known.

Why it exists: at one connection, most of a replayed request's round trip is uvicorn's fixed per-request
ASGI machinery (a task, the scope, ``receive``/``send`` coroutines, header merging), not the replay
itself. A client polling a recorded ``GET`` gets bytes that are known before the request arrives, so
the HTTP protocol (`druid_sim.server.express_http`) asks the app, synchronously and from the parser's
callback, whether it can answer *right now*. Every layer of the chain takes part or says no:

* a layer that can answer returns the answer (the replay, for a recorded ``GET``);
* a layer that only watches (the journal, the access log) passes the question on and notes the answer;
* a layer that might change the answer (faults, a non-leader redirect, the model) says no by
  returning None, or by having no ``express`` method at all.

A None anywhere means the request goes the ordinary ASGI way, unchanged; so a layer must decide
before it changes any state (a replay cursor, the journal) whether it will answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(slots=True)
class ExpressRequest:
    """What the express lane knows about a request: the parts of an ASGI scope a layer may read."""

    method: str
    path: str  # decoded, as ``scope["path"]``
    raw_path: bytes
    query: bytes
    headers: list[tuple[bytes, bytes]]  # lower-case names, as in an ASGI scope
    client: tuple[str, int] | None
    #: Set by the layer that answers, as it would set ``scope[ANSWERED_BY]``.
    answered_by: str | None = None


class ExpressAnswer(Protocol):
    """A complete response, ready to write (`druid_sim.replay.answers.Answer` is one)."""

    @property
    def status(self) -> int: ...
    @property
    def headers(self) -> tuple[tuple[bytes, bytes], ...]: ...
    @property
    def body(self) -> bytes: ...
    @property
    def chunked(self) -> bool: ...


#: A layer's ``express`` method: the answer, or None to send the request the ASGI way.
Express = Callable[[ExpressRequest], ExpressAnswer | None]


def express_of(app: object) -> Express | None:
    """``app``'s express method, or None when it has none (the request then always goes the ASGI way)."""
    express: Express | None = getattr(app, "express", None)
    return express


__all__ = ["Express", "ExpressAnswer", "ExpressRequest", "express_of"]

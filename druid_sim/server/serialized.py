"""Writes one at a time across the worker processes of ``serve --workers N --state FILE``.

`SerializedWrites` sits right around the Druid handlers and the control API (inside faults, security
and the journal, so a latency fault never holds the lock). A request that may change the model (any
method but GET, HEAD and OPTIONS) has its body read first, outside the lock (a slow client holds
nothing), then runs with the worker's write lock (`druid_sim.state.shared.WorkerLedger.writing`): one
writer at a time in this process (an asyncio lock) and across processes (the fence's ``flock``).
`follow_first` makes every other request apply what other workers stored before it is answered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from druid_sim.actions import StoreUnavailable
from druid_sim.asgi import ASGIApp, Receive, Scope, Send, read_body, replaying
from druid_sim.express import ExpressAnswer, ExpressRequest, express_of
from druid_sim.state.shared import WorkerLedger

#: What answers a change when the store cannot take it: given the scope and why, an ASGI app.
Refusal = Callable[[Scope, str], ASGIApp]

_READS = frozenset({"GET", "HEAD", "OPTIONS"})


class SerializedWrites:
    """ASGI middleware: a changing request runs under the write lock, a read after catching up."""

    def __init__(self, app: ASGIApp, ledger: WorkerLedger, refuse: Refusal) -> None:
        self.app = app
        self.ledger = ledger
        self.refuse = refuse
        self._local = asyncio.Lock()
        self._inner = express_of(app)

    def express(self, request: ExpressRequest) -> ExpressAnswer | None:
        """A read answered from the parser's callback (`druid_sim.express`), after catching up as well."""
        if self._inner is None or request.method not in _READS:
            return None
        self.ledger.follow()
        return self._inner(request)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ledger = self.ledger
        if scope["type"] != "http" or scope["method"] in _READS:
            ledger.follow()
            await self.app(scope, receive, send)
            return
        replay = replaying(await read_body(receive), receive)

        async with self._local:
            try:
                with ledger.writing():
                    await self.app(scope, replay, send)
                return
            except StoreUnavailable as exc:  # before the handler ran: the store cannot be read or written
                refusal = self.refuse(scope, str(exc))
        await refusal(scope, replay, send)


__all__ = ["SerializedWrites"]

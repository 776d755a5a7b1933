"""The simulator's ASGI application: the control API under ``/__sim/``, Druid routes everywhere else.

Druid routes pass through a chain of plain ASGI middlewares (access log, then whatever extensions
install: journal, faults) before the Druid handlers. ``/__sim/`` never goes through that chain, so
faults can never break the control API. The dashboard (``GET /`` and ``/__sim/ui/``, see
`druid_sim.dashboard`) is dispatched first, when it is built.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from druid_sim.asgi import ASGIApp, Message, Middleware, Receive, Scope, Send
from druid_sim.druid.routes import DruidApp
from druid_sim.express import ExpressAnswer, ExpressRequest, express_of
from druid_sim.limits import ServerLimits
from druid_sim.logsafe import LogRedaction, log_redaction
from druid_sim.runtime import Simulation

access_logger = logging.getLogger("druid_sim.access")
CONTROL_PREFIX = "/__sim"


class Pages(Protocol):
    """An app that answers some requests before Druid's and the control API's (the dashboard)."""

    def serves(self, method: str, path: str) -> bool: ...

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None: ...


class ChainedPages:
    """Several `Pages` as one: the first that serves a request answers it (the dashboard, Druid's console)."""

    def __init__(self, *pages: Pages) -> None:
        self.pages = pages

    def serves(self, method: str, path: str) -> bool:
        return any(page.serves(method, path) for page in self.pages)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        for page in self.pages:
            if page.serves(scope["method"], scope["path"]):
                await page(scope, receive, send)
                return


class AccessLog:
    """One line per request: client, method, path and query (credentials replaced), status, real ms taken."""

    def __init__(self, app: ASGIApp, redaction: LogRedaction | None = None) -> None:
        self.app = app
        self._inner = express_of(app)
        self._redact_query = (redaction or LogRedaction()).query

    def express(self, request: ExpressRequest) -> ExpressAnswer | None:
        """Log an express answer (`druid_sim.express`) as the ASGI way would have."""
        if self._inner is None or any(name == b"x-forwarded-for" for name, _ in request.headers):
            return None  # uvicorn's proxy-headers middleware would rewrite the client: leave it the ASGI way
        started = time.perf_counter()
        answer = self._inner(request)
        if answer is not None:
            query = self._redact_query(request.query)
            _log_access(request.client, request.method, request.path, query, answer.status, started)
        return answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 0

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            query = self._redact_query(scope.get("query_string", b""))
            _log_access(scope.get("client"), scope["method"], scope["path"], query, status, started)


def _log_access(
    client: tuple[str, int] | None, method: str, path: str, query: bytes, status: int, started: float
) -> None:
    """The access log line: client, method, path and query, status, real milliseconds since ``started``."""
    target = path + ("?" + query.decode("latin-1") if query else "")
    elapsed = (time.perf_counter() - started) * 1000
    access_logger.info('%s "%s %s" %s %.1fms', (client or ("-", 0))[0], method, target, status or "-", elapsed)


class SimulatorApp:
    """Top-level dispatch by path prefix, plus the ASGI lifespan protocol."""

    def __init__(
        self,
        simulation: Simulation,
        control: ASGIApp | None = None,
        middlewares: list[Middleware] | None = None,
        access_log: bool = True,
        on_shutdown: Sequence[Callable[[], Awaitable[None]]] = (),
        pages: Pages | None = None,
    ) -> None:
        self.simulation = simulation
        self.control = control
        self.on_startup: list[Callable[[], Awaitable[None]]] = []  # awaited when the server starts (lifespan)
        self.on_shutdown = list(on_shutdown)  # awaited when the server stops (lifespan shutdown)
        self.pages = pages
        druid: ASGIApp = DruidApp(simulation)
        for middleware in middlewares or []:
            druid = middleware(druid)
        if access_log:
            druid = AccessLog(druid, log_redaction(simulation))
        self.druid = druid
        self._druid_express = express_of(druid)

    @property
    def server_limits(self) -> ServerLimits:
        """What the HTTP protocol enforces for this app (`druid_sim.server.guarded_http`): the configuration's."""
        return self.simulation.config.limits

    def express(self, request: ExpressRequest) -> ExpressAnswer | None:
        """The Druid chain's express answer (`druid_sim.express`); the control API never has one."""
        path = request.path
        if self._druid_express is None or path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            return None
        if self.pages is not None and self.pages.serves(request.method, path):
            return None
        return self._druid_express(request)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            path: str = scope["path"]
            pages = self.pages
            if (
                pages is not None
                and (path == "/" or path.startswith(CONTROL_PREFIX) or not path.startswith("/druid/"))
                and pages.serves(scope["method"], path)
            ):
                await pages(scope, receive, send)
                return
            if self.control is not None and (path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/")):
                await self.control(scope, receive, send)
                return
            await self.druid(scope, receive, send)
        elif kind == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    for start in self.on_startup:
                        await start()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    for close in self.on_shutdown:
                        await close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        else:  # websockets: Druid has none
            raise RuntimeError(f"unsupported ASGI scope type {kind!r}")

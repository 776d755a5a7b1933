"""A real uvicorn server in a daemon thread (long work off the event loop is `druid_sim.util.threads`).

`ThreadedServer` is used by the pytest plugin and the project's own tests: the server is the real stack,
on the settings ``druid-sim serve`` uses (`druid_sim.server.serving`: uvloop, httptools, the express lane, a real
socket), while the thread lets the test process hold the simulation and move its clock instead of
sleeping.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from typing import TypeVar

from druid_sim.asgi import ASGIApp
from druid_sim.server.serving import Loop, listening_socket, loop_factory, uvicorn_settings

T = TypeVar("T")


class ThreadedServer:
    """Serves ``app`` until :meth:`stop`; ``url`` is where, ``call`` runs code on its event loop.

    ``loop`` is uvloop, as ``serve`` runs; ``"asyncio"`` runs the standard loop instead. ``http`` replaces
    uvicorn's protocol setting (ours by default).
    """

    def __init__(
        self,
        app: ASGIApp,
        sock: socket.socket | None = None,
        name: str = "druid-sim",
        loop: Loop = "uvloop",
        http: str | None = None,
    ) -> None:
        import uvicorn

        self._socket = sock or listening_socket()
        self.port: int = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._loop_factory = loop_factory(loop)
        settings = uvicorn_settings(loop)
        if http is not None:
            settings["http"] = http
        self._server = uvicorn.Server(uvicorn.Config(app, **settings))
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._serve, name=f"{name} {self.url}", daemon=True)
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"the {name} server on {self.url} failed to start; see the log above")
            threading.Event().wait(0.002)

    def _serve(self) -> None:
        async def serve() -> None:
            self.loop = asyncio.get_running_loop()
            await self._server.serve(sockets=[self._socket])

        with asyncio.Runner(loop_factory=self._loop_factory) as runner:
            runner.run(serve())

    def call(self, function: Callable[[], T]) -> T:
        """Run ``function`` on the server's event loop (the model is not thread-safe) and return its result."""
        assert self.loop is not None

        async def run() -> T:
            return function()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=30)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


__all__ = ["ThreadedServer", "listening_socket"]

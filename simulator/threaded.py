"""Threads: a real uvicorn server in a daemon thread, and long work off the event loop in another.

`ThreadedServer` is used by the pytest plugin and the project's own tests: the server is the real stack
(uvicorn with httptools, a real socket), while the thread lets the test process hold the simulation and
move its clock instead of sleeping. `in_daemon_thread` runs a long computation (loading a cassette) while
the event loop goes on serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import socket
import threading
from collections.abc import Callable
from typing import TypeVar

from simulator.asgi import ASGIApp
from simulator.express_check import http_protocol

T = TypeVar("T")


def listening_socket(host: str = "127.0.0.1") -> socket.socket:
    """A socket bound to a free port on ``host`` and listening, with TCP_NODELAY set.

    Accepted connections inherit TCP_NODELAY from the listening socket (Linux); asyncio does not set it
    on sockets handed to uvicorn, and without it every response waits ~40 ms for Nagle's algorithm to
    meet the client's delayed ACK.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, 0))
    sock.listen(128)
    return sock


class ThreadedServer:
    """Serves ``app`` until :meth:`stop`; ``url`` is where, ``call`` runs code on its event loop."""

    def __init__(
        self, app: ASGIApp, sock: socket.socket | None = None, name: str = "druid-sim", http: str | None = None
    ) -> None:
        import uvicorn

        self._socket = sock or listening_socket()
        self.port: int = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(
            uvicorn.Config(
                app,
                http=http or http_protocol(),  # uvicorn's protocol setting; ours by default
                loop="asyncio",
                log_level="warning",
                lifespan="on",
                server_header=False,
                access_log=False,
            )
        )
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

        asyncio.run(serve())

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


async def in_daemon_thread(function: Callable[[], T], name: str = "druid-sim worker") -> T:
    """``function()`` run in a new daemon thread (with the caller's context variables), awaited on the loop.

    Not ``asyncio.to_thread`` nor anyio's pool: their threads are not daemons, so a server stopped in the
    middle of a long load would wait for it at exit (asyncio.run joins the default executor), while a
    daemon thread ends with the process (`simulator.stopping`).
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    context = contextvars.copy_context()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():  # the caller was cancelled meanwhile
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        try:
            result, error = context.run(function), None
        except BaseException as exc:
            result, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is waiting any more
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name=name, daemon=True).start()
    return await future

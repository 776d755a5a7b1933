"""Long work off the event loop, in a daemon thread: the loop goes on serving while a cassette loads."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


async def in_daemon_thread(function: Callable[[], T], name: str = "druid-sim worker") -> T:
    """``function()`` run in a new daemon thread (with the caller's context variables), awaited on the loop.

    Not ``asyncio.to_thread`` nor anyio's pool: their threads are not daemons, so a server stopped in the
    middle of a long load would wait for it at exit (asyncio.run joins the default executor), while a
    daemon thread ends with the process (`druid_sim.server.stopping`).
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


__all__ = ["in_daemon_thread"]

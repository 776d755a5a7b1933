"""How druid-sim runs uvicorn: one set of server settings for ``serve``, the test servers and the pytest plugin.

Tests must run on the stack users run, so the in-thread servers (`simulator.threaded`) take their
settings from here too: uvloop and httptools with the express lane, exactly as ``druid-sim serve``.
The asyncio loop stays available (``uvicorn_settings("asyncio")``) for code that must work on both,
such as the faults, whose tests run on each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Literal

#: The event loops druid-sim supports: ``serve`` runs uvloop; asyncio is what plain uvicorn falls back to.
Loop = Literal["uvloop", "asyncio"]
LOOPS: tuple[Loop, ...] = ("uvloop", "asyncio")

#: uvicorn's ``http`` setting: httptools with the server limits (`simulator.guarded_http`) and the express
#: lane (`simulator.express_http`); by import path, so uvicorn loads it in every worker.
HTTP_PROTOCOL = "simulator.guarded_http:ServerHttpProtocol"

#: How every ``serve`` runs uvicorn: uvloop and httptools (about twice the default stack here) with the
#: limits and the express lane (`HTTP_PROTOCOL`), no access log of its own (ours is one line per
#: request, cheaper) and no websockets (Druid has none; skipping them saves ~30 ms of start-up).
UVICORN_SETTINGS: dict[str, Any] = {
    "loop": "uvloop",
    "http": HTTP_PROTOCOL,
    "access_log": False,
    "server_header": False,
    "log_level": "warning",
    "lifespan": "on",
    "ws": "none",
}


def uvicorn_settings(loop: Loop = "uvloop") -> dict[str, Any]:
    """`UVICORN_SETTINGS`, on ``loop``."""
    return {**UVICORN_SETTINGS, "loop": loop}


def loop_factory(loop: Loop = "uvloop") -> Callable[[], asyncio.AbstractEventLoop]:
    """What makes a new event loop of kind ``loop``, for servers started outside ``uvicorn.run``."""
    if loop == "uvloop":
        import uvloop

        new_loop: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
        return new_loop
    return asyncio.new_event_loop


__all__ = ["HTTP_PROTOCOL", "LOOPS", "UVICORN_SETTINGS", "Loop", "loop_factory", "uvicorn_settings"]

"""Reaching the TCP connection under an ASGI request, to reset or close it the way a broken server does.

ASGI has no standard way to close a connection abruptly, and uvicorn does not put its transport in
the scope. Its request cycle owns both ``send`` and ``transport``, so the transport is found from
the ``send`` callable (through the closures of the middlewares that wrap it) or, failing that, from
the ASGI task's coroutine (``RequestResponseCycle.run_asgi``'s ``self``).

A transport is recognised by what it can do, not by its class: uvloop's ``TCPTransport`` (what
``druid-sim serve`` runs) is not an ``asyncio.BaseTransport`` subclass, only asyncio's own are.

This leans on uvicorn's insides, so it is checked once at start-up (:func:`connection_reachable`, asked
by ``druid_sim.server.serving`` as the express lane's check is): when the request cycle no longer keeps
its transport where this looks, one WARNING says what differs and the ``reset`` and ``empty`` faults
fall back to the one break plain ASGI allows (``druid_sim.faults.answers.unfinished_response``) rather
than quietly answering 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import logging
import socket
import struct
from typing import Any, Protocol, TypeGuard

from druid_sim.asgi import Send
from druid_sim.util.introspect import stored_attributes

logger = logging.getLogger(__name__)

_MAX_DEPTH = 12
#: uvicorn's HTTP protocol modules whose request cycle the lookup walks into (httptools is ``serve``'s).
CYCLE_MODULES = ("uvicorn.protocols.http.httptools_impl", "uvicorn.protocols.http.h11_impl")
#: What the lookup needs of ``RequestResponseCycle``: ``send`` bound to the cycle (found through the
#: middlewares' closures), ``run_asgi`` (the ASGI task's coroutine, the other way in), ``self.transport``.
CYCLE_METHODS = ("send", "run_asgi")
CYCLE_ATTRIBUTES = ("transport",)


class Transport(Protocol):
    """What the faults need of a transport; asyncio's and uvloop's both have it."""

    def get_extra_info(self, name: str, default: Any = None) -> Any: ...
    def is_closing(self) -> bool: ...
    def close(self) -> None: ...


def _is_transport(candidate: Any) -> TypeGuard[Transport]:
    return all(callable(getattr(candidate, name, None)) for name in ("get_extra_info", "is_closing", "close", "write"))


def _from_callable(func: Any, depth: int = 0) -> Transport | None:
    if func is None or depth > _MAX_DEPTH:
        return None
    owner = getattr(func, "__self__", None)
    transport = getattr(owner, "transport", None)
    if _is_transport(transport):
        return transport
    for attribute in ("__wrapped__", "func", "send", "app"):
        inner = getattr(func if attribute != "send" else owner, attribute, None)
        if inner is not None and inner is not func and callable(inner):
            found = _from_callable(inner, depth + 1)
            if found is not None:
                return found
    for cell in getattr(func, "__closure__", None) or ():
        try:
            content = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if callable(content):
            found = _from_callable(content, depth + 1)
            if found is not None:
                return found
    return None


def _from_task() -> Transport | None:
    task = asyncio.current_task()
    coro = task.get_coro() if task is not None else None
    frame = getattr(coro, "cr_frame", None)
    owner = frame.f_locals.get("self") if frame is not None else None
    transport = getattr(owner, "transport", None)
    return transport if _is_transport(transport) else None


def find_transport(send: Send) -> Transport | None:
    """The connection's transport under ``send``, or None if this server does not expose it."""
    return _from_callable(send) or _from_task()


def reset_connection(send: Send) -> bool:
    """Send a TCP RST: SO_LINGER 0, then abort. False if the transport could not be found."""
    transport = find_transport(send)
    if transport is None:
        return False
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):  # the peer went first; closing is all that is left to do
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    abort = getattr(transport, "abort", None)
    if callable(abort):
        abort()
    else:
        transport.close()
    return True


def close_connection(send: Send) -> bool:
    """Close the connection cleanly (FIN) after what was written. False if it could not be found."""
    transport = find_transport(send)
    if transport is None:
        return False
    transport.close()
    return True


def check_transport(modules: tuple[Any, ...] | None = None) -> list[str]:
    """What in uvicorn's request cycles (``modules``; by default the installed httptools and h11 ones)
    differs from what :func:`find_transport` walks; an empty list when it can reach the connection."""
    if modules is None:
        try:
            modules = tuple(importlib.import_module(name) for name in CYCLE_MODULES)
        except ImportError as exc:
            return [f"uvicorn's HTTP protocols cannot be imported ({exc})"]
    problems: list[str] = []
    for module in modules:
        label = f"{getattr(module, '__name__', module)}.RequestResponseCycle"
        cycle = getattr(module, "RequestResponseCycle", None)
        if not isinstance(cycle, type):
            problems.append(f"{label} is gone")
            continue
        problems += [
            f"{label} has no method {name}" for name in CYCLE_METHODS if not callable(getattr(cycle, name, None))
        ]
        stored = stored_attributes(cycle)
        problems += [f"{label} no longer sets self.{name}" for name in CYCLE_ATTRIBUTES if name not in stored]
    return problems


@functools.cache
def connection_reachable() -> bool:
    """Whether the connection faults can reach the installed uvicorn's connections; asked once, at start,
    with one WARNING (what differs, and the fallback) when they cannot."""
    problems = check_transport()
    if problems:
        logger.warning(
            "uvicorn differs from what druid-sim's connection faults expect (%s); the reset and empty faults "
            "will send a response head and then close the connection instead (clients still see a broken "
            "answer, not a TCP reset or an empty reply)",
            "; ".join(problems),
        )
    return not problems

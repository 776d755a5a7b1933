"""Reaching the TCP connection under an ASGI request, to reset or close it the way a broken server does.

ASGI has no standard way to close a connection abruptly, and uvicorn does not put its transport in
the scope. Its request cycle owns both ``send`` and ``transport``, so the transport is found from
the ``send`` callable (through the closures of the middlewares that wrap it) or, failing that, from
the ASGI task's coroutine (``RequestResponseCycle.run_asgi``'s ``self``).

A transport is recognised by what it can do, not by its class: uvloop's ``TCPTransport`` (what
``druid-sim serve`` runs) is not an ``asyncio.BaseTransport`` subclass, only asyncio's own are.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from typing import Any, Protocol, TypeGuard

from druid_sim.asgi import Send

_MAX_DEPTH = 12


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

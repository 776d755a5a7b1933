"""How druid-sim runs uvicorn: one set of server settings for ``serve``, the test servers and the pytest plugin.

Tests must run on the stack users run, so the in-thread servers (`druid_sim.server.threaded`) take their
settings from here too: uvloop and httptools with the express lane, exactly as ``druid-sim serve``.
The asyncio loop stays available (``uvicorn_settings("asyncio")``) for code that must work on both,
such as the faults, whose tests run on each.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Callable
from typing import Any, Literal

from druid_sim.faults.transport import connection_reachable
from druid_sim.server.express_check import HTTP_PROTOCOL, http_protocol

#: The event loops druid-sim supports: ``serve`` runs uvloop; asyncio is what plain uvicorn falls back to.
Loop = Literal["uvloop", "asyncio"]
LOOPS: tuple[Loop, ...] = ("uvloop", "asyncio")

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
    """`UVICORN_SETTINGS` on ``loop``, with our protocol only if the installed uvicorn is the one it was
    written against (`druid_sim.server.express_check`; otherwise uvicorn's own protocol and one WARNING).

    The connection faults' own check (`druid_sim.faults.transport.connection_reachable`) is asked here
    too, so its WARNING, if any, comes at start-up rather than at the first reset fault."""
    connection_reachable()
    return {**UVICORN_SETTINGS, "loop": loop, "http": http_protocol()}


def listening_socket(host: str = "127.0.0.1", port: int = 0, backlog: int = 2048) -> socket.socket:
    """A socket bound to ``host:port`` (0: a free port) and listening, with TCP_NODELAY set; OSError if it cannot.

    ``serve`` binds before it says where it listens, so a port in use is reported plainly and port 0
    announces the port it got. Accepted connections inherit TCP_NODELAY from the listening socket
    (Linux); asyncio does not set it on sockets handed to uvicorn, and without it every response
    waits ~40 ms for Nagle's algorithm to meet the client's delayed ACK.
    """
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock


def listen_error(host: str, port: int, exc: OSError) -> str:
    """Why ``host:port`` cannot be listened on, and what to do, in one line."""
    reason = exc.strerror or str(exc)
    hint = "is another server already running there? " if exc.errno == errno.EADDRINUSE else ""
    return f"cannot listen on {host}:{port}: {reason}; {hint}choose another port"


def open_file_room(connections: int) -> str | None:
    """Let this process open enough files for ``connections`` (raising its soft limit toward the hard one).

    Each connection is a descriptor; past the limit, accepting fails and clients are dropped unanswered.
    Returns a warning when even the hard limit leaves too little room, else None.
    """
    import resource

    wanted = connections + 64  # the listening socket, logs, cassettes, the odd spare
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return None
    raised = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if raised > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
    if raised >= wanted:
        return None
    return (
        f"this process may open only {raised} files (ulimit -n), too few for --max-connections {connections}: "
        "lower --max-connections or raise the limit"
    )


def loop_factory(loop: Loop = "uvloop") -> Callable[[], asyncio.AbstractEventLoop]:
    """What makes a new event loop of kind ``loop``, for servers started outside ``uvicorn.run``."""
    if loop == "uvloop":
        import uvloop

        new_loop: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
        return new_loop
    return asyncio.new_event_loop


__all__ = [
    "HTTP_PROTOCOL",
    "LOOPS",
    "UVICORN_SETTINGS",
    "Loop",
    "listen_error",
    "listening_socket",
    "loop_factory",
    "open_file_room",
    "uvicorn_settings",
]

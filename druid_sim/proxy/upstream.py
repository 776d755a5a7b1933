"""Making an unreachable upstream obvious to the client.

Out of the box mitmproxy 11 handles a dead upstream badly for a recorder: with its default `eager`
connection strategy a reverse proxy that cannot reach the upstream closes the client's connection
without any response, and otherwise the 502 only says "Connect call failed ('10.0.0.5', 8888)". This
addon switches to `lazy` connections (so every request gets an HTTP answer), checks the upstream once at
start-up, and once an upstream is known to be down, answers further requests with a 502 that names it
and says what to do, until it is reachable again. The recorder keeps running throughout.

`UpstreamGuard` is not an addon of its own: the `Recorder` owns one and passes it the few hooks it
needs, because mitmproxy dispatches every event to every addon in its chain, and a second addon would
cost every request that dispatch for hooks it never has.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from mitmproxy import ctx
from mitmproxy.proxy import mode_specs

logger = logging.getLogger(__name__)

PROBE_TIMEOUT = 2.0


def reverse_upstream() -> tuple[str, tuple[str, int]] | None:
    """(URL, address) of the first reverse-mode upstream, or None in forward-proxy mode."""
    for spec in ctx.options.mode:
        mode = mode_specs.ProxyMode.parse(spec)
        if isinstance(mode, mode_specs.ReverseMode):
            return mode.data, mode.address
    return None


def unreachable_message(upstream: str, error: str) -> str:
    """The text of the 502 a client gets while the upstream is down."""
    return (
        f"druid-sim record: upstream {upstream} is unreachable ({error}). Start the Druid Router/Overlord or fix "
        "--upstream; the recorder is still running and forwards requests again as soon as the upstream answers."
    )


async def _probe(address: tuple[str, int]) -> str | None:
    """None if a TCP connection to `address` succeeds, else the error text."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(*address), PROBE_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        return str(exc) or type(exc).__name__
    writer.close()
    return None


class UpstreamGuard:
    """Clear 502s for an upstream that is down; see the module docstring for why.

    Its methods are named after the mitmproxy hooks that call them (through the Recorder).
    """

    def __init__(self) -> None:
        self._down: dict[tuple[str, int], str] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def configure(self, updated: set[str]) -> None:
        if "connection_strategy" in updated and ctx.options.connection_strategy == "eager":
            logger.info("druid-sim: using connection_strategy=lazy so an unreachable upstream gets a 502")
            ctx.options.connection_strategy = "lazy"

    def running(self) -> None:
        upstream = reverse_upstream()
        if upstream is not None:
            task = asyncio.get_running_loop().create_task(self._check_at_start(*upstream))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _check_at_start(self, url: str, address: tuple[str, int]) -> None:
        error = await _probe(address)
        if error is not None:
            self._down[address] = error
            logger.warning("upstream %s is not reachable yet (%s); clients will get a 502 until it is", url, error)

    def _name(self, address: tuple[str, int]) -> str:
        upstream = reverse_upstream()
        if upstream is not None and upstream[1] == address:
            return upstream[0]
        return f"{address[0]}:{address[1]}"

    def server_connect(self, data: Any) -> Awaitable[None] | None:
        """Nothing to await (the usual case) unless this upstream is known to be down."""
        address = data.server.address
        if address is None or address not in self._down or data.server.error:
            return None
        return self._recheck(data, address)

    async def _recheck(self, data: Any, address: tuple[str, int]) -> None:
        error = await _probe(address)
        if error is None:
            logger.info("upstream %s is reachable again", self._name(address))
            del self._down[address]
        else:
            data.server.error = unreachable_message(self._name(address), error)

    def server_connect_error(self, data: Any) -> None:
        address = data.server.address
        if address is not None and address not in self._down:
            logger.warning("cannot reach upstream %s: %s", self._name(address), data.server.error)
            self._down[address] = data.server.error or "connection failed"

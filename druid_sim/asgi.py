"""ASGI type aliases (the same shapes as ``starlette.types``), kept here so modules agree on them, and the two
body helpers the middlewares that read a body before the app share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
#: A function that wraps an app (the Druid routes) in one more middleware.
Middleware = Callable[[ASGIApp], ASGIApp]


async def read_body(receive: Receive) -> bytes:
    """The whole request body (empty if the client disconnected first; the HTTP layer bounds its size)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the already-read body once, then defers to the real one."""
    sent = False

    async def replay_receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay_receive

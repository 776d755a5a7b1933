"""ASGI type aliases (the same shapes as ``starlette.types``), kept here so modules agree on them."""

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

"""How each fault kind answers a request (or refuses to): Druid's own bodies, and broken connections.

Bodies follow the reference's error catalogue (section 7), the non-leader redirect (8.1) and the
Router (8.2). Connection faults are observed by clients exactly as a crashed or wedged server would
be: a reset is a TCP RST, a truncated body is a short read against Content-Length, a hang is a
timeout on the client's side.
"""

from __future__ import annotations

import logging

import orjson

from druid_sim.asgi import Message, Receive, Scope, Send
from druid_sim.clock import Clock
from druid_sim.faults.spec import Fault
from druid_sim.faults.transport import close_connection, connection_reachable, reset_connection
from druid_sim.security import answers as security_answers
from druid_sim.security.access import state_filter
from druid_sim.wire import JSON, REASONS, TEXT, DruidResponse, error_page

LEADER_PATH = "/druid/indexer/v1/leader"
IS_LEADER_PATH = "/druid/indexer/v1/isLeader"
NOT_LEADER = "overlord is not the leader or not initialized yet"

logger = logging.getLogger(__name__)


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def raw_path(scope: Scope) -> str:
    raw: bytes = scope.get("raw_path") or scope["path"].encode()
    return raw.split(b"?", 1)[0].decode("latin-1")


def is_local(path: str) -> bool:
    """Paths a non-leader Overlord serves itself (reference 8.1): exact leader paths and ``/status*``."""
    return path in (LEADER_PATH, IS_LEADER_PATH) or path == "/status" or path.startswith("/status/")


def redirect_location(base_url: str, scope: Scope) -> bytes:
    """``<leader base URL><request URI as received>[?<query string>]``."""
    raw: bytes = scope.get("raw_path") or scope["path"].encode()
    target = raw.split(b"?", 1)[0]
    query: bytes = scope.get("query_string", b"")
    return base_url.encode() + target + (b"?" + query if query else b"")


def redirect(base_url: str, scope: Scope) -> DruidResponse:
    """307 with Location and no body or content type, as ``RedirectFilter`` answers."""
    return DruidResponse(307, b"", None, [(b"location", redirect_location(base_url, scope))])


def non_leader_local(path: str, leader_url: str | None, scope: Scope) -> DruidResponse:
    """What a non-leader answers itself: ``/isLeader`` 404 false; ``/leader`` the leader's URL.

    ``/leader`` still passes ``StateResourceFilter`` on a secured cluster (docs/security.md 4.3).
    """
    if path == IS_LEADER_PATH:
        return DruidResponse(404, b'{"leader":false}', JSON)
    denied = state_filter(scope, scope["method"])
    if denied is not None:
        return denied
    return DruidResponse(200, (leader_url or "").encode(), JSON if leader_url else None)


def router_no_leader(scope: Scope) -> DruidResponse:
    """The Router's 503 when it cannot find the Overlord leader (reference 8.2)."""
    message = f"Unable to determine destination[{raw_path(scope)}]; is your coordinator/overlord running?"
    return DruidResponse(503, orjson.dumps({"error": message}), JSON)


def error_response(fault: Fault, scope: Scope) -> DruidResponse:
    """An ``error`` fault's answer, in the body family it names (reference section 7)."""
    status = fault.status
    path = raw_path(scope)
    if fault.body == "router":
        return router_no_leader(scope) if status == 503 else _legacy(status, fault.message or REASONS.get(status, ""))
    if fault.body == "legacy":
        default = NOT_LEADER if status == 503 else REASONS.get(status, "Error")
        return _legacy(status, fault.message or default)
    if fault.body == "text":
        return DruidResponse(status, (fault.message or REASONS.get(status, "Error")).encode(), TEXT)
    if fault.body == "druid":
        body = {
            "error": "druidException",
            "errorCode": fault.error_code,
            "persona": fault.persona,
            "category": fault.druid_category(),
            "errorMessage": fault.message or REASONS.get(status, "Error"),
            "context": {},
        }
        return DruidResponse(status, orjson.dumps(body), JSON)
    return error_page(status, path, header(scope, b"accept"), fault.message, fault.exception)


def _legacy(status: int, message: str) -> DruidResponse:
    return DruidResponse(status, orjson.dumps({"error": message}), JSON)


def unauthorized(fault: Fault, scope: Scope, host: str) -> DruidResponse:
    """An ``unauthorized`` fault's 401: Druid's challenge, or the page for refused credentials (docs/security.md 3)."""
    if fault.answer == "challenge":
        return security_answers.unauthenticated(host)
    message = None if fault.user is None else security_answers.wrong_password(fault.user)
    return security_answers.rejected(raw_path(scope), header(scope, b"accept"), message)


def queue_full(max_size: int) -> DruidResponse:
    """``TaskQueue.add`` with the queue at ``druid.indexer.queue.maxSize`` (reference 2.11)."""
    message = (
        f"Task queue already contains [{max_size}] tasks. "
        f"Retry later or increase 'druid.indexer.queue.maxSize'[{max_size}]."
    )
    body = {
        "error": "druidException",
        "errorCode": "general",
        "persona": "ADMIN",
        "category": "CAPACITY_EXCEEDED",
        "errorMessage": message,
        "context": {},
    }
    return DruidResponse(429, orjson.dumps(body), JSON)


async def wait_for_disconnect(receive: Receive) -> None:
    """Read (and drop) the request until the client goes away."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


class Captured:
    """A ``send`` that keeps the inner app's response, to replay it broken (truncated, slowly)."""

    def __init__(self) -> None:
        self.start: Message | None = None
        self.body = bytearray()

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")

    def headers(self, length: int) -> list[tuple[bytes, bytes]]:
        assert self.start is not None
        kept = [
            (k, v)
            for k, v in self.start.get("headers", [])
            if k.lower() not in (b"content-length", b"transfer-encoding")
        ]
        return [*kept, (b"content-length", str(length).encode())]


async def send_truncated(captured: Captured, keep: float, send: Send, receive: Receive) -> None:
    """Announce the whole length, send ``keep`` of it, then close: the client's read comes up short."""
    assert captured.start is not None
    body = bytes(captured.body)
    await send(
        {"type": "http.response.start", "status": captured.start["status"], "headers": captured.headers(len(body))}
    )
    part = body[: int(len(body) * keep)] if body else b""
    await send({"type": "http.response.body", "body": part, "more_body": True})
    await break_connection("empty", send, receive)


async def send_slowly(captured: Captured, fault: Fault, clock: Clock, send: Send) -> None:
    """The whole response, ``chunk`` bytes at a time at ``rate`` bytes per virtual second."""
    assert captured.start is not None
    body = bytes(captured.body)
    await send(
        {"type": "http.response.start", "status": captured.start["status"], "headers": captured.headers(len(body))}
    )
    pause = fault.chunk / fault.rate
    for offset in range(0, len(body), fault.chunk):
        if offset:
            await clock.sleep(pause)
        await send({"type": "http.response.body", "body": body[offset : offset + fault.chunk], "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def break_connection(kind: str, send: Send, receive: Receive, *, reachable: bool | None = None) -> None:
    """``reset``: RST now; ``empty``: close without a byte; ``hang``: hold until the client leaves.

    ``reachable`` is whether this server's connections can be reached (by default the start-up check,
    `connection_reachable`); when they cannot, `unfinished_response` breaks the answer instead.
    """
    if kind == "hang":
        await wait_for_disconnect(receive)
        return
    if reachable is None:
        reachable = connection_reachable()
    done = reachable and (reset_connection(send) if kind == "reset" else close_connection(send))
    if not done:  # not uvicorn, or a version that hides its transport: the fallback
        await unfinished_response(send)
        return
    # Return once the server has seen the connection go, so it does not try to answer for us.
    await wait_for_disconnect(receive)


async def unfinished_response(send: Send) -> None:
    """The fallback for ``reset`` and ``empty``: a 500 head promising one byte that never comes. An ASGI
    app that returns mid-response makes the server close the connection (uvicorn logs one line, no
    traceback), so the client still sees a broken answer rather than a well-formed 500 it could trust."""
    await send({"type": "http.response.start", "status": 500, "headers": [(b"content-length", b"1")]})
    await send({"type": "http.response.body", "body": b"", "more_body": True})

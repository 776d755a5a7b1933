"""Small HTTP pieces for Druid's answers: the request as handlers see it, responses, Jetty error pages.

Druid routes are served by a plain ASGI callable rather than Starlette's Request/Response objects: the
status endpoint is the hot path of every polling client, and Druid's exact content types (no charset
appended to ``application/json``, ``text/plain`` without one) are easier to control by hand.
"""

from __future__ import annotations

import html
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import orjson

from druid_sim.asgi import Receive, Scope, Send

JSON = b"application/json"
TEXT = b"text/plain"
TEXT_UTF8 = b"text/plain; charset=UTF-8"
HTML = b"text/html;charset=iso-8859-1"

REASONS = {
    200: "OK",
    307: "Temporary Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    408: "Request Timeout",
    413: "Payload Too Large",
    414: "URI Too Long",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(slots=True)
class DruidRequest:
    """What a handler needs: method, decoded path segments, query (first value wins), headers, body."""

    scope: Scope
    receive: Receive
    method: str
    path: str
    params: list[str]
    _query: dict[str, str] | None = None
    _body: bytes | None = None

    @property
    def query(self) -> dict[str, str]:
        """Query parameters; like JAX-RS ``@QueryParam``, the first of repeated values wins."""
        if self._query is None:
            parsed: dict[str, str] = {}
            raw = self.scope.get("query_string", b"").decode("latin-1")
            if not raw:  # the common case of a poll: nothing to parse
                self._query = parsed
                return parsed
            for key, value in parse_qsl(raw, keep_blank_values=True):
                parsed.setdefault(key, value)
            self._query = parsed
        return self._query

    def header(self, name: bytes) -> str | None:
        for key, value in self.scope["headers"]:
            if key == name:
                return str(value.decode("latin-1"))
        return None

    async def body(self) -> bytes:
        if self._body is None:
            chunks = []
            while True:
                message = await self.receive()
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
            self._body = b"".join(chunks)
        return self._body


@dataclass(slots=True)
class DruidResponse:
    """A complete response, or a streamed one when ``stream`` is set (no Content-Length, chunked)."""

    status: int
    body: bytes = b""
    content_type: bytes | None = JSON
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    stream: AsyncIterator[bytes] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = list(self.headers)
        if self.content_type is not None:
            headers.append((b"content-type", self.content_type))
        if self.stream is None:
            headers.append((b"content-length", str(len(self.body)).encode()))
            await send({"type": "http.response.start", "status": self.status, "headers": headers})
            await send({"type": "http.response.body", "body": self.body})
            return
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        async for chunk in self.stream:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


def json_response(body: bytes, status: int = 200) -> DruidResponse:
    return DruidResponse(status, body, JSON)


def text_response(text: str, status: int, content_type: bytes = TEXT) -> DruidResponse:
    return DruidResponse(status, text.encode(), content_type)


def _accepts(accept: str | None, wanted: str) -> bool:
    if not accept:
        return True
    major = wanted.split("/")[0]
    for item in accept.split(","):
        media = item.split(";")[0].strip().lower()
        if media in ("*/*", "*", wanted, f"{major}/*"):
            return True
    return False


def acceptable(accept: str | None, produced: Iterable[str]) -> bool:
    """Whether a client's ``Accept`` takes any of the media types an endpoint produces (else 406)."""
    return any(_accepts(accept, media) for media in produced)


def error_page(
    status: int,
    path: str,
    accept: str | None = None,
    message: str | None = None,
    exception: str | None = None,
    headers: Iterable[tuple[bytes, bytes]] = (),
) -> DruidResponse:
    """The page Jetty writes for an error without an entity (``sendError``), in the form ``Accept`` asks.

    ``exception``/``message`` describe an unmapped exception: Druid's default
    ``showDetailedJettyErrors=true`` shows it, and the web console scrapes the text between
    ``</h3><pre>`` and the first ``\\n\\tat``.
    """
    reason = REASONS.get(status, "Error")
    shown = f"{exception}: {message}" if exception else (message or reason)
    accept_value = (accept or "").lower()
    if accept_value and "html" not in accept_value and "*/*" not in accept_value:
        if "json" in accept_value:
            body = orjson.dumps({"url": path, "status": str(status), "message": shown, "servlet": "default"})
            return DruidResponse(status, body, JSON, list(headers))
        if "text/plain" in accept_value or "text/*" in accept_value:
            text = f"HTTP ERROR {status} {shown}\nURI: {path}\nSTATUS: {status}\nMESSAGE: {shown}\nSERVLET: default\n"
            return DruidResponse(
                status, text.encode("latin-1", "replace"), b"text/plain;charset=iso-8859-1", list(headers)
            )
    title = f"Error {status} {html.escape(shown)}"
    rows = [
        f"<tr><th>URI:</th><td>{html.escape(path)}</td></tr>",
        f"<tr><th>STATUS:</th><td>{status}</td></tr>",
        f"<tr><th>MESSAGE:</th><td>{html.escape(shown)}</td></tr>",
        "<tr><th>SERVLET:</th><td>default</td></tr>",
    ]
    caused = ""
    if exception:
        rows.append(f"<tr><th>CAUSED BY:</th><td>{html.escape(shown)}</td></tr>")
        trace = "\n\tat ".join(
            [
                html.escape(shown),
                "org.apache.druid.indexing.overlord.http.OverlordResource.taskPost(OverlordResource.java:221)",
                "com.sun.jersey.spi.container.servlet.WebComponent.service(WebComponent.java:416)",
            ]
        )
        caused = f"<h3>Caused by:</h3><pre>{trace}\n</pre>\n"
    page = (
        "<html>\n<head>\n"
        '<meta http-equiv="Content-Type" content="text/html;charset=ISO-8859-1"/>\n'
        f"<title>{title}</title>\n</head>\n<body>\n"
        f"<h2>HTTP ERROR {status} {html.escape(shown)}</h2>\n<table>\n" + "\n".join(rows) + "\n</table>\n"
        f"{caused}\n</body>\n</html>\n"
    )
    return DruidResponse(status, page.encode("latin-1", "xmlcharrefreplace"), HTML, list(headers))

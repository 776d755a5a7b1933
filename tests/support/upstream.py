"""Small real upstreams for the recorder's tests: any ASGI app on a loopback socket, over HTTP or HTTPS.

The simulator (`tests.support.live`) is the main upstream; these cover what it does not do itself:
odd bodies (gzip, multi-megabyte chunked logs) and TLS with a self-signed certificate.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import uvicorn

from tests.support.live import free_socket


@contextmanager
def serve(app: Any, sock: socket.socket | None = None, **config: Any) -> Iterator[str]:
    """Serve `app` on `sock` (default: a free port) until the block ends; yields its URL.

    `config` goes to `uvicorn.Config` (e.g. `ssl_certfile`/`ssl_keyfile`, which make the URL https).
    """
    sock = sock or free_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", **config))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("upstream failed to start")
            threading.Event().wait(0.005)
        scheme = "https" if "ssl_certfile" in config else "http"
        yield f"{scheme}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def self_signed_certificate(folder: Path) -> dict[str, str]:
    """A self-signed certificate for 127.0.0.1 in `folder`, as `serve(..., **it)` takes it."""
    from cryptography.hazmat.primitives import serialization  # mitmproxy's own dependencies, for TLS tests only
    from mitmproxy import certs

    key, cert = certs.create_ca(organization="druid-sim tests", cn="127.0.0.1", key_size=2048)
    folder.mkdir(parents=True, exist_ok=True)
    key_file, cert_file = folder / "upstream-key.pem", folder / "upstream-cert.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return {"ssl_certfile": str(cert_file), "ssl_keyfile": str(key_file)}


# -- hostile upstreams: bodies of any size, and bodies that stop coming -------------------------------------

#: One line of a fake task log (103 bytes), numbered so a client can check it got every one in order.
LOG_LINE = b"2026-01-01T00:00:00,000 INFO [task-runner] org.apache.druid.indexing.common.task.Task - row %010d\n"
#: Lines sent per ASGI message by `endless_log`.
_LINES_PER_CHUNK = 1000


def log_bytes(lines: int) -> bytes:
    """Exactly what `endless_log` sends for ``lines`` lines (for checking what a client received)."""
    return b"".join(LOG_LINE % n for n in range(lines))


def endless_log(lines: int) -> Any:
    """An ASGI upstream answering every ``GET`` with a task log of ``lines`` lines (103 bytes each), sent a
    thousand lines at a time, chunked, or with a Content-Length when the query has ``length``, or as one
    gzip-compressed answer of ``lines`` identical lines when it has ``gzip``; ``POST``
    requests are read first and answered with how many bytes their body had (``{"received": N}``): a huge
    upload."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] == "POST":
            received = 0
            while True:
                message = await receive()
                received += len(message.get("body", b""))
                if not message.get("more_body", False):
                    break
            body = b'{"received":%d}' % received
            headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        if b"gzip" in scope["query_string"]:  # a small answer that decodes to the whole log: a gzip bomb
            body = gzip.compress(LOG_LINE % 0 * lines, compresslevel=9, mtime=0)
            headers = [(b"content-type", b"text/plain"), (b"content-encoding", b"gzip")]
            headers.append((b"content-length", b"%d" % len(body)))
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        headers = [(b"content-type", b"text/plain")]
        if b"length" in scope["query_string"]:
            headers.append((b"content-length", b"%d" % (lines * len(LOG_LINE % 0))))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for start in range(0, lines, _LINES_PER_CHUNK):
            chunk = b"".join(LOG_LINE % n for n in range(start, min(lines, start + _LINES_PER_CHUNK)))
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    return app


def stalling_upstream(first: bytes) -> Any:
    """An ASGI upstream that answers ``/status`` at once, and every other request with its headers and
    ``first`` bytes of body (chunked, or with a Content-Length ten times that when the query has
    ``length``), then nothing more until the client (the proxy) goes away: an Overlord wedged half-way
    through an answer."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == "/status":
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
            )
            await send({"type": "http.response.body", "body": b'{"version":"35.0.0"}'})
            return
        headers = [(b"content-type", b"text/plain")]
        if b"length" in scope["query_string"]:
            headers.append((b"content-length", b"%d" % (10 * len(first))))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": first, "more_body": True})
        while (await receive())["type"] != "http.disconnect":
            pass

    return app


@contextmanager
def unread_upstream() -> Iterator[str]:
    """A raw TCP upstream that accepts connections and reads nothing after the first bytes of a request:
    an Overlord that stopped reading an upload. Small receive buffers make the backlog reach the proxy
    after a few megabytes. Yields its URL; every connection is closed when the block ends."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return  # the listener was closed
            connection.recv(1024)  # the request line, then nothing more is read
            accepted.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        with suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(), which close() alone does not
        listener.close()
        for connection in accepted:
            connection.close()
        thread.join(timeout=5)

"""Small real upstreams for the recorder's tests: any ASGI app on a loopback socket, over HTTP or HTTPS.

The simulator (`tests.support.live`) is the main upstream; these cover what it does not do itself:
odd bodies (gzip, multi-megabyte chunked logs) and TLS with a self-signed certificate.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
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

"""Keeping web pages out of the control API: Host, Origin, Sec-Fetch-Site and Content-Type checks.

On loopback the control API needs no token, so without these checks any web page the user opens could
drive it: a page may send a "simple" cross-origin POST (no preflight) to ``http://127.0.0.1:8888``, and
with DNS rebinding (a name of the attacker's that resolves to 127.0.0.1) even read the answers. The
rules, the ones Jupyter and dev servers such as Vite's apply:

* **Host** (every ``/__sim/`` call, when bound to loopback): only ``localhost``, ``127.0.0.1``,
  ``[::1]`` or the bound host, with the port the server listens on. A rebound name fails this.
* **Sec-Fetch-Site** (changes): ``cross-site`` and ``same-site`` (another port of ``localhost`` is
  same-site) are refused; browsers set this header and pages cannot.
* **Origin** (changes): when present it must be the server's own (``http://`` + the Host header).
  Browsers send it with every POST and DELETE, scripts and the CLI do not.
* **Content-Type** (changes): ``application/json``, else 415. A page cannot send that cross-origin
  without a CORS preflight, which this server never grants. A change without a body (``POST
  /__sim/reset``, ``DELETE /__sim/journal``) may leave it out when it has no Origin either: that is what
  a client generated from the OpenAPI document sends (the document gives those calls no body), and a
  browser always sends an Origin with a POST or DELETE, so a page still cannot.

So curl, scripts, the druid-sim CLI, the pytest plugin and a page served by this server itself (same
origin, ``fetch`` with JSON) all work, and other pages cannot change anything. Changes are POST, PUT,
PATCH and DELETE; reads only need the right Host.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from druid_sim.asgi import ASGIApp, Receive, Scope, Send
from druid_sim.control.auth import is_loopback
from druid_sim.control.errors import error_response

#: Methods that change something: they must pass every check.
CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: The names every loopback server answers as (besides the host it was bound to).
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]"})
_JSON = "application/json"
_DEFAULT_PORTS = {"http": 80, "https": 443}  # https: a page served through a TLS proxy in front of this server


def _authority(host: str, port: int | None, default_port: int = 80) -> tuple[str, int | None]:
    """``(name, port)`` of a Host header or URL authority: lower case, IPv6 in brackets, port made explicit."""
    host = host.strip().lower()
    if host.startswith("["):
        name, _, rest = host.partition("]")
        name += "]"
        port_text = rest[1:] if rest.startswith(":") else ""
    elif host.count(":") == 1:
        name, _, port_text = host.partition(":")
    else:
        name, port_text = (f"[{host}]" if ":" in host else host), ""
    if port_text:
        return name, int(port_text) if port_text.isdigit() else None
    return name, port if port is not None else default_port


class BrowserGuard:
    """Plain ASGI middleware in front of the control API: 403 or 415 JSON for what a web page could send."""

    def __init__(self, app: ASGIApp, bound_host: str) -> None:
        self.app = app
        self.check_host = is_loopback(bound_host)
        self.names = LOOPBACK_NAMES | {_authority(bound_host, None)[0]}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, message = refusal
        await error_response(status, message)(scope, receive, send)

    def _refusal(self, scope: Scope) -> tuple[int, str] | None:
        host = origin = fetch_site = content_type = None
        has_body = False
        for key, value in scope["headers"]:
            if key == b"host":
                host = value.decode("latin-1")
            elif key == b"origin":
                origin = value.decode("latin-1")
            elif key == b"sec-fetch-site":
                fetch_site = value.decode("latin-1").strip().lower()
            elif key == b"content-type":
                content_type = value.decode("latin-1")
            elif key == b"transfer-encoding" or (key == b"content-length" and value.strip() not in (b"", b"0")):
                has_body = True
        server = scope.get("server")
        port = server[1] if server else None
        if self.check_host and host is not None:
            name, given_port = _authority(host, None)
            if name not in self.names or (port is not None and given_port != port):
                return 403, (
                    f"the control API only answers requests addressed to this machine (Host: localhost, "
                    f"127.0.0.1 or [::1], port {port}), not to {host!r}: a web page reaching it through a "
                    f"name of its own (DNS rebinding) sends such a Host. Use http://127.0.0.1:{port}/__sim/"
                )
        if scope["method"] not in CHANGES:
            return None
        if fetch_site in ("cross-site", "same-site"):
            return 403, (
                f"the control API takes no changes from web pages of other sites (Sec-Fetch-Site: {fetch_site}); "
                "call it from a script, curl, the druid-sim CLI or a page served by this server"
            )
        if origin is not None and not self._same_origin(origin, host, port):
            return 403, (
                f"the control API takes no changes from other origins: Origin {origin} is not this server "
                f"(Host {host}); call it from a script, curl, the druid-sim CLI or a page served by this server"
            )
        media_type = (content_type or "").split(";", 1)[0].strip().lower()
        if content_type is None and origin is None and not has_body:
            return None  # a bodyless change from a script or a generated client (see the module's docstring)
        if media_type != _JSON:
            sent = f"Content-Type: {content_type}" if content_type else "no Content-Type"
            return 415, (
                f"a change through the control API must be sent as Content-Type: application/json (this one had "
                f"{sent}), so that no web page can send it; e.g. curl -H 'Content-Type: application/json' -d '{{}}'"
            )
        return None

    @staticmethod
    def _same_origin(origin: str, host: str | None, port: int | None) -> bool:
        """True when ``origin`` is the scheme plus the request's Host (the page came from this server)."""
        if host is None:
            return False
        try:
            parts = urlsplit(origin.strip())
            origin_port = parts.port
        except ValueError:
            return False
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            return False  # "null" (a sandboxed frame, a file: page) or another scheme
        default_port = _DEFAULT_PORTS[parts.scheme]
        origin_name = _authority(parts.hostname, origin_port, default_port)
        return origin_name == _authority(host, None, default_port) and origin_name[1] is not None

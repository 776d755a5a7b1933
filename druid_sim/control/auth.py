"""Who may use the control API: anyone on this machine, or holders of the token when exposed.

The control API can reset the cluster, move time and inject faults, so it must not be open to a
network. The rule: on a loopback address it is open (unless a token is given anyway); on any other
address (``0.0.0.0``, a LAN address, a host name) it requires ``Authorization: Bearer <token>``.

When ``druid-sim serve`` binds beyond loopback without ``--control-token``, it **generates** a token
and prints it, rather than refusing to start. Why: the most common reason to bind ``0.0.0.0`` is a
container, where the Druid API (the thing people came for) must be reachable and the control API is
often not needed at all; refusing would break ``docker run`` for everyone, while an open control
API would be a hazard. A generated token keeps both safe and usable (as Jupyter does). Pass
``--control-token`` (or set ``DRUID_SIM_CONTROL_TOKEN``) to choose it yourself.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from dataclasses import dataclass

from druid_sim.asgi import ASGIApp, Receive, Scope, Send
from druid_sim.control.errors import error_response

#: Environment variable read by ``druid-sim serve`` and the client when no token is given.
TOKEN_ENV = "DRUID_SIM_CONTROL_TOKEN"

#: Paths that never need the token: a liveness probe must work without secrets.
OPEN_PATHS = frozenset({"/__sim/health"})


def is_loopback(host: str) -> bool:
    """True when ``host`` only accepts connections from this machine.

    ``localhost`` and loopback addresses (127.0.0.0/8, ::1) are; wildcards (``0.0.0.0``, ``::``),
    other addresses and any other host name are not (a name could resolve to anything).
    """
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class TokenDecision:
    """The token the control API will require (None: open), and whether it was generated."""

    token: str | None
    generated: bool

    def announcement(self, url: str) -> str | None:
        """What ``druid-sim serve`` prints at start about the control API."""
        if self.token is None:
            return f"druid-sim: control API on {url}/__sim/ (open: listening on loopback only)"
        if self.generated:
            return (
                f"druid-sim: control API on {url}/__sim/ requires a token because the server listens beyond "
                f"loopback; generated one: {self.token}\n"
                f"druid-sim:   use it as 'Authorization: Bearer {self.token}', or export {TOKEN_ENV}={self.token} "
                "for the druid-sim CLI; pass --control-token to choose your own"
            )
        return f"druid-sim: control API on {url}/__sim/ requires the token given by --control-token"


def decide_control_token(host: str, token: str | None) -> TokenDecision:
    """Which token the control API requires when listening on ``host`` with ``token`` given (or not)."""
    if token:
        return TokenDecision(token, generated=False)
    if is_loopback(host):
        return TokenDecision(None, generated=False)
    return TokenDecision(secrets.token_urlsafe(24), generated=True)


class RequireToken:
    """Plain ASGI middleware: 401 JSON unless the request carries ``Authorization: Bearer <token>``."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        given = b""
        for key, value in scope["headers"]:
            if key == b"authorization":
                given = value
                break
        if hmac.compare_digest(given, self.expected):
            await self.app(scope, receive, send)
            return
        reason = "a wrong token" if given else "no token"
        response = error_response(
            401,
            f"the control API requires a token and this request carried {reason}; send the header "
            f"'Authorization: Bearer <token>' with the token printed by 'druid-sim serve' (or given to "
            f"--control-token); the druid-sim CLI reads it from --token or {TOKEN_ENV}",
            {"www-authenticate": 'Bearer realm="druid-sim control API"'},
        )
        await response(scope, receive, send)

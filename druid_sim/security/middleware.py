"""The security layer: Druid's Basic authentication in front of every Druid route but the unsecured ones.

Plain ASGI middleware between the journal and the fault layer (``druid_sim.server.assembly``), because Druid
authenticates before anything else happens to a request, the leader redirect included (reference 1.2
and 8.1). It answers the 401s itself and hands an authenticated request on with its user in the scope
(:data:`~druid_sim.security.access.IDENTITY`); the Druid handlers authorize from there.
"""

from __future__ import annotations

import binascii

from druid_sim.asgi import ASGIApp, Receive, Scope, Send
from druid_sim.express import ExpressAnswer, ExpressRequest, express_of
from druid_sim.runtime import ANSWERED_BY, Simulation
from druid_sim.security.access import ANSWERER, IDENTITY
from druid_sim.security.answers import druid_host, rejected, unauthenticated, wrong_password
from druid_sim.security.model import Security, User
from druid_sim.wire import DruidResponse

#: The key of the security state in ``Simulation.extensions``.
EXTENSION = "security"
#: ``CliOverlord.UNSECURED_PATHS``: exact servlet paths answered without authentication.
UNSECURED_PATHS = frozenset({"/druid/indexer/v1/isLeader", "/status/health"})
#: How many accepted ``Authorization`` headers are remembered (then forgotten all at once).
MAX_ACCEPTED = 256


class SecurityState:
    """The security in force (None: off). A reset takes the configured scenario's section again."""

    def __init__(self, security: Security | None = None) -> None:
        self.security = security


def java_base64(text: str) -> bytes | None:
    """``java.util.Base64.getDecoder().decode``: padding optional but, when given, complete; else None."""
    data = text.rstrip("=")
    padding = len(text) - len(data)
    remainder = len(data) % 4
    if remainder == 1 or padding > 2 or (padding and remainder + padding != 4):
        return None
    try:  # strict: only the Base64 alphabet, no whitespace, no '=' inside
        return binascii.a2b_base64(data + "=" * (-len(data) % 4), strict_mode=True)
    except (binascii.Error, ValueError):
        return None


def java_split_colon(text: str) -> list[str]:
    """``text.split(":")`` in Java: trailing empty parts are dropped."""
    parts = text.split(":")
    while parts and parts[-1] == "":
        parts.pop()
    return parts


def authenticate(
    security: Security, authorization: str | None, path: str, accept: str | None, host: str
) -> User | DruidResponse:
    """The user a request's ``Authorization`` header names, or Druid's 401 for it (``docs/security.md`` 3)."""
    if authorization is None or len(authorization) < 7 or not authorization.startswith("Basic "):
        return unauthenticated(host)  # not Basic credentials: no authenticator in the chain takes it
    decoded = java_base64(authorization[6:])
    if decoded is None:
        return rejected(path, accept)
    parts = java_split_colon(decoded.decode("utf-8", "replace"))
    if len(parts) != 2:
        return rejected(path, accept)
    name, password = parts
    user = security.users.get(name)
    if user is None:
        return rejected(path, accept)
    if not user.has_password(password):
        return rejected(path, accept, wrong_password(name))
    return user


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


class SecurityMiddleware:
    """Authenticates every Druid request while ``simulation.extensions["security"]`` holds a section."""

    def __init__(self, app: ASGIApp, simulation: Simulation) -> None:
        self.app = app
        self.simulation = simulation
        self._inner = express_of(app)
        self.host = druid_host(simulation.config.self_url)
        # Headers that authenticated, per security section: a polling client sends the same one again and
        # again, and decoding and checking it is most of this layer's cost (``python -m bench control``).
        self._accepted: dict[str, User] = {}
        self._accepted_for: Security | None = None

    def _security(self) -> Security | None:
        state: SecurityState | None = self.simulation.extensions.get(EXTENSION)
        return None if state is None else state.security

    def express(self, request: ExpressRequest) -> ExpressAnswer | None:
        """No express answers while security is on: they are remembered per request, not per user."""
        if self._inner is None or self._security() is not None:
            return None
        return self._inner(request)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        security = self._security()
        if security is None or scope["type"] != "http" or scope["path"] in UNSECURED_PATHS:
            await self.app(scope, receive, send)
            return
        authorization = _header(scope, b"authorization")
        if security is not self._accepted_for:
            self._accepted, self._accepted_for = {}, security
        user = self._accepted.get(authorization) if authorization is not None else None
        if user is not None:
            scope[IDENTITY] = user
            await self.app(scope, receive, send)
            return
        path = (scope.get("raw_path") or scope["path"].encode()).split(b"?", 1)[0].decode("latin-1")
        found = authenticate(security, authorization, path, _header(scope, b"accept"), self.host)
        if isinstance(found, User):
            if len(self._accepted) >= MAX_ACCEPTED:
                self._accepted.clear()
            self._accepted[authorization or ""] = found
            scope[IDENTITY] = found
            await self.app(scope, receive, send)
            return
        scope[ANSWERED_BY] = ANSWERER
        if scope["method"] == "HEAD":
            found.body = b""
        await found(scope, receive, send)

"""Druid's exact answers for a secured cluster: the 401s of authentication and the 403s of authorization.

Used by the security layer and by the ``unauthorized`` and ``forbidden`` fault kinds, so both send
the same bytes. Sources (``docs/security.md`` sections 3 and 4.2):

* no credentials: ``PreResponseAuthorizationCheckFilter.handleUnauthenticatedRequest``;
* credentials Druid cannot use: ``BasicHTTPAuthenticator``'s ``sendError(401[, message])``, a Jetty page;
* a denied permission: ``ForbiddenException`` through its mapper, or ``OverlordResource.getTasks``'s text.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import orjson

from druid_sim.wire import JSON, TEXT, DruidResponse, error_page

#: ``QueryException.UNAUTHORIZED_ERROR_CODE``.
UNAUTHORIZED_ERROR_CODE = "Unauthorized request"
#: ``Access.DEFAULT_ERROR_MESSAGE``: the message of every denial by the basic authorizer.
ACCESS_DENIED = "Unauthorized"
#: ``sendJsonError``: ``application/json`` with ``setCharacterEncoding("UTF-8")``, as Jetty writes it.
JSON_UTF8 = b"application/json;charset=utf-8"


def druid_host(self_url: str) -> str:
    """What ``DruidNode.getDefaultHost()`` stands for here: the host of the simulator's own URL."""
    return urlsplit(self_url).hostname or "localhost"


def unauthenticated(host: str) -> DruidResponse:
    """401 for a request no authenticator authenticated: ``WWW-Authenticate: Basic`` and Druid's JSON."""
    body = orjson.dumps({"error": UNAUTHORIZED_ERROR_CODE, "errorMessage": None, "errorClass": None, "host": host})
    return DruidResponse(401, body, JSON_UTF8, [(b"www-authenticate", b"Basic")])


def rejected(path: str, accept: str | None, message: str | None = None) -> DruidResponse:
    """401 Jetty page for Basic credentials Druid refused (``sendError(401[, message])``)."""
    return error_page(401, path, accept, message)


def wrong_password(user: str) -> str:
    """The message ``BasicHTTPAuthenticator`` gives ``sendError`` when a known user's password is wrong."""
    return f"User authentication failed username[{user}]."


def forbidden() -> DruidResponse:
    """403 ``{"Access-Check-Result": "Unauthorized"}``: a ``ForbiddenException`` through its mapper."""
    return DruidResponse(403, orjson.dumps({"Access-Check-Result": ACCESS_DENIED}), JSON)


def forbidden_text() -> DruidResponse:
    """403 ``text/plain`` ``Access-Check-Result: Unauthorized``: ``GET /tasks?datasource=`` (reference 2.1)."""
    return DruidResponse(403, f"Access-Check-Result: {ACCESS_DENIED}".encode(), TEXT)

"""Control API answers: compact JSON, and errors that say what was wrong and how to fix it.

Every error body has the same shape, ``{"error": <short code>, "message": <what and how to fix>}``,
so a client (or a person with curl) can always read why a call failed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

logger = logging.getLogger(__name__)

#: Short codes per status, used as the ``error`` field.
ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    415: "unsupported_media_type",
    422: "invalid",
    500: "internal_error",
    501: "not_available",
}


class JSONAnswer(Response):
    """A compact JSON response encoded with orjson (``application/json``, no charset, like Druid's)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


class ControlError(Exception):
    """An answer other than success: ``status`` and a message saying how to fix the call."""

    def __init__(
        self,
        status: int,
        message: str,
        headers: dict[str, str] | None = None,
        problems: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers
        self.problems = problems

    def response(self) -> JSONAnswer:
        return error_response(self.status, self.message, self.headers, self.problems)


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None, problems: list[dict[str, Any]] | None = None
) -> JSONAnswer:
    """``{"error", "message"}``, plus ``problems`` (field by field) when the input had several mistakes."""
    body: dict[str, Any] = {"error": ERROR_CODES.get(status, "error"), "message": message}
    if problems:
        body["problems"] = problems
    return JSONAnswer(body, status, headers)


Endpoint = Callable[[Request], Awaitable[Response]]


def answers_json(endpoint: Endpoint) -> Endpoint:
    """Turn ControlErrors into their JSON answers and anything unexpected into a 500 without a traceback."""

    @wraps(endpoint)
    async def wrapped(request: Request) -> Response:
        try:
            return await endpoint(request)
        except ControlError as exc:
            return exc.response()
        except Exception as exc:
            logger.exception("control API %s %s failed", request.method, request.url.path)
            # The exception's text stays in the log: it may quote a file the caller may not read.
            return error_response(
                500, f"the simulator failed to handle this call ({type(exc).__name__}); see the server log"
            )

    return wrapped


async def json_body(request: Request, allowed: set[str] | None = None) -> dict[str, Any]:
    """The request body as a JSON object; an empty body is ``{}``.

    400 when it is not JSON or not an object; 422 naming the unknown keys when ``allowed`` is given.
    """
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ControlError(400, f"the body is not valid JSON ({exc}); send a JSON object such as {{}}") from None
    if not isinstance(body, dict):
        raise ControlError(400, f"the body must be a JSON object, not {type(body).__name__}; wrap it in {{...}}")
    if allowed is not None:
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise ControlError(
                422, f"unknown field(s) {', '.join(unknown)}; this call accepts {', '.join(sorted(allowed))}"
            )
    return body

"""Pieces every Druid route module answers with: JSON bodies read as Jersey and Jackson read them,
the legacy ``{"error": ...}`` body, and the permission filters of the resources beyond the Tasks API.

Kept apart from `druid_sim.druid.routes` (which wires every route module) so the route modules can
share them without importing the wiring.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from druid_sim.druid.jackson import shape_of
from druid_sim.druid.submission import SubmissionError, parse_json_body
from druid_sim.security.access import denied, permitted
from druid_sim.wire import DruidRequest, DruidResponse, error_page, json_response

CONFIG = "CONFIG"
_INTEGER = re.compile(r"^[+-]?\d+$")


class NotFound(Exception):
    """A query parameter JAX-RS could not convert: 404 with no entity (reference 1.1); the router answers it."""


def java_int(value: str | None, bits: int = 32) -> int | None:
    """A query parameter as JAX-RS converts it to an ``Integer`` (``bits=64``: a ``long``); `NotFound` if it cannot."""
    if value is None:
        return None
    if not _INTEGER.match(value):
        raise NotFound
    number = int(value)
    if not -(2 ** (bits - 1)) <= number < 2 ** (bits - 1):
        raise NotFound
    return number


def legacy_error(message: str, status: int) -> DruidResponse:
    """The legacy ``{"error": msg}`` body."""
    return json_response(orjson.dumps({"error": message}), status)


def is_json(content_type: str | None) -> bool:
    """Whether Jersey's Jackson provider reads a body of this media type (``application/json``, ``*+json``)."""
    if not content_type:
        return False
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def config_filter(request: DruidRequest) -> DruidResponse | None:
    """``ConfigResourceFilter``: the 403 unless the user may act on the resource ``CONFIG`` of type CONFIG."""
    action = "READ" if request.method in ("GET", "HEAD") else "WRITE"
    return None if permitted(request.scope, CONFIG, "CONFIG", action) else denied(request.scope)


class BodyError(Exception):
    """A request body Jersey or Jackson refuses; ``response`` is Druid's answer."""

    def __init__(self, response: DruidResponse) -> None:
        super().__init__(response.status)
        self.response = response


async def json_body(request: DruidRequest, *, required: bool = True) -> Any:
    """The JSON body of a resource method that consumes JSON (415 otherwise); None for an empty body.

    Jackson's failures are Druid's: a syntax error or a body nested past Jackson's limit is a 500 page;
    the caller answers a value of the wrong shape with `mismatch` (400).
    """
    accept = request.header(b"accept")
    if required and not is_json(request.header(b"content-type")):
        raise BodyError(error_page(415, request.path, accept))
    body = await request.body()
    if not body.strip():
        return None
    try:
        return parse_json_body(body)
    except SubmissionError as exc:  # a syntax error, or nesting past Jackson's limit: an unmapped exception
        raise BodyError(error_page(500, request.path, accept, exc.message, exc.exception)) from None


def mismatch(java_type: str, value: Any) -> DruidResponse:
    """Jackson's 400 for a body that is not a ``java_type``."""
    return legacy_error(f"Cannot deserialize value of type `{java_type}` from {shape_of(value)}", 400)

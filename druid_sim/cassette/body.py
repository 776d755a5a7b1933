"""Choosing how a body is stored: structured JSON, text or base64.

Druid writes compact JSON (no spaces, fields in its own order, non-ASCII as-is). A replay must send
those bytes back unchanged, so a body is stored as structured JSON only when orjson re-encodes the
parsed value to exactly the recorded bytes; anything else that is valid UTF-8 stays text, and the rest
is base64.
"""

from __future__ import annotations

import base64

import orjson

from druid_sim.cassette.model import EMPTY_BODY, Body

_JSON_START = frozenset(b"{[")


def body_from_bytes(data: bytes, content_type: str | None = None, encoding: str | None = None) -> Body:
    """Build the stored form of a decoded body.

    `encoding` is the Content-Encoding the body arrived with (already removed from `data`).
    """
    if not data:
        return EMPTY_BODY if encoding is None else Body(None, None, encoding)
    if data[0] in _JSON_START or (content_type is not None and "json" in content_type):
        try:
            value = orjson.loads(data)
            if orjson.dumps(value) == data:
                return Body("json", value, encoding)
        except (orjson.JSONDecodeError, orjson.JSONEncodeError):
            pass
    try:
        return Body("text", data.decode("utf-8"), encoding)
    except UnicodeDecodeError:
        return Body("base64", base64.b64encode(data).decode("ascii"), encoding)

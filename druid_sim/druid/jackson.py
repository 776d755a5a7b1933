"""How Jackson reads a request body: its nesting limit and its type-mismatch messages.

Druid parses bodies with Jackson 2.15 or later, whose ``StreamReadConstraints`` allow 1,000 levels of
nesting by default. orjson reads 1,024 levels (and writes only 254, see :mod:`druid_sim.util.jsonenc`), so
the limit is checked here, and a deeper body gets the ``StreamConstraintsException`` Jackson throws at
level 1,001. Where that exception surfaces depends on where Jackson was when it hit the limit, which
:func:`deep_point` finds by scanning the raw bytes (the body may be too deep for orjson to parse).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from druid_sim.util.jsonenc import depth_exceeds

#: ``StreamReadConstraints.DEFAULT_MAX_DEPTH``.
MAX_DEPTH = 1000
DEPTH_EXCEPTION = "com.fasterxml.jackson.core.exc.StreamConstraintsException"
DEPTH_MESSAGE = (
    f"Document nesting depth ({MAX_DEPTH + 1}) exceeds the maximum allowed "
    f"({MAX_DEPTH}, from `StreamReadConstraints.getMaxNestingDepth()`)"
)

#: Strings (escapes included) and the structural characters, in document order.
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}:]', re.DOTALL)


def too_deep(body: bytes, value: Any) -> bool:
    """Whether a body orjson parsed into ``value`` nests deeper than Jackson allows.

    Counting brackets first keeps the walk off the common path: a body with at most ``MAX_DEPTH``
    opening brackets (strings included) cannot be deeper than that.
    """
    if body.count(b"[") + body.count(b"{") <= MAX_DEPTH:
        return False
    return depth_exceeds(value, MAX_DEPTH)


@dataclass(frozen=True, slots=True)
class DeepPoint:
    """Where a too-deep body first passes the limit, as Jackson's streaming reader would see it.

    ``top`` is the body's first byte (``{`` or ``[``); for an object, ``key`` is the top-level field
    whose value holds the point and ``type_id`` the value of a top-level ``type`` field read before
    it (None when there was none); for an array, ``first_item`` is the first nested container
    (``{`` or ``[``) among its items.
    """

    top: bytes
    key: str | None = None
    type_id: str | None = None
    first_item: bytes | None = None


def deep_point(body: bytes) -> DeepPoint:
    """Scan ``body`` (known to be too deep) for what Jackson had read when it hit the limit."""
    import orjson

    depth = 0
    key: str | None = None
    type_id: str | None = None
    first_item: bytes | None = None
    previous = b""
    expecting_type = False
    top = body.lstrip()[:1]
    for match in _TOKENS.finditer(body):
        token = match.group()
        if token in (b"{", b"["):
            depth += 1
            if depth == 2 and top == b"[" and first_item is None:
                first_item = token
            if depth > MAX_DEPTH:
                break
        elif token in (b"}", b"]"):
            depth -= 1
        elif token == b":":
            if depth == 1 and top == b"{" and previous.startswith(b'"'):
                key = orjson.loads(previous)
                expecting_type = key == "type" and type_id is None
        elif token.startswith(b'"') and expecting_type and depth == 1 and previous == b":":
            type_id = orjson.loads(token)
            expecting_type = False
        previous = token
    return DeepPoint(top, key if top == b"{" else None, type_id, first_item)


def shape_of(value: Any) -> str:
    """Jackson's ``<shape> (token `JsonToken.<TOKEN>`)`` for a JSON value it cannot map."""
    if isinstance(value, dict):
        return "Object value (token `JsonToken.START_OBJECT`)"
    if isinstance(value, list):
        return "Array value (token `JsonToken.START_ARRAY`)"
    if isinstance(value, str):
        return "String value (token `JsonToken.VALUE_STRING`)"
    if isinstance(value, bool):
        return f"Boolean value (token `JsonToken.VALUE_{'TRUE' if value else 'FALSE'}`)"
    if isinstance(value, int):
        return "Integer value (token `JsonToken.VALUE_NUMBER_INT`)"
    return "Floating-point value (token `JsonToken.VALUE_NUMBER_FLOAT`)"


_JAVA_TRIMMED = "".join(chr(code) for code in range(0x21))

#: How a ``Map<String, Object>`` property (a task's ``context``) is held once read.
MAP_TYPE = "java.util.LinkedHashMap<java.lang.String,java.lang.Object>"


def map_mismatch(value: Any) -> str | None:
    """Jackson's message when ``value`` cannot be read as a ``Map<String, Object>``; None when it can.

    ``MapDeserializer`` reads objects (and null); a string goes through ``_deserializeFromString``
    (no String creator; empty and blank strings are refused by the default coercion config), and
    anything else, arrays included, is an unexpected token.
    """
    if value is None or isinstance(value, dict):
        return None
    if isinstance(value, str):
        trimmed = value.strip(_JAVA_TRIMMED)  # String.trim(): every char up to U+0020
        if not trimmed:
            shown = 'empty String ("")' if value == "" else "blank String (all whitespace)"
            return (
                f"Cannot coerce {shown} to element of `java.util.LinkedHashMap` "
                "(but could if coercion was enabled using `CoercionConfig`)"
            )
        return (
            "Cannot construct instance of `java.util.LinkedHashMap` (although at least one Creator exists): "
            f"no String-argument constructor/factory method to deserialize from String value ('{trimmed}')"
        )
    return f"Cannot deserialize value of type `{MAP_TYPE}` from {shape_of(value)}"

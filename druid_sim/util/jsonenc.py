"""Compact JSON as Druid writes it (no spaces, fields in insertion order), sized for keeping, at any depth.

orjson returns bytes objects that keep the capacity of its output buffer (4 KiB or more even for a
short body). That is harmless for a response sent once, but a model that caches encodings for a
hundred thousand tasks would hold gigabytes of slack, so cached encodings go through :func:`dumps`,
which keeps an exact-size copy.

orjson also refuses to encode values nested more than 254 levels deep, while Druid (Jackson 2.15+)
accepts documents up to 1,000 levels. :func:`dumps` and :func:`dumps_sorted` therefore fall back to a
small iterative encoder for deeper values, which writes every scalar with orjson itself, so its
output is byte for byte what orjson would write if it had no depth limit.
"""

from __future__ import annotations

import sys
from typing import Any

import orjson

#: How deep orjson encodes (it raises past this many nested containers).
ORJSON_MAX_DEPTH = 254


def dumps(value: Any) -> bytes:
    """``orjson.dumps(value)`` copied into an exact-size bytes object, for values that are kept."""
    try:
        return bytes(memoryview(orjson.dumps(value)))
    except orjson.JSONEncodeError:
        if depth_exceeds(value, ORJSON_MAX_DEPTH):
            return _dumps_deep(value, sort_keys=False)
        raise


def dumps_sorted(value: Any) -> bytes:
    """``orjson.dumps(value, option=OPT_SORT_KEYS)`` at any depth (canonical forms for matching)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        if depth_exceeds(value, ORJSON_MAX_DEPTH):
            return _dumps_deep(value, sort_keys=True)
        raise


#: Enough Python frames to walk any document orjson parses (1,024 levels, two frames a level at most:
#: a function and its comprehension), with room for the frames below the walk.
_WALK_RECURSION_LIMIT = 4000


def allow_deep_walks() -> None:
    """Let a recursive walk over parsed JSON reach orjson's 1,024 levels (Python stops at 1,000 frames).

    Only ever raises the limit, so concurrent walkers never lower it under each other. The C stack
    is not at risk: Python 3.11 runs Python-to-Python calls without growing it.
    """
    if sys.getrecursionlimit() < _WALK_RECURSION_LIMIT:
        sys.setrecursionlimit(_WALK_RECURSION_LIMIT)


def depth_exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` nests more than ``limit`` lists and dicts (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _dumps_deep(value: Any, sort_keys: bool) -> bytes:
    """The iterative encoder: a stack of pending pieces instead of recursion."""
    out: list[bytes] = []
    # Each entry is either bytes to write or a value to encode.
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, bytes):
            out.append(item)
        elif isinstance(item, dict):
            keys = sorted(item) if sort_keys else list(item)
            pieces: list[Any] = [b"{"]
            for index, key in enumerate(keys):
                pieces += [b"," if index else b"", orjson.dumps(key) + b":", item[key]]
            pieces.append(b"}")
            stack.extend(reversed(pieces))
        elif isinstance(item, list):
            pieces = [b"["]
            for index, child in enumerate(item):
                pieces += [b"," if index else b"", child]
            pieces.append(b"]")
            stack.extend(reversed(pieces))
        else:
            out.append(orjson.dumps(item))
    return b"".join(out)

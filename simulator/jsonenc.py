"""Compact JSON as Druid writes it (no spaces, fields in insertion order), sized for keeping.

orjson returns bytes objects that keep the capacity of its output buffer (4 KiB or more even for a
short body). That is harmless for a response sent once, but a model that caches encodings for a
hundred thousand tasks would hold gigabytes of slack, so cached encodings go through :func:`dumps`,
which keeps an exact-size copy.
"""

from __future__ import annotations

from typing import Any

import orjson


def dumps(value: Any) -> bytes:
    """``orjson.dumps(value)`` copied into an exact-size bytes object, for values that are kept."""
    return bytes(memoryview(orjson.dumps(value)))

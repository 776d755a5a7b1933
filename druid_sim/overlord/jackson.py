"""JSON as Jackson's ``DefaultPrettyPrinter`` writes it, which is how Druid prints tasks and statuses in logs.

``ExecutorLifecycle`` logs ``Running with task: {...}`` and ``Task completed with status: {...}`` with
``writerWithDefaultPrettyPrinter()``: objects one field per line, indented two spaces per *object*
level, ``"name" : value``, while arrays stay on the line (``[ 1, 2 ]``, ``[ {`` ... ``} ]``), and empty
containers are ``{ }`` and ``[ ]``.
"""

from __future__ import annotations

from typing import Any

import orjson


def pretty(value: Any) -> str:
    """``value`` (JSON data) printed the way Jackson's default pretty printer prints it."""
    out: list[str] = []
    _write(value, 0, out)
    return "".join(out)


def _write(value: Any, depth: int, out: list[str]) -> None:
    if isinstance(value, dict):
        if not value:
            out.append("{ }")
            return
        inner = "\n" + "  " * (depth + 1)
        out.append("{")
        for number, (key, item) in enumerate(value.items()):
            out.append(("," if number else "") + inner)
            out.append(orjson.dumps(str(key)).decode() + " : ")
            _write(item, depth + 1, out)
        out.append("\n" + "  " * depth + "}")
    elif isinstance(value, list | tuple):
        if not value:
            out.append("[ ]")
            return
        out.append("[ ")
        for number, item in enumerate(value):
            if number:
                out.append(", ")
            _write(item, depth, out)  # arrays do not indent: only objects count as levels
        out.append(" ]")
    else:
        out.append(orjson.dumps(value).decode())

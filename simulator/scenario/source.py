"""Loading YAML with the line of every key, safely (no object tags), and reporting syntax errors by line.

The loader is ``yaml.SafeLoader`` with two constructors replaced: mappings become :class:`LineDict`
and sequences :class:`LineList`, which remember where each key and item was written. Everything
else (scalars, anchors, merge keys) is PyYAML's safe behaviour unchanged.
"""

from __future__ import annotations

from typing import Any

import yaml

from simulator.quoting import quoting, shown_name
from simulator.scenario.fields import LineDict, LineList, Problem, ScenarioError


class _DuplicateKey(Exception):
    def __init__(self, key: Any, line: int) -> None:
        super().__init__(key)
        self.key = key
        self.line = line


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that records lines and refuses duplicate keys (PyYAML silently keeps the last)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise _DuplicateKey(key, key_node.start_mark.line + 1)
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> LineList:
    result = LineList()
    result.line = node.start_mark.line + 1
    for item in node.value:
        result.append(loader.construct_object(item, deep=True))
        result.lines.append(item.start_mark.line + 1)
    return result


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


def load_yaml(text: str, source: str) -> Any:
    """The document in ``text``; a :class:`ScenarioError` naming ``source`` and the line if it is not YAML."""
    try:
        return yaml.load(text, Loader=_LineLoader)  # a SafeLoader subclass: no object tags
    except _DuplicateKey as exc:
        problem = Problem(exc.line, shown_name(exc.key), "is given twice; keep one")
        raise ScenarioError(source, [problem]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = " ".join(part for part in (exc.context, exc.problem) if part) if quoting() else ""
        problem = Problem(
            line, "", f"not valid YAML{': ' + what if what else ''}; check indentation, colons and quotes"
        )
        raise ScenarioError(source, [problem]) from None
    except yaml.YAMLError as exc:
        message = f"not valid YAML: {exc}" if quoting() else "not valid YAML"
        raise ScenarioError(source, [Problem(None, "", message)]) from None

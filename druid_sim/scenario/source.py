"""Loading YAML with the line of every key, safely (no object tags), and reporting syntax errors by line.

The loader is ``yaml.SafeLoader`` with two constructors replaced: mappings become :class:`LineDict`
and sequences :class:`LineList`, which remember where each key and item was written. Everything
else (scalars, anchors, merge keys) is PyYAML's safe behaviour unchanged.
"""

from __future__ import annotations

from typing import Any

import yaml

from druid_sim.fields import LineDict, LineList, Problem, ScenarioError
from druid_sim.util.quoting import quoting, shown_name

#: How deep a scenario may nest (the real ones use five levels); PyYAML recurses per level.
MAX_DEPTH = 64
#: How many nodes a document may stand for once its aliases are expanded ("billion laughs": ten
#: aliases of ten aliases of ... a small file that stands for a huge one).
MAX_NODES = 100_000


class _Refused(Exception):
    """A document refused before it is built: ``line`` (1-based) and what to do about it."""

    def __init__(self, line: int | None, field: str, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.field = field
        self.message = message


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that records lines, refuses duplicate and unhashable keys (PyYAML silently keeps the
    last duplicate, and fails on a list as a key with a TypeError), and bounds nesting and aliases."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise _Refused(mark.line + 1, "", f"nested more than {MAX_DEPTH} levels deep; flatten it")
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self._depth -= 1

    def get_single_node(self) -> yaml.Node | None:
        node = super().get_single_node()
        if node is not None:
            _check_expanded_size(node)
        return node  # type: ignore[no-any-return]


def _check_expanded_size(root: yaml.Node) -> None:
    """Count the nodes ``root`` stands for, aliases expanded, without expanding them (each node once)."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        if not children_done:
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
            continue
        size = 1 + sum(sizes.get(id(child), 1) for child in children)
        sizes[id(node)] = size
        if size > MAX_NODES:
            line = node.start_mark.line + 1
            raise _Refused(line, "", f"stands for more than {MAX_NODES:,} values once its aliases (*name) are expanded")


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            line = key_node.start_mark.line + 1
            raise _Refused(line, "", "a key must be a name, not a list or a mapping; check the colons") from None
        if key in result:
            raise _Refused(key_node.start_mark.line + 1, shown_name(key), "is given twice; keep one")
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
    except _Refused as exc:
        raise ScenarioError(source, [Problem(exc.line, exc.field, exc.message)]) from None
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

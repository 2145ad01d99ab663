"""YAML with line numbers: compose a file and map every key path to the line it is on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from bot.engine.problems import FlowProblem

# A path of keys and list indexes from the document root, e.g. ("steps", "ask", "next", 0).
KeyPath = tuple[Any, ...]


def compose(source: str, file: str, problems: list[FlowProblem]) -> yaml.Node | None:
    """Compose YAML text into a node tree; report syntax errors with their line."""
    try:
        node = yaml.compose(source, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 0
        problems.append(FlowProblem(file, line, f"not valid YAML: {error.problem}"))
        return None
    except yaml.YAMLError as error:
        problems.append(FlowProblem(file, 0, f"not valid YAML: {error}"))
        return None
    if node is None:
        problems.append(FlowProblem(file, 1, "empty file"))
    return node


def map_lines(node: yaml.Node, file: str, problems: list[FlowProblem]) -> dict[KeyPath, int]:
    """Map every key path of a composed YAML tree to its 1-based line; report duplicate keys."""
    lines: dict[KeyPath, int] = {(): node.start_mark.line + 1}
    constructor = yaml.constructor.SafeConstructor()

    def walk(node: yaml.Node, path: KeyPath) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = _scalar_key(constructor, key_node)
                child = (*path, key)
                if child in lines:
                    line = key_node.start_mark.line + 1
                    problems.append(FlowProblem(file, line, f"duplicate key {key!r}"))
                lines[child] = key_node.start_mark.line + 1
                walk(value_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                lines[(*path, index)] = item.start_mark.line + 1
                walk(item, (*path, index))

    walk(node, ())
    return lines


def _scalar_key(constructor: yaml.constructor.SafeConstructor, node: yaml.Node) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        return repr(node.value)
    try:
        key = constructor.construct_object(node)
    except yaml.YAMLError:
        return node.value
    # Paths must match the constructed data (`0:` is the int 0), but YAML booleans keep
    # their spelling so a message can say which `no:` key is meant.
    return node.value if isinstance(key, bool) or key is None else key


def line_for(lines: Mapping[KeyPath, int], path: tuple[Any, ...]) -> int:
    """The line of the longest prefix of `path` that is written in the file."""
    best = lines.get((), 1)
    current: tuple[Any, ...] = ()
    for part in path:
        candidate = (*current, part)
        if candidate in lines:
            current = candidate
            best = lines[candidate]
    return best

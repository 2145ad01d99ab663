"""Flow files: the Flow and FlowLibrary models and their loader, which reports every problem."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any

import yaml
from pydantic import Field, ValidationError
from pydantic_core import ErrorDetails

from bot.engine import inspect
from bot.engine.model import SLUG, Slug, Strict
from bot.engine.problems import FlowError, FlowProblem
from bot.engine.steps import REGISTRY
from bot.engine.steps.base import Path, Step
from bot.engine.yamlmap import compose, line_for, map_lines

EXCLUDED_FILES = frozenset({"safety.yaml"})
# Keys the loader sets itself; a flow author must not write them.
RESERVED_KEYS = frozenset({"name", "line"})
COMMON_KEYS = frozenset(
    key
    for cls in REGISTRY.values()
    for name, info in cls.model_fields.items()
    for key in (info.alias or name,)
    if key not in REGISTRY and key not in RESERVED_KEYS
)


@dataclass(frozen=True, eq=False)
class Flow:
    """A validated flow: its steps by name, in file order, and where each key is written."""

    name: str
    description: str
    start: str
    steps: Mapping[str, Step]
    file: str
    lines: Mapping[Path, int] = field(default_factory=dict, repr=False)

    def line_of(self, *path: str | int) -> int:
        """The line of the deepest written key along `path` (1 for the file itself)."""
        return line_for(self.lines, path)

    def step_line(self, step: str, *path: str | int) -> int:
        """The line of a key inside a step."""
        return self.line_of("steps", step, *path)


@dataclass(frozen=True, eq=False)
class FlowLibrary:
    """All flows by name."""

    flows: Mapping[str, Flow]

    def get(self, name: str) -> Flow:
        """The flow called `name`; KeyError if there is none."""
        return self.flows[name]

    def __contains__(self, name: object) -> bool:
        return name in self.flows

    def __iter__(self) -> Iterator[Flow]:
        return iter(self.flows.values())


class FlowFile(Strict):
    """The top level of a flow file."""

    flow: Slug
    description: str = ""
    start: Slug | None = None
    steps: dict[str, Any] = Field(min_length=1)


def load_flow(path: str | FilePath) -> Flow:
    """Load and validate one flow file; raise FlowError with every problem found."""
    path = FilePath(path)
    problems: list[FlowProblem] = []
    flow = _load_file(path, problems)
    if problems or flow is None:
        raise FlowError(problems)
    return flow


def load_library(directory: str | FilePath) -> FlowLibrary:
    """Load every `*.yaml` flow of a directory (not safety.yaml); raise FlowError on problems."""
    problems: list[FlowProblem] = []
    flows: dict[str, Flow] = {}
    paths = sorted(FilePath(directory).glob("*.yaml"))
    for path in paths:
        if path.name not in EXCLUDED_FILES:
            flow = _load_file(path, problems)
            if flow is not None:
                flows[flow.name] = flow
    library = FlowLibrary(flows)
    # A flow that failed to load still exists: don't also call references to it unknown.
    known = {path.stem for path in paths if path.name not in EXCLUDED_FILES}
    problems.extend(inspect.check_library(library, known))
    if problems:
        raise FlowError(problems)
    return library


def parse_flow(source: str, file: str, name: str | None = None) -> Flow:
    """Validate a flow given as YAML text (`name`: the file's stem, checked against `flow:`)."""
    problems: list[FlowProblem] = []
    node = compose(source, file, problems)
    flow = None if node is None else flow_from_node(node, file, name, problems)
    if problems or flow is None:
        raise FlowError(problems)
    return flow


def _load_file(path: FilePath, problems: list[FlowProblem]) -> Flow | None:
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        problems.append(FlowProblem(str(path), 0, f"cannot read: {error}"))
        return None
    node = compose(source, str(path), problems)
    return None if node is None else flow_from_node(node, str(path), path.stem, problems)


# --- building --------------------------------------------------------------------------------


def flow_from_node(
    node: yaml.Node, file: str, name: str | None, problems: list[FlowProblem]
) -> Flow | None:
    """Build a Flow from a composed YAML node; append problems (None if it cannot be built)."""
    count = len(problems)
    lines = map_lines(node, file, problems)
    data = yaml.constructor.SafeConstructor().construct_document(node)
    try:
        header = FlowFile.model_validate(data)
    except ValidationError as error:
        problems.extend(_problems(error, file, lines, ()))
        return None
    if name is not None and header.flow != name:
        problems.append(
            FlowProblem(
                file, line_for(lines, ("flow",)), f"flow {header.flow!r} must be in {name}.yaml"
            )
        )
    steps: dict[str, Step] = {}
    for step_name, mapping in header.steps.items():
        step = _build_step(str(step_name), mapping, file, lines, problems)
        if step is not None:
            steps[str(step_name)] = step
    start = header.start or next(iter(header.steps))
    if start not in header.steps:
        problems.append(
            FlowProblem(file, line_for(lines, ("start",)), f"start step {start!r} does not exist")
        )
    if len(problems) > count:
        return None
    flow = Flow(header.flow, header.description, start, steps, file, lines)
    problems.extend(inspect.check_flow(flow))
    return flow if len(problems) == count else None


def _build_step(
    name: str,
    mapping: Any,
    file: str,
    lines: Mapping[Path, int],
    problems: list[FlowProblem],
) -> Step | None:
    path: Path = ("steps", name)
    here = line_for(lines, path)
    if not re.match(SLUG, name):
        problems.append(FlowProblem(file, here, f"step name {name!r} must be snake_case"))
    if not isinstance(mapping, dict):
        problems.append(FlowProblem(file, here, f"step {name!r} must be a mapping of keys"))
        return None
    type_keys = [key for key in mapping if key in REGISTRY]
    if len(type_keys) > 1:
        listed = ", ".join(type_keys)
        problems.append(
            FlowProblem(file, here, f"step {name!r} has several type keys ({listed}): one per step")
        )
        return None
    if not type_keys:
        unknown = [key for key in mapping if key not in COMMON_KEYS]
        if unknown:
            line = line_for(lines, (*path, unknown[0]))
            message = f"step {name!r}: unknown step type {unknown[0]!r}"
        else:
            line, message = here, f"step {name!r} has no type key (say, ask_text, end, …)"
        problems.append(FlowProblem(file, line, message))
        return None
    for key in RESERVED_KEYS.intersection(mapping):
        problems.append(FlowProblem(file, line_for(lines, (*path, key)), f"unknown key {key!r}"))
    if RESERVED_KEYS.intersection(mapping):
        return None
    cls = REGISTRY[type_keys[0]]
    try:
        return cls.model_validate({**mapping, "name": name, "line": here})
    except ValidationError as error:
        problems.extend(_problems(error, file, lines, path, f"step {name!r}: "))
        return None


def _problems(
    error: ValidationError, file: str, lines: Mapping[Path, int], base: Path, prefix: str = ""
) -> Iterator[FlowProblem]:
    for detail in error.errors():
        location = tuple(detail["loc"])
        line = line_for(lines, (*base, *location))
        yield FlowProblem(file, line, prefix + _message(detail))


def _message(detail: ErrorDetails) -> str:
    # Keep only the parts of pydantic's location a flow author wrote (not union tags).
    where = ".".join(
        str(part) for part in detail["loc"] if isinstance(part, int) or "[" not in str(part)
    )
    kind = detail["type"]
    if kind == "extra_forbidden":
        return f"unknown key {where!r}"
    if kind == "missing":
        return f"missing key {where!r}"
    message = detail["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message

"""Static checks of loaded flows, and the list of their translatable texts."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.engine.problems import FlowProblem
from bot.engine.steps.start_flow import StartFlow

if TYPE_CHECKING:
    from bot.engine.flow import Flow, FlowLibrary


@dataclass(frozen=True)
class FlowMessage:
    """A translatable text of a flow, where it is written and what is sent with it."""

    msgid: str
    plural: str | None
    line: int
    step: str
    sms_segments: int
    # Label texts sent as extra lines with this message (numbered options, scale ends).
    choices: tuple[str, ...]
    comment: str = ""
    # "message" (sent on its own), "label" (a line under its question), "keywords" (never sent).
    kind: str = "message"


def check_flow(flow: Flow) -> list[FlowProblem]:
    """Targets that point nowhere, steps never reached, and dead ends."""
    problems: list[FlowProblem] = []
    for step in flow.steps.values():
        for path, target in step.targets():
            if target not in flow.steps:
                where = ".".join(str(part) for part in path)
                problems.append(
                    FlowProblem(
                        flow.file,
                        flow.step_line(step.name, *path),
                        f"step {step.name!r}: {where} points to {target!r}, which is not a step",
                    )
                )
        if step.needs_next() and not step.next:
            problems.append(
                FlowProblem(
                    flow.file,
                    step.line,
                    f"step {step.name!r} has no next: write one, or go to an end step",
                )
            )
    reached = reachable(flow)
    for step in flow.steps.values():
        if step.name not in reached:
            problems.append(
                FlowProblem(
                    flow.file,
                    step.line,
                    f"step {step.name!r} is never reached from {flow.start!r}",
                )
            )
    return problems


def reachable(flow: Flow) -> set[str]:
    """Names of the steps some path from `start` reaches."""
    seen: set[str] = set()
    todo = [flow.start]
    while todo:
        name = todo.pop()
        if name in seen or name not in flow.steps:
            continue
        seen.add(name)
        todo.extend(target for _, target in flow.steps[name].targets())
    return seen


def check_library(library: FlowLibrary, known: Iterable[str] | None = None) -> list[FlowProblem]:
    """start_flow steps naming a flow that does not exist (`known`: names that do)."""
    names = set(known) if known is not None else set(library.flows)
    problems: list[FlowProblem] = []
    for flow in library:
        for step in flow.steps.values():
            if isinstance(step, StartFlow) and step.start_flow not in names:
                problems.append(
                    FlowProblem(
                        flow.file,
                        flow.step_line(step.name, "start_flow"),
                        f"step {step.name!r}: start_flow names unknown flow {step.start_flow!r}",
                    )
                )
    return problems


def iter_messages(flow: Flow) -> Iterator[FlowMessage]:
    """Every translatable text of a flow, in file order, with its line."""
    for step in flow.steps.values():
        labels = tuple(label.source for label in step.choice_labels())
        for ref in step.texts():
            if not ref.translate:
                continue
            # The prompt and its reminders are sent with the choices; other texts alone.
            with_choices = ref.path == (step.TYPE,) or ref.path[0] == "timeouts"
            yield FlowMessage(
                msgid=ref.text.source,
                plural=ref.text.plural,
                line=flow.step_line(step.name, *ref.path),
                step=step.name,
                sms_segments=step.sms_segments,
                choices=labels if with_choices else (),
                comment=ref.comment,
                kind=_kind(ref.path),
            )


def _kind(path: tuple[str | int, ...]) -> str:
    if str(path[-1]).endswith("keywords"):  # an option's keywords, ask_text's skip_keywords
        return "keywords"
    if path[0] in {"options", "labels"}:
        return "label"
    return "message"

"""Base classes of steps and the jumps a step returns to the runner."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import Field, model_validator

from bot.engine.context import Context
from bot.engine.model import Next, Strict, Target, Text, Timeout

# A path inside a step's YAML mapping, e.g. ("next", 0, "goto"); used to find line numbers.
Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Goto:
    """Go on with another step of the same flow."""

    step: str


@dataclass(frozen=True)
class Wait:
    """Stop here until an answer or a timeout."""


@dataclass(frozen=True)
class EnterFlow:
    """Start another flow; come back to `then` when it ends (None: never come back)."""

    flow: str
    then: str | None


@dataclass(frozen=True)
class EndFlow:
    """The current flow ends with an outcome (the run ends when no flow is left)."""

    outcome: str


@dataclass(frozen=True)
class Fail:
    """The run cannot go on; ends it with RunFailed."""

    reason: str


Jump = Goto | Wait | EnterFlow | EndFlow | Fail


@dataclass(frozen=True)
class Answer:
    """A valid, parsed answer (the value saved; any JSON value, including false)."""

    value: Any


@dataclass(frozen=True)
class TextRef:
    """A text of a step and where it is in the step's YAML (for extraction and checks)."""

    path: Path
    text: Text
    translate: bool = True
    comment: str = ""


class Step(Strict):
    """A step: exactly one type key (the class's TYPE) plus the common keys."""

    TYPE: ClassVar[str]

    name: str = ""
    line: int = 0
    next: Next | None = None
    sms_segments: int = Field(default=3, ge=1, le=10)

    def run(self, ctx: Context) -> Jump:
        """Do what the step does on arrival and say where to go."""
        raise NotImplementedError

    def follow(self, ctx: Context) -> Jump:
        """The first `next` rule whose condition holds."""
        for rule in self.next or ():
            if rule.when is None or rule.when.evaluate(ctx.lookup):
                return Goto(rule.goto)
        if not self.next:
            return Fail(f"step {self.name!r} has no next")
        return Fail(f"no next condition of step {self.name!r} holds")

    def needs_next(self) -> bool:
        """False for steps that end the flow by themselves."""
        return True

    def targets(self) -> Iterator[tuple[Path, str]]:
        """Every step name this step may go to, with where it is written."""
        for index, rule in enumerate(self.next or ()):
            yield ("next", index, "goto"), rule.goto

    def texts(self) -> Iterator[TextRef]:
        """Every translatable text of the step."""
        yield from ()

    def choice_labels(self) -> tuple[Text, ...]:
        """Texts sent as extra lines with the step's prompt (options, scale ends)."""
        return ()


class AskStep(Step):
    """A question: sends a prompt, waits, parses the answer, saves it, re-prompts on nonsense."""

    DEFAULT_INVALID: ClassVar[str]

    save: Target | None = None
    retries: int = Field(default=2, ge=0, le=10)
    invalid: Text | None = None
    on_fail: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")
    timeouts: list[Timeout] = Field(default_factory=list)

    def question(self) -> Text:
        """The prompt: the value of the type key."""
        value = getattr(self, self.TYPE)
        if not isinstance(value, Text):
            raise TypeError(f"{type(self).__name__}.{self.TYPE} is not a Text")
        return value

    def run(self, ctx: Context) -> Jump:
        self.prompt(ctx)
        return Wait()

    def prompt(self, ctx: Context, text: Text | None = None) -> None:
        """Send the prompt (or a reminder `text`) with the step's choices."""
        ctx.send(text or self.question(), self.name, self.render_choices(ctx))

    def render_choices(self, ctx: Context) -> tuple[str, ...]:
        """The choices shown with the prompt, in the person's language."""
        return ()

    def reject(self, ctx: Context) -> None:
        """Tell the person the answer was not understood."""
        text = self.invalid or Text(source=self.default_invalid())
        ctx.send(text, self.name, (), self.limits())

    def default_invalid(self) -> str:
        """The engine's own invalid text for this kind of question."""
        return self.DEFAULT_INVALID

    def limits(self) -> dict[str, Any]:
        """Values the default invalid text may name ({min}, {max}, …)."""
        return {}

    def parse(self, ctx: Context, text: str) -> Answer | None:
        """The answer's value, or None when it is not valid."""
        raise NotImplementedError

    @model_validator(mode="after")
    def _timeouts_in_order(self) -> AskStep:
        afters = [timeout.after for timeout in self.timeouts]
        if afters != sorted(set(afters)):
            raise ValueError("timeouts must be listed in increasing `after` order")
        return self

    def targets(self) -> Iterator[tuple[Path, str]]:
        yield from super().targets()
        if self.on_fail is not None:
            yield ("on_fail",), self.on_fail
        for index, timeout in enumerate(self.timeouts):
            if timeout.goto is not None:
                yield ("timeouts", index, "goto"), timeout.goto

    def texts(self) -> Iterator[TextRef]:
        yield TextRef((self.TYPE,), self.question())
        if self.invalid is not None:
            yield TextRef(("invalid",), self.invalid)
        for index, timeout in enumerate(self.timeouts):
            if timeout.say is not None:
                yield TextRef(("timeouts", index, "say"), timeout.say)

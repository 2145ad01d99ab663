"""The runner: start, resume and time out runs; each call is one sprint of events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.engine.context import ContactView, Context, StepFailure
from bot.engine.events import AnswerRejected, Event, FlowEntered, RunEnded, RunFailed
from bot.engine.flow import FlowLibrary
from bot.engine.state import Frame, RunState, StateError
from bot.engine.steps.base import AskStep, EndFlow, EnterFlow, Fail, Goto, Jump, Wait
from bot.engine.text import Translations

MAX_STEPS_PER_SPRINT = 100
FAILED = "failed"
FAILED_ANSWERS = "failed_answers"

__all__ = ["MAX_STEPS_PER_SPRINT", "ContactView", "Runner", "Sprint", "StateError"]


@dataclass(frozen=True)
class Sprint:
    """What one call produced: the state to store (None: the run is over), events, next timeout."""

    state: dict[str, Any] | None
    events: list[Event]
    wait_until: datetime | None
    steps: int = 0

    @property
    def outcome(self) -> str | None:
        """The run's outcome if it ended in this sprint."""
        ended = [event for event in self.events if isinstance(event, RunEnded)]
        return ended[-1].outcome if ended else None


class Runner:
    """Runs flows of a library; pure: everything it needs comes in through the arguments."""

    def __init__(
        self,
        library: FlowLibrary,
        translations: Translations,
        max_steps: int = MAX_STEPS_PER_SPRINT,
    ) -> None:
        self.library = library
        self.translations = translations
        self.max_steps = max_steps

    def start(self, flow_name: str, contact: ContactView, now: datetime) -> Sprint:
        """Start a run of `flow_name` for the person, until its first wait or its end."""
        _check_now(now)
        run = RunState(flow=flow_name, step="", asked_at=now)
        ctx = Context(self.translations, contact, run.results, now)
        return self._drive(run, ctx, EnterFlow(flow_name, None))

    def resume(
        self, state: dict[str, Any], contact: ContactView, text: str, now: datetime
    ) -> Sprint:
        """Continue a waiting run with the person's answer."""
        _check_now(now)
        run = RunState.from_json(state)
        ctx = Context(self.translations, contact, run.results, now)
        step = self._waiting_step(run)
        if isinstance(step, Fail):
            return self._drive(run, ctx, step)
        answer = step.parse(ctx, text)
        if answer is not None:
            try:
                if step.save is not None:
                    ctx.save(step.save, answer.value, step.name, text)
                jump = step.follow(ctx)
            except StepFailure as failure:
                jump = Fail(str(failure))
            return self._drive(run, ctx, jump)
        run.invalid += 1
        ctx.emit(AnswerRejected(step.name, text, run.invalid))
        if run.invalid <= step.retries:
            step.reject(ctx)
            step.prompt(ctx)
            return self._waiting(run, ctx, step)
        # Out of retries: as if the step had an `end: failed_answers` after it.
        return self._drive(
            run, ctx, Goto(step.on_fail) if step.on_fail else EndFlow(FAILED_ANSWERS)
        )

    def repeat(self, state: dict[str, Any], contact: ContactView, now: datetime) -> Sprint:
        """Send the waiting question again, as asked; no retry is used, no timeout moves."""
        _check_now(now)
        run = RunState.from_json(state)
        ctx = Context(self.translations, contact, run.results, now)
        step = self._waiting_step(run)
        if isinstance(step, Fail):
            return self._drive(run, ctx, step)
        step.prompt(ctx)
        return self._waiting(run, ctx, step)

    def timeout(self, state: dict[str, Any], contact: ContactView, now: datetime) -> Sprint:
        """Apply the timeouts that are due at `now` (none due: nothing happens)."""
        _check_now(now)
        run = RunState.from_json(state)
        ctx = Context(self.translations, contact, run.results, now)
        step = self._waiting_step(run)
        if isinstance(step, Fail):
            return self._drive(run, ctx, step)
        pending = range(run.timeouts_done, len(step.timeouts))
        due = [i for i in pending if run.asked_at + step.timeouts[i].after <= now]
        if not due:
            return self._waiting(run, ctx, step)
        # When the host comes late, a due goto wins and reminders that are already stale
        # are not sent; otherwise only the latest due reminder is.
        leaving = [i for i in due if step.timeouts[i].goto is not None]
        chosen = leaving[0] if leaving else due[-1]
        run.timeouts_done = chosen + 1
        timeout = step.timeouts[chosen]
        if timeout.goto is not None:
            return self._drive(run, ctx, Goto(timeout.goto))
        step.prompt(ctx, timeout.say)
        return self._waiting(run, ctx, step)

    def _waiting_step(self, run: RunState) -> AskStep | Fail:
        flow = self.library.flows.get(run.flow)
        step = None if flow is None else flow.steps.get(run.step)
        if not isinstance(step, AskStep):
            # The flows changed since the state was stored (a deploy removed the step).
            return Fail(f"waiting step {run.flow}/{run.step} no longer exists")
        return step

    def _drive(self, run: RunState, ctx: Context, jump: Jump) -> Sprint:
        """Follow jumps from step to step until the run waits or ends."""
        steps = 0
        while True:
            if isinstance(jump, Wait):
                run.asked_at, run.invalid, run.timeouts_done = ctx.now, 0, 0
                step = self._waiting_step(run)
                if isinstance(step, AskStep):
                    return self._waiting(run, ctx, step)
                jump = step
            elif isinstance(jump, Goto):
                steps += 1
                ctx.steps += 1
                flow = self.library.flows[run.flow]
                if steps > self.max_steps:
                    jump = Fail(f"more than {self.max_steps} steps without waiting: a loop?")
                elif jump.step not in flow.steps:
                    jump = Fail(f"step {run.flow}/{jump.step} does not exist")
                else:
                    run.step = jump.step
                    try:
                        jump = flow.steps[jump.step].run(ctx)
                    except StepFailure as failure:
                        jump = Fail(f"step {run.flow}/{run.step}: {failure}")
            elif isinstance(jump, EnterFlow):
                if jump.flow not in self.library:
                    jump = Fail(f"unknown flow {jump.flow!r}")
                    continue
                if jump.then is not None:
                    run.stack.append(Frame(flow=run.flow, then=jump.then))
                run.flow = jump.flow
                ctx.emit(FlowEntered(jump.flow))
                jump = Goto(self.library.get(jump.flow).start)
            elif isinstance(jump, EndFlow):
                if run.stack:
                    frame = run.stack.pop()
                    run.flow = frame.flow
                    jump = Goto(frame.then)
                    continue
                ctx.emit(RunEnded(jump.outcome))
                return Sprint(None, ctx.events, None, ctx.steps)
            else:
                ctx.emit(RunFailed(jump.reason))
                ctx.emit(RunEnded(FAILED))
                return Sprint(None, ctx.events, None, ctx.steps)

    def _waiting(self, run: RunState, ctx: Context, step: AskStep) -> Sprint:
        pending = step.timeouts[run.timeouts_done :]
        wait_until = run.asked_at + pending[0].after if pending else None
        return Sprint(run.to_json(), ctx.events, wait_until, ctx.steps)


def _check_now(now: datetime) -> None:
    # Naive times cannot be compared with stored aware ones; catch the host's mistake early.
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")

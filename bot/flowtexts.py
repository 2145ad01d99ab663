"""The texts people receive, as translators and `relais flows check` see them.

One definition of "a flow's texts" exists: the engine's `iter_messages`. This module
turns it into Babel's extractor and into `FlowText`s for the catalog checks.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any, Literal, cast

import yaml

from bot.engine.flow import parse_flow
from bot.engine.inspect import iter_messages

__all__ = [
    "DEFAULT_SMS_SEGMENTS",
    "FlowText",
    "extract_flows",
    "iter_flow_texts",
]

DEFAULT_SMS_SEGMENTS = 3

Kind = Literal["message", "label", "keywords"]


@dataclass(frozen=True, slots=True)
class FlowText:
    """One translatable text of a flow, where it is, and how it is sent."""

    file: str
    line: int
    step: str
    msgid: str
    plural: str | None = None
    # For a question and its reminders, the labels sent with it (they count in its SMS).
    choices: tuple[str, ...] = ()
    # The SMS budget of a text sent on its own; None for labels (counted with their
    # question) and keywords (never sent).
    sms_segments: int | None = DEFAULT_SMS_SEGMENTS
    kind: Kind = "message"

    @property
    def translator_comments(self) -> list[str]:
        """What a translator needs to know about this text, one comment per line."""
        comments = [f"step: {self.step}"]
        if self.kind == "keywords":
            comments.append("comma-separated words people may answer with")
        elif self.kind == "label":
            comments.append("keep it short: sent by SMS, as a numbered line under the question")
        else:
            budget = self.sms_segments or DEFAULT_SMS_SEGMENTS
            comments.append(f"keep it short: sent by SMS (at most {budget} SMS)")
        return comments


def iter_flow_texts(source: str | bytes, file: str) -> Iterator[FlowText]:
    """Every translatable text of one flow file, in file order (FlowError if it is broken)."""
    text = source.decode("utf-8") if isinstance(source, bytes) else source
    if not _is_flow(text):
        return
    flow = parse_flow(text, file)
    found = [
        FlowText(
            file=file,
            line=message.line,
            step=message.step,
            msgid=message.msgid,
            plural=message.plural,
            choices=message.choices,
            sms_segments=message.sms_segments if message.kind == "message" else None,
            kind=cast(Kind, message.kind),
        )
        for message in iter_messages(flow)
    ]
    yield from sorted(found, key=lambda found_text: found_text.line)


def _is_flow(text: str) -> bool:
    # flows/safety.yaml is a lexicon, not a flow: it has no `flow:` key.
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        return True  # let the flow parser report where the YAML breaks
    return isinstance(document, dict) and "flow" in document


def extract_flows(
    fileobj: IO[bytes],
    keywords: Collection[str],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[tuple[int, str | None, str | tuple[str, str], list[str]]]:
    """Babel extractor for flows/*.yaml: yields (lineno, funcname, message, comments)."""
    source = fileobj.read().decode(options.get("encoding", "utf-8"))
    file = str(getattr(fileobj, "name", "<flow>"))
    for text in iter_flow_texts(source, file):
        if text.plural is None:
            yield text.line, None, text.msgid, text.translator_comments
        else:
            yield text.line, "ngettext", (text.msgid, text.plural), text.translator_comments

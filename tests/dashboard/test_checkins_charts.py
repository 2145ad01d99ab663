"""bot.charts: SVG made from data alone, the same every time, with every text escaped."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace

from bot.charts import (
    AnswersText,
    BarGroup,
    Fill,
    Series,
    WeekPoint,
    WeekStatus,
    answers_chart,
    bar_chart,
)

SVG = "{http://www.w3.org/2000/svg}"
TEXT = AnswersText(
    title="Answers",
    description="Loneliness week by week.",
    scale=("Never", "Hardly ever", "Occasionally", "Some of the time", "Often or always"),
    answered="Answered",
    missed="Missed",
    skipped="Not sent",
    waiting="Waiting",
    ucla="UCLA-3 total",
    empty="No check-in yet.",
)
WEEKS = [
    WeekPoint("2 Nov", WeekStatus.ANSWERED, loneliness=1, summary="Week of 2 Nov"),
    WeekPoint("9 Nov", WeekStatus.ANSWERED, loneliness=4, ucla_total=7),
    WeekPoint("16 Nov", WeekStatus.MISSED),
    WeekPoint("23 Nov", WeekStatus.SKIPPED),
    WeekPoint("30 Nov", WeekStatus.WAITING),
    WeekPoint("7 Dec", WeekStatus.ANSWERED, loneliness=2),
]


def parse(svg: str) -> ET.Element:
    """The chart as XML: being well-formed is part of what is tested."""
    return ET.fromstring(svg)  # noqa: S314 - our own output, never untrusted input


def markers(svg: str, kind: str) -> int:
    return len(re.findall(rf'class="marker {kind}"', svg))


def test_the_same_weeks_always_give_the_same_svg() -> None:
    first = answers_chart(WEEKS, TEXT, id_prefix="c1")
    assert first == answers_chart(list(WEEKS), TEXT, id_prefix="c1")
    parse(first)  # well-formed XML
    assert first.startswith('<svg xmlns="http://www.w3.org/2000/svg" class="chart"')


def test_each_week_has_a_marker_of_its_own_shape() -> None:
    svg = answers_chart(WEEKS, TEXT, id_prefix="c1")
    assert (markers(svg, "answered"), markers(svg, "missed"), markers(svg, "ucla")) == (3, 1, 1)
    assert (markers(svg, "skipped"), markers(svg, "waiting")) == (1, 1)
    root = parse(svg)
    shapes = {
        element.get("class"): element.tag.removeprefix(SVG)
        for element in root.iter()
        if (element.get("class") or "").startswith("marker")
    }
    # Told apart by shape, not colour: circle, cross (path), square, dashed circle, diamond.
    assert shapes == {
        "marker answered": "circle",
        "marker missed": "path",
        "marker skipped": "rect",
        "marker waiting": "circle",
        "marker ucla": "path",
    }


def test_weeks_without_an_answer_break_the_line_and_are_named_in_words() -> None:
    svg = answers_chart(WEEKS, TEXT, id_prefix="c1")
    line = re.search(r'<path d="([^"]+)" fill="none" stroke="#0b5cad"', svg)
    assert line is not None
    # Two runs: weeks 1-2, then week 6 alone after the silence.
    assert line.group(1).count("M") == 2
    for word in ("Missed", "Not sent", "Waiting"):
        assert f">{word}</text>" in svg


def test_the_chart_is_labelled_for_screen_readers() -> None:
    root = parse(answers_chart(WEEKS, TEXT, id_prefix="c1"))
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c1-title c1-desc"
    assert root.find(f"{SVG}title").text == "Answers"  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").text == "Loneliness week by week."  # type: ignore[union-attr]


def test_texts_and_ids_are_escaped() -> None:
    hostile = replace(TEXT, title="</title><script>alert(1)</script>", missed='a"b<c>')
    weeks = [WeekPoint("<b>1</b>", WeekStatus.MISSED, summary="x & y\x00")]
    svg = answers_chart(weeks, hostile, id_prefix='p"><x')
    assert "<script>" not in svg
    assert "&lt;/title&gt;&lt;script&gt;" in svg
    assert "&lt;b&gt;1&lt;/b&gt;" in svg
    assert "a&quot;b&lt;c&gt;" in svg
    assert 'id="p&quot;&gt;&lt;x-title"' in svg
    assert "x &amp; y</title>" in svg
    parse(svg)


def test_no_week_yet_says_so() -> None:
    svg = answers_chart([], TEXT, id_prefix="c1")
    assert ">No check-in yet.</text>" in svg
    assert markers(svg, "answered") == 0


def test_bars_are_told_apart_by_fill_pattern_and_carry_their_values() -> None:
    series = [
        Series("sent", "Sent", Fill.OUTLINE),
        Series("answered", "Answered", Fill.SOLID),
        Series("missed", "Missed", Fill.HATCH),
        Series("escalated", "Escalated", Fill.DOTS),
    ]
    groups = [
        BarGroup("2 Nov", {"sent": 12, "answered": 9, "missed": 3, "escalated": 1}),
        BarGroup("9 Nov", {"sent": 14, "answered": 13, "missed": 1}),
    ]
    svg = bar_chart(groups, series, title="By week", description="Sent…", id_prefix="bars")
    assert svg == bar_chart(groups, series, title="By week", description="Sent…", id_prefix="bars")
    root = parse(svg)
    bars = [e for e in root.iter(f"{SVG}rect") if (e.get("class") or "").startswith("bar ")]
    assert len(bars) == 8
    fills = {e.get("class"): e.get("fill") for e in bars}
    assert fills == {
        "bar sent": "#ffffff",
        "bar answered": "#1b1f24",
        "bar missed": "url(#bars-hatch)",
        "bar escalated": "url(#bars-dots)",
    }
    values = [e.text for e in root.iter(f"{SVG}text")]
    assert {"12", "9", "3", "1", "14", "13"} <= set(values)
    # The axis goes up to an even number above the highest bar.
    assert "20" in values
    assert "<title>9 Nov — Missed: 1</title>" in svg

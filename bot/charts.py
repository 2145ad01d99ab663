"""Small server-rendered SVG charts: a person's weekly answers, and a programme by week.

Pure functions of their data and of texts already translated by the caller: no Flask, no
database, no clock. The same data always gives the same bytes, so tests compare strings.
They return `Markup`: every text that goes in is escaped here, by `esc`, and nowhere else.

Charts are readable without colour: every series has its own marker shape or fill
pattern, values are written as text, a legend names each shape, and the SVG carries a
<title> and <desc> for screen readers (pages add a plain table beside it). Only
presentation attributes are used, never `style`: the dashboard's Content-Security-Policy
refuses inline styles.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from markupsafe import Markup

INK = "#1b1f24"
MUTED = "#4a5260"
LINE = "#c9ced6"
ACCENT = "#0b5cad"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"

# Characters XML 1.0 does not allow, even escaped: a stray one would break the page.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def esc(text: object) -> str:
    """`text` safe inside SVG/HTML text and double-quoted attributes."""
    return html.escape(_NOT_XML.sub("", str(text)), quote=True)


def _num(value: float) -> str:
    """Coordinates with one decimal, trailing zeros dropped: stable output."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


# --------------------------------------------------------------------- weekly answers


class WeekStatus(StrEnum):
    """What became of one week's check-in, as the chart shows it."""

    ANSWERED = "answered"
    MISSED = "missed"
    SKIPPED = "skipped"
    # Sent and not answered yet, or not delivered: no answer to show either way.
    WAITING = "waiting"


@dataclass(frozen=True)
class WeekPoint:
    """One week: its label, what happened, and the answers when there are some."""

    label: str
    status: WeekStatus
    # The loneliness question on a scale from 0 (never) to `AnswersText.scale` top.
    loneliness: int | None = None
    # The UCLA-3 total (3 to 9), in the months it was asked.
    ucla_total: int | None = None
    # A short sentence for this week, read by screen readers and shown on hover.
    summary: str = ""


@dataclass(frozen=True)
class AnswersText:
    """The words of the answers chart, in the reader's language."""

    title: str
    description: str
    # Labels of the loneliness scale, lowest (0) first.
    scale: tuple[str, ...]
    answered: str
    missed: str
    skipped: str
    waiting: str
    ucla: str
    empty: str


UCLA_MIN, UCLA_MAX = 3, 9

_W, _TOP, _PLOT_H, _LEFT, _RIGHT = 640, 16, 150, 120, 44
_BAND_Y = _TOP + _PLOT_H + 20
_H = _BAND_Y + 84


def answers_chart(points: Sequence[WeekPoint], text: AnswersText, *, id_prefix: str) -> Markup:
    """A step chart of the loneliness answers week by week, UCLA-3 totals as diamonds.

    Answered weeks are filled circles on the scale; missed weeks a cross, skipped weeks
    a hollow square and weeks still waiting a dashed circle, in a band under the axis,
    each with its word under the week label.
    """
    top_level = len(text.scale) - 1
    plot_w = _W - _LEFT - _RIGHT
    parts = [_svg_open(_W, _H, id_prefix, text.title, text.description)]
    # Scale: one dashed line and one label per level, "never" at the bottom.
    for level, label in enumerate(text.scale):
        y = _level_y(level, top_level)
        parts.append(
            f'<line x1="{_LEFT}" y1="{_num(y)}" x2="{_W - _RIGHT}" y2="{_num(y)}" '
            f'stroke="{LINE}" stroke-dasharray="3 3"/>'
        )
        parts.append(_text(_LEFT - 8, y + 4, label, anchor="end"))
    if any(p.ucla_total is not None for p in points):
        for total in (UCLA_MIN, 6, UCLA_MAX):
            parts.append(_text(_W - _RIGHT + 8, _ucla_y(total) + 4, str(total), anchor="start"))
        parts.append(_text(_W - 4, _TOP - 4, text.ucla, anchor="end", size=10))
    parts.append(
        f'<line x1="{_LEFT}" y1="{_TOP + _PLOT_H}" x2="{_W - _RIGHT}" y2="{_TOP + _PLOT_H}" '
        f'stroke="{INK}"/>'
    )
    if not points:
        parts.append(_text(_LEFT + plot_w / 2, _TOP + _PLOT_H / 2, text.empty, anchor="middle"))
        parts.append(_answers_legend(text, with_ucla=False))
        parts.append("</svg>")
        return _markup(parts)

    step = plot_w / len(points)
    xs = [_LEFT + step * (i + 0.5) for i in range(len(points))]
    parts.append(_step_line(points, xs, top_level))
    ucla = [(x, p.ucla_total) for x, p in zip(xs, points, strict=True) if p.ucla_total]
    if len(ucla) > 1:
        path = " ".join(f"{_num(x)},{_num(_ucla_y(v))}" for x, v in ucla)
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{MUTED}" stroke-width="1.5" '
            f'stroke-dasharray="6 4"/>'
        )
    words = {
        WeekStatus.MISSED: text.missed,
        WeekStatus.SKIPPED: text.skipped,
        WeekStatus.WAITING: text.waiting,
    }
    for x, point in zip(xs, points, strict=True):
        parts.append(_week_marker(x, point, top_level))
        parts.append(_text(x, _BAND_Y + 22, point.label, anchor="middle", size=10))
        if point.status in words:
            parts.append(
                _text(x, _BAND_Y + 36, words[point.status], anchor="middle", size=10, fill=MUTED)
            )
    parts.append(_answers_legend(text, with_ucla=bool(ucla)))
    parts.append("</svg>")
    return _markup(parts)


def _level_y(level: float, top_level: int) -> float:
    return _TOP + _PLOT_H - level / max(top_level, 1) * _PLOT_H


def _ucla_y(total: float) -> float:
    return _TOP + _PLOT_H - (total - UCLA_MIN) / (UCLA_MAX - UCLA_MIN) * _PLOT_H


def _step_line(points: Sequence[WeekPoint], xs: Sequence[float], top_level: int) -> str:
    """Hold each answer until the next week; a week without an answer breaks the line."""
    commands: list[str] = []
    previous: float | None = None
    for x, point in zip(xs, points, strict=True):
        if point.loneliness is None:
            previous = None
            continue
        y = _level_y(point.loneliness, top_level)
        if previous is None:
            commands.append(f"M{_num(x)} {_num(y)}")
        else:
            commands.append(f"H{_num(x)} V{_num(y)}")
        previous = y
    if not commands:
        return ""
    return (
        f'<path d="{" ".join(commands)}" fill="none" stroke="{ACCENT}" stroke-width="2" '
        f'stroke-linejoin="round"/>'
    )


def _week_marker(x: float, point: WeekPoint, top_level: int) -> str:
    title = f"<title>{esc(point.summary or point.label)}</title>"
    kind = point.status.value
    parts: list[str] = []
    if point.loneliness is not None:
        y = _level_y(point.loneliness, top_level)
        parts.append(
            f'<circle class="marker {kind}" cx="{_num(x)}" cy="{_num(y)}" r="5.5" '
            f'fill="{INK}" stroke="#ffffff" stroke-width="1.5">{title}</circle>'
        )
    elif point.status is WeekStatus.MISSED:
        d = 5
        parts.append(
            f'<path class="marker {kind}" d="M{_num(x - d)} {_BAND_Y - d} L{_num(x + d)} '
            f'{_BAND_Y + d} M{_num(x - d)} {_BAND_Y + d} L{_num(x + d)} {_BAND_Y - d}" '
            f'stroke="{INK}" stroke-width="2.5" fill="none">{title}</path>'
        )
    elif point.status is WeekStatus.SKIPPED:
        parts.append(
            f'<rect class="marker {kind}" x="{_num(x - 5)}" y="{_BAND_Y - 5}" width="10" '
            f'height="10" fill="#ffffff" stroke="{INK}" stroke-width="1.5">{title}</rect>'
        )
    elif point.status is WeekStatus.ANSWERED:
        # Answered, but the scale question itself was not understood: no level to plot.
        parts.append(
            f'<circle class="marker {kind}" cx="{_num(x)}" cy="{_BAND_Y}" r="5" fill="{INK}">'
            f"{title}</circle>"
        )
    else:
        parts.append(
            f'<circle class="marker {kind}" cx="{_num(x)}" cy="{_BAND_Y}" r="5" fill="#ffffff" '
            f'stroke="{INK}" stroke-width="1.5" stroke-dasharray="2 2">{title}</circle>'
        )
    if point.ucla_total is not None:
        y = _ucla_y(point.ucla_total)
        parts.append(
            f'<path class="marker ucla" d="{_diamond(x, y, 6)}" fill="#ffffff" stroke="{MUTED}" '
            f'stroke-width="2"><title>{esc(point.summary or point.label)}</title></path>'
        )
        parts.append(_text(x + 9, y - 6, str(point.ucla_total), anchor="start", size=10))
    return "".join(parts)


def _diamond(x: float, y: float, r: float) -> str:
    return (
        f"M{_num(x)} {_num(y - r)} L{_num(x + r)} {_num(y)} "
        f"L{_num(x)} {_num(y + r)} L{_num(x - r)} {_num(y)} Z"
    )


def _answers_legend(text: AnswersText, *, with_ucla: bool) -> str:
    y = _H - 12
    items = [
        f'<circle cx="{_LEFT}" cy="{y - 4}" r="5" fill="{INK}"/>'
        + _text(_LEFT + 10, y, text.answered),
        f'<path d="M{_LEFT + 116} {y - 9} L{_LEFT + 126} {y + 1} M{_LEFT + 116} {y + 1} '
        f'L{_LEFT + 126} {y - 9}" stroke="{INK}" stroke-width="2.5"/>'
        + _text(_LEFT + 132, y, text.missed),
        f'<rect x="{_LEFT + 226}" y="{y - 9}" width="10" height="10" fill="#ffffff" '
        f'stroke="{INK}" stroke-width="1.5"/>' + _text(_LEFT + 242, y, text.skipped),
    ]
    if with_ucla:
        items.append(
            f'<path d="{_diamond(_LEFT + 342, y - 4, 6)}" fill="#ffffff" stroke="{MUTED}" '
            f'stroke-width="2"/>' + _text(_LEFT + 354, y, text.ucla)
        )
    return '<g class="legend">' + "".join(items) + "</g>"


# ------------------------------------------------------------------ bars by week


class Fill(StrEnum):
    """How a series' bars are filled, so they differ without colour."""

    SOLID = "solid"
    OUTLINE = "outline"
    HATCH = "hatch"
    DOTS = "dots"


@dataclass(frozen=True)
class Series:
    """One kind of bar: its key in each group's values, its legend label, its fill."""

    key: str
    label: str
    fill: Fill


@dataclass(frozen=True)
class BarGroup:
    """The bars of one week: a label and a value per series key."""

    label: str
    values: dict[str, int]


_BAR_H = 150
_BAR_TOP = 28


def bar_chart(
    groups: Sequence[BarGroup],
    series: Sequence[Series],
    *,
    title: str,
    description: str,
    id_prefix: str,
) -> Markup:
    """Grouped bars, one group per week, each bar with its value written above it."""
    width, left, right = 640, 36, 8
    height = _BAR_TOP + _BAR_H + 64
    base = _BAR_TOP + _BAR_H
    top_value = _nice_ceiling(
        max((g.values.get(s.key, 0) for g in groups for s in series), default=0)
    )
    parts = [_svg_open(width, height, id_prefix, title, description), _patterns(id_prefix)]
    for value in (0, top_value // 2, top_value):
        y = base - value / top_value * _BAR_H
        parts.append(
            f'<line x1="{left}" y1="{_num(y)}" x2="{width - right}" y2="{_num(y)}" '
            f'stroke="{LINE}" stroke-dasharray="3 3"/>'
        )
        parts.append(_text(left - 6, y + 4, str(value), anchor="end", size=10))
    group_w = (width - left - right) / max(len(groups), 1)
    bar_w = group_w * 0.8 / max(len(series), 1)
    for index, group in enumerate(groups):
        x0 = left + group_w * index + group_w * 0.1
        for position, kind in enumerate(series):
            value = group.values.get(kind.key, 0)
            bar_h = value / top_value * _BAR_H
            x = x0 + bar_w * position
            parts.append(
                f'<rect class="bar {esc(kind.key)}" x="{_num(x)}" y="{_num(base - bar_h)}" '
                f'width="{_num(bar_w - 2)}" height="{_num(bar_h)}" '
                f"{_fill_attributes(kind.fill, id_prefix)}>"
                f"<title>{esc(group.label)} — {esc(kind.label)}: {value}</title></rect>"
            )
            parts.append(
                _text(x + (bar_w - 2) / 2, base - bar_h - 4, str(value), anchor="middle", size=9)
            )
        parts.append(_text(x0 + group_w * 0.4, base + 16, group.label, anchor="middle", size=10))
    parts.append(f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" stroke="{INK}"/>')
    legend_y = height - 14
    legend: list[str] = []
    for position, kind in enumerate(series):
        x = left + position * 150
        legend.append(
            f'<rect x="{x}" y="{legend_y - 10}" width="14" height="12" '
            f"{_fill_attributes(kind.fill, id_prefix)}/>" + _text(x + 20, legend_y, kind.label)
        )
    parts.append('<g class="legend">' + "".join(legend) + "</g></svg>")
    return _markup(parts)


def _nice_ceiling(value: int) -> int:
    """The smallest of 2, 4, 10, 20, 40, 100… at least `value`: an even axis top."""
    ceiling = 2
    while ceiling < value:
        ceiling = ceiling * 5 // 2 if str(ceiling).startswith("4") else ceiling * 2
    return ceiling


def _patterns(prefix: str) -> str:
    p = esc(prefix)
    return (
        "<defs>"
        f'<pattern id="{p}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)">'
        f'<rect width="6" height="6" fill="#ffffff"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{INK}" stroke-width="2.5"/></pattern>'
        f'<pattern id="{p}-dots" width="5" height="5" patternUnits="userSpaceOnUse">'
        f'<rect width="5" height="5" fill="#ffffff"/>'
        f'<circle cx="2.5" cy="2.5" r="1.3" fill="{INK}"/></pattern>'
        "</defs>"
    )


def _fill_attributes(fill: Fill, prefix: str) -> str:
    p = esc(prefix)
    if fill is Fill.SOLID:
        return f'fill="{INK}" stroke="{INK}"'
    if fill is Fill.OUTLINE:
        return f'fill="#ffffff" stroke="{INK}" stroke-width="1.5"'
    return f'fill="url(#{p}-{fill.value})" stroke="{INK}"'


# ------------------------------------------------------------------------- shared


def _markup(parts: list[str]) -> Markup:
    # Safe: every text and attribute value in `parts` went through `esc`.
    return Markup("".join(parts))  # noqa: S704


def _svg_open(width: int, height: int, prefix: str, title: str, description: str) -> str:
    p = esc(prefix)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-labelledby="{p}-title {p}-desc" '
        f'font-family="{FONT}" font-size="11" fill="{INK}">'
        f'<title id="{p}-title">{esc(title)}</title>'
        f'<desc id="{p}-desc">{esc(description)}</desc>'
    )


def _text(
    x: float,
    y: float,
    content: str,
    *,
    anchor: str = "start",
    size: int | None = None,
    fill: str | None = None,
) -> str:
    extra = f' font-size="{size}"' if size else ""
    extra += f' fill="{fill}"' if fill else ""
    return f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}"{extra}>{esc(content)}</text>'

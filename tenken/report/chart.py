"""The achievement-rate chart: horizontal bars by pillar and sub-pillar, against the previous cycle.

Plain SVG built with ElementTree (which escapes every text it writes), so it goes into the PDF
and the HTML alike and needs no plotting library.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from markupsafe import Markup

from tenken.core.aggregate import Summary
from tenken.core.plan import Plan
from tenken.core.wareki import wareki_year

SVG_NS = "http://www.w3.org/2000/svg"

WIDTH = 640
LABEL_WIDTH = 268
BAR_X = 280
BAR_WIDTH = 290
FONT_SIZE = 10
TOP = 26
BAR_HEIGHT = 9
PREVIOUS_HEIGHT = 6
ROW_GAP = 4
INDENT = 14


@dataclass(frozen=True)
class Bar:
    label: str
    rate: float | None
    previous: float | None
    depth: int


def _text_width(text: str, size: float) -> float:
    """Rough advance of a text: CJK full width, everything else a little over half."""
    return sum(size if unicodedata.east_asian_width(ch) in "WF" else size * 0.6 for ch in text)


def fit(text: str, width: float, size: float = FONT_SIZE) -> str:
    """The label, shortened with … so that it fits the label column."""
    if _text_width(text, size) <= width:
        return text
    while text and _text_width(text + "…", size) > width:
        text = text[:-1]
    return text + "…"


def bars(plan: Plan, summary: Summary) -> list[Bar]:
    """全体 first, then each pillar followed by its sub-pillars (the summary table's order is the reverse
    within a pillar, so this walks `Summary.pillars` rather than `Summary.rows()`)."""
    out = [Bar("全体", summary.rate, summary.previous_rate, 0)]
    for pillar in summary.pillars:
        out.append(Bar(f"{plan.levels[0].label}{pillar.label}", pillar.rate, pillar.previous_rate, 0))
        out.extend(Bar(sub.label, sub.rate, None, 1) for sub in pillar.sub_pillars)
    return out


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _pct(value: float) -> str:
    return f"{value:.1f}%"


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k.replace("_", "-"): v for k, v in attrs.items()})
    if text is not None:
        element.text = text
    return element


def chart_title(plan: Plan, fiscal_year: int) -> str:
    by = "・".join(level.label for level in plan.levels[:2])
    return f"{by}別の成果指標の達成率（{wareki_year(fiscal_year)}、前回との比較）"


def chart_svg(plan: Plan, summary: Summary) -> Markup:
    """The chart as an inline <svg> element (Markup: ElementTree has escaped all text)."""
    year = summary.fiscal_year
    current_label = wareki_year(year)
    previous_label = f"前回（{wareki_year(year - 1)}）"
    items = bars(plan, summary)
    heights = [BAR_HEIGHT + (PREVIOUS_HEIGHT + 1 if b.previous is not None else 0) for b in items]
    height = TOP + sum(heights) + ROW_GAP * len(items) + 20

    title = chart_title(plan, year)
    description = "。".join(
        f"{b.label} {_pct(b.rate) if b.rate is not None else '評価対象なし'}"
        + (f"（{previous_label} {_pct(b.previous)}）" if b.previous is not None else "")
        for b in items) + "。"

    # Plain tags and an explicit xmlns: ElementTree's namespace registry is process-global,
    # and WeasyPrint re-registers the empty prefix.
    svg = ET.Element("svg", {
        "xmlns": SVG_NS,
        "viewBox": f"0 0 {WIDTH} {height}", "width": str(WIDTH), "height": str(height),
        "role": "img", "aria-labelledby": "chart-title chart-desc", "class": "chart",
        "font-family": "Noto Sans CJK JP, sans-serif", "font-size": str(FONT_SIZE)})
    _el(svg, "title", title, id="chart-title")
    _el(svg, "desc", description, id="chart-desc")

    legend = _el(svg, "g", class_="legend")
    _el(legend, "rect", x=str(BAR_X), y="6", width="12", height=str(BAR_HEIGHT), fill="#1f4e79")
    _el(legend, "text", current_label, x=str(BAR_X + 16), y="14")
    _el(legend, "rect", x=str(BAR_X + 100), y="7", width="12", height=str(PREVIOUS_HEIGHT), fill="#a5a5a5")
    _el(legend, "text", previous_label, x=str(BAR_X + 116), y="14")

    plot_bottom = height - 20
    grid = _el(svg, "g", class_="grid")
    for tick in (0, 25, 50, 75, 100):
        x = str(BAR_X + BAR_WIDTH * tick / 100)
        _el(grid, "line", x1=x, x2=x, y1=str(TOP - 4), y2=str(plot_bottom), stroke="#d0d0d0", stroke_width="0.6")
        _el(grid, "text", f"{tick}%", x=x, y=str(plot_bottom + 12), text_anchor="middle", font_size="8")

    y = TOP
    for item, row_height in zip(items, heights):
        group = _el(svg, "g", class_=f"row depth-{item.depth}")
        indent = INDENT * item.depth
        _el(group, "text", fit(item.label, LABEL_WIDTH - indent), x=str(indent), y=str(y + BAR_HEIGHT - 1),
            font_weight="bold" if item.depth == 0 else "normal")
        value = item.rate or 0.0
        _el(group, "rect", x=str(BAR_X), y=str(y), width=_fmt(BAR_WIDTH * value / 100), height=str(BAR_HEIGHT),
            fill="#1f4e79" if item.depth == 0 else "#5b8fc7")
        rate_text = _pct(item.rate) if item.rate is not None else "—"
        _el(group, "text", rate_text, x=_fmt(BAR_X + BAR_WIDTH * value / 100 + 4), y=str(y + BAR_HEIGHT - 1))
        if item.previous is not None:
            top = y + BAR_HEIGHT + 1
            _el(group, "rect", x=str(BAR_X), y=str(top), width=_fmt(BAR_WIDTH * item.previous / 100),
                height=str(PREVIOUS_HEIGHT), fill="#a5a5a5")
            _el(group, "text", _pct(item.previous), x=_fmt(BAR_X + BAR_WIDTH * item.previous / 100 + 4),
                y=str(top + PREVIOUS_HEIGHT - 1), font_size="8", fill="#595959")
        y += row_height + ROW_GAP
    return Markup(ET.tostring(svg, encoding="unicode"))

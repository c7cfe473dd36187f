"""The report's charts: the achievement rates by pillar and sub-pillar (horizontal bars, against the
previous cycle when there is a previous rate), and the trend of the total and pillar rates across
the years on record (lines).

Plain SVG built with ElementTree (which escapes every text it writes), so it goes into the PDF
and the HTML alike and needs no plotting library. Every coordinate is computed from the figures
alone, so the same figures always give the same bytes.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from markupsafe import Markup

from tenken.core.aggregate import Summary
from tenken.core.history import History
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
    """A child element; keyword names are attribute names with - written _ (class_ for class)."""
    element = ET.SubElement(parent, tag, {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()})
    if text is not None:
        element.text = text
    return element


def has_previous(summary: Summary) -> bool:
    """Is there a previous rate to compare with: the total's or any pillar's."""
    return summary.previous_rate is not None or any(p.previous_rate is not None for p in summary.pillars)


def chart_title(plan: Plan, fiscal_year: int, compared: bool = True) -> str:
    """The chart's caption; it speaks of the previous cycle only when the chart shows one (`compared`)."""
    by = "・".join(level.label for level in plan.levels[:2])
    comparison = "、前回との比較" if compared else ""
    return f"{by}別の成果指標の達成率（{wareki_year(fiscal_year)}{comparison}）"


def chart_svg(plan: Plan, summary: Summary) -> Markup:
    """The chart as an inline <svg> element (Markup: ElementTree has escaped all text). The previous
    cycle's bars, and its entry in the legend, are drawn only where there is a previous rate."""
    year = summary.fiscal_year
    current_label = wareki_year(year)
    previous_label = f"前回（{wareki_year(year - 1)}）"
    items = bars(plan, summary)
    compared = has_previous(summary)
    heights = [BAR_HEIGHT + (PREVIOUS_HEIGHT + 1 if b.previous is not None else 0) for b in items]
    height = TOP + sum(heights) + ROW_GAP * len(items) + 20

    title = chart_title(plan, year, compared)
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
    if compared:
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


# ---------------------------------------------------------------- The trend across the plan period

TREND_LEFT = 44  # the plot's left edge; the percent ticks sit left of it
TREND_RIGHT = WIDTH - 52  # room right of the last year for its value labels
TREND_PLOT_HEIGHT = 170
LEGEND_LINE = 14
LEGEND_LABEL_WIDTH = 210
VALUE_SIZE = 8
VALUE_GAP = 10  # least vertical distance between two value labels of one year
TOTAL_LABEL = "全体"
# 全体, then the top-level nodes in turn: colour, stroke width, dash pattern and marker differ, so
# that no series is told apart by colour alone. Every colour reads as text on white (>= 4.5:1).
TOTAL_STYLE = ("#1f4e79", "2.2", None, "circle")
LEVEL_STYLES = (
    ("#c55a11", "1.4", "5 2", "square"),
    ("#548235", "1.4", "2 2", "triangle"),
    ("#2e75b6", "1.4", "7 2 2 2", "diamond"),
    ("#7030a0", "1.4", "3 3", "circle"),
    ("#7f6000", "1.4", "8 3", "square"),
    ("#595959", "1.4", "1 2", "triangle"),
)


@dataclass(frozen=True)
class Series:
    """One line of the trend: its label and its rate in each year of `Trend.years` (None: not on record)."""

    label: str
    rates: tuple[float | None, ...]
    total: bool = False


@dataclass(frozen=True)
class Trend:
    years: tuple[int, ...]  # every fiscal year from the first on record to the reported one
    series: tuple[Series, ...]  # 全体 first, then each top-level node in plan order


def trend(plan: Plan, history: History) -> Trend:
    """The total and top-level rates of every year on record, in consecutive years: a year missing
    between two on record is a column of — (never drawn as if it had a figure)."""
    on_record = {y.fiscal_year: y for y in history.years}
    years = tuple(range(min(on_record), max(on_record) + 1)) if on_record else ()
    rows = [Series(TOTAL_LABEL, tuple(on_record[y].total if y in on_record else None for y in years), True)]
    for node in plan.tree:
        rows.append(Series(f"{plan.levels[0].label}{node.heading}",
                           tuple(on_record[y].levels.get(node.key) if y in on_record else None for y in years)))
    return Trend(years, tuple(rows))


def trend_title(plan: Plan, years: tuple[int, ...]) -> str:
    return (f"{TOTAL_LABEL}・{plan.levels[0].label}別の成果指標の達成率の推移"
            f"（{wareki_year(years[0])}～{wareki_year(years[-1])}）")


def _marker(parent: ET.Element, shape: str, x: float, y: float, colour: str) -> None:
    if shape == "circle":
        _el(parent, "circle", cx=_fmt(x), cy=_fmt(y), r="3.2", fill=colour)
    elif shape == "square":
        _el(parent, "rect", x=_fmt(x - 3), y=_fmt(y - 3), width="6", height="6", fill=colour)
    elif shape == "triangle":
        _el(parent, "polygon", points=f"{_fmt(x)},{_fmt(y - 3.8)} {_fmt(x + 3.6)},{_fmt(y + 2.6)} "
                                      f"{_fmt(x - 3.6)},{_fmt(y + 2.6)}", fill=colour)
    else:  # diamond
        _el(parent, "polygon", points=f"{_fmt(x)},{_fmt(y - 4)} {_fmt(x + 4)},{_fmt(y)} "
                                      f"{_fmt(x)},{_fmt(y + 4)} {_fmt(x - 4)},{_fmt(y)}", fill=colour)


def _spread(wanted: list[float], low: float) -> list[float]:
    """Baselines for labels wanted at sorted heights, at least VALUE_GAP apart and none below `low`."""
    placed: list[float] = []
    for y in wanted:
        placed.append(max(y, placed[-1] + VALUE_GAP) if placed else y)
    if placed and placed[-1] > low:
        placed[-1] = low
        for i in range(len(placed) - 2, -1, -1):
            placed[i] = min(placed[i], placed[i + 1] - VALUE_GAP)
    return placed


def trend_svg(plan: Plan, data: Trend) -> Markup:
    """The trend as an inline <svg>: one line per series across the years, each point labelled with
    its rate; a year not on record breaks the line."""
    styles = [TOTAL_STYLE] + [LEVEL_STYLES[i % len(LEVEL_STYLES)] for i in range(len(data.series) - 1)]

    # The legend flows left to right and wraps: a line sample with its marker, then the label.
    legend_items = []
    x, line = float(TREND_LEFT), 0
    for series in data.series:
        label = fit(series.label, LEGEND_LABEL_WIDTH)
        width = 30 + _text_width(label, FONT_SIZE) + 16
        if x + width > WIDTH and x > TREND_LEFT:
            x, line = float(TREND_LEFT), line + 1
        legend_items.append((x, line, label))
        x += width
    plot_top = 12 + LEGEND_LINE * (line + 1) + 8
    plot_bottom = plot_top + TREND_PLOT_HEIGHT
    height = plot_bottom + 30

    step = (TREND_RIGHT - TREND_LEFT) / len(data.years)
    xs = [TREND_LEFT + step * (i + 0.5) for i in range(len(data.years))]

    def y_of(rate: float) -> float:
        return plot_bottom - TREND_PLOT_HEIGHT * rate / 100

    title = trend_title(plan, data.years)
    description = "。".join(
        f"{s.label} " + "、".join(f"{wareki_year(year)} {_pct(rate) if rate is not None else '記録なし'}"
                                  for year, rate in zip(data.years, s.rates))
        for s in data.series) + "。"

    svg = ET.Element("svg", {
        "xmlns": SVG_NS,
        "viewBox": f"0 0 {WIDTH} {_fmt(height)}", "width": str(WIDTH), "height": _fmt(height),
        "role": "img", "aria-labelledby": "trend-title trend-desc", "class": "chart trend-chart",
        "font-family": "Noto Sans CJK JP, sans-serif", "font-size": str(FONT_SIZE)})
    _el(svg, "title", title, id="trend-title")
    _el(svg, "desc", description, id="trend-desc")

    legend = _el(svg, "g", class_="legend")
    for (lx, lline, label), (colour, stroke, dash, shape) in zip(legend_items, styles):
        y = 12 + LEGEND_LINE * lline
        attrs = {"stroke_dasharray": dash} if dash else {}
        _el(legend, "line", x1=_fmt(lx), x2=_fmt(lx + 24), y1=_fmt(y - 3.5), y2=_fmt(y - 3.5), stroke=colour,
            stroke_width=stroke, **attrs)
        _marker(legend, shape, lx + 12, y - 3.5, colour)
        _el(legend, "text", label, x=_fmt(lx + 30), y=_fmt(y))

    grid = _el(svg, "g", class_="grid")
    for tick in (0, 25, 50, 75, 100):
        y = _fmt(y_of(tick))
        _el(grid, "line", x1=str(TREND_LEFT), x2=str(TREND_RIGHT), y1=y, y2=y, stroke="#d0d0d0",
            stroke_width="0.6")
        _el(grid, "text", f"{tick}%", x=str(TREND_LEFT - 6), y=_fmt(y_of(tick) + 3), text_anchor="end",
            font_size="8")
    axis = _el(svg, "g", class_="years")
    for x, year in zip(xs, data.years):
        _el(axis, "text", wareki_year(year), x=_fmt(x), y=_fmt(plot_bottom + 16), text_anchor="middle")

    for series, (colour, stroke, dash, shape) in zip(data.series, styles):
        group = _el(svg, "g", class_="series total" if series.total else "series")
        run: list[str] = []
        for x, rate in [*zip(xs, series.rates), (None, None)]:
            if rate is not None:
                run.append(f"{_fmt(x)},{_fmt(y_of(rate))}")
                continue
            if len(run) > 1:
                attrs = {"stroke_dasharray": dash} if dash else {}
                _el(group, "polyline", points=" ".join(run), fill="none", stroke=colour, stroke_width=stroke,
                    **attrs)
            run = []
        for x, rate in zip(xs, series.rates):
            if rate is not None:
                _marker(group, shape, x, y_of(rate), colour)

    # Each year's value labels right of its points, spread so that none covers another, each on a
    # white ground so that no line runs through its figures.
    values = _el(svg, "g", class_="values", font_size=str(VALUE_SIZE))
    for i, x in enumerate(xs):
        points = sorted(((y_of(s.rates[i]), n) for n, s in enumerate(data.series) if s.rates[i] is not None))
        for (y, n), baseline in zip(points, _spread([y + 3 for y, _ in points], plot_bottom + 3)):
            text = _pct(data.series[n].rates[i])
            _el(values, "rect", x=_fmt(x + 5), y=_fmt(baseline - VALUE_SIZE + 0.5),
                width=_fmt(_text_width(text, VALUE_SIZE) + 2), height=_fmt(VALUE_SIZE + 1.5), fill="#ffffff")
            _el(values, "text", text, x=_fmt(x + 6), y=_fmt(baseline), fill=styles[n][0],
                font_weight="bold" if data.series[n].total else "normal")
    return Markup(ET.tostring(svg, encoding="unicode"))

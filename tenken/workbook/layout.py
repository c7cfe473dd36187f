"""The request form, shared by the workbook writer, the readers and the CSV format.

One row per indicator part: a single-part measure takes one row, a "(1)… (2)…" measure one row per
part. Per-measure inputs (self-rating, reason, cause, highlight) sit on the measure's first row.
Measures without an indicator this year get one row whose only input is the highlight; measures
finished in an earlier year are not on the form. A plan without cause tags asks for no 要因: the cell
is closed, like the other inputs a row does not take.

What the form asks is derived from the plan each time (`template_rows`), so intake can tell an
edited target or a deleted row from what was requested without trusting the file.

The columns naming the measure say it in the plan's own word (`Plan.measure_label`: 施策番号 and 施策名
for Kanagawa, 事業番号 and 事業名 for a plan of 事業); `columns(label)` gives them for a plan. Only the
titles change with the label: column ids and letters are the same for every plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from tenken.core.plan import Measure, Plan

FORMAT_VERSION = 1
INPUT_SHEET = "実績入力"
GUIDE_SHEET = "記入方法"
META_SHEET = "_tenken"  # very hidden: format, fiscal year, department; cause labels for the drop-down
SUBMIT_ROW = 5  # the heading's last line: how to send the form back
HEADER_ROW = 6
FIRST_ROW = 7
AUTO_RATED = "（自動判定）"
NO_INDICATOR_TARGET = "指標未設定"
# Shown after the target of a lower-is-better part. Only shown (a number format): the cell's value stays the
# plan's target, which intake compares the returned form with, and which the CSV form carries.
LOWER_IS_BETTER = "（少ないほど良い）"
SELF_RATINGS = ("◎", "○", "△")
DEFAULT_MEASURE_LABEL = "施策"  # Plan.measure_label when a plan does not set its own


@dataclass(frozen=True)
class Column:
    id: str
    title: str
    letter: str
    width: float  # Excel's unit: about one digit, or half a full-width character; text wraps within it
    input: bool = False


def key_title(measure_label: str = DEFAULT_MEASURE_LABEL) -> str:
    """The title of the column holding a measure's key: 施策番号, 事業番号 …"""
    return f"{measure_label}番号"


@cache
def columns(measure_label: str = DEFAULT_MEASURE_LABEL) -> tuple[Column, ...]:
    """The form's columns, the measure named in the plan's own word."""
    return (
        Column("key", key_title(measure_label), "A", 10),
        Column("part", "項目", "B", 5),
        Column("name", f"{measure_label}名", "C", 22),
        Column("indicator", "成果指標", "D", 20),
        Column("kind", "種別", "E", 5.5),
        Column("unit", "単位", "F", 6),
        Column("target", "目標", "G", 13),
        Column("actual", "実績", "H", 13, input=True),
        Column("self_rating", "自己評価", "I", 13, input=True),  # （自動判定） on one line
        Column("reason", "未達成の理由及び今後の見込み等", "J", 28, input=True),
        Column("cause", "要因", "K", 16, input=True),
        Column("highlight", "主な取組", "L", 28, input=True),
    )


COLUMNS = columns()  # with the default label; ids, letters and widths are the same for every plan
COLUMN = {c.id: c for c in COLUMNS}
INPUT_COLUMNS = tuple(c.id for c in COLUMNS if c.input)
MEASURE_INPUTS = ("self_rating", "reason", "cause", "highlight")  # on the measure's first row only

# CSV: the same columns, preceded by what the workbook keeps in its meta sheet.
CSV_YEAR = "年度"
CSV_DEPARTMENT = "所属"
CSV_TOKEN = "提出コード"  # the department's submission token (tenken.identity), on every row


def csv_header(measure_label: str = DEFAULT_MEASURE_LABEL) -> tuple[str, ...]:
    return (CSV_YEAR, CSV_DEPARTMENT, *(c.title for c in columns(measure_label)))


CSV_HEADER = csv_header()


@dataclass(frozen=True)
class TemplateRow:
    """One requested row: the fixed cells as requested, and which input cells are open."""

    measure: str
    part: int  # 1-based
    parts: int
    fixed: dict[str, str] = field(default_factory=dict)  # column id -> requested text
    inputs: frozenset[str] = frozenset()
    lower_is_better: bool = False  # the part's direction is lower: the form marks its target (LOWER_IS_BETTER)


def part_label(part: int, parts: int) -> str:
    return f"({part})" if parts > 1 else ""


def on_form(measure: Measure, fiscal_year: int) -> bool:
    year = measure.years.get(fiscal_year)
    return year is not None and year.status in ("rated", "no_indicator")


def measure_rows(measure: Measure, fiscal_year: int, causes: bool = True) -> list[TemplateRow]:
    """The measure's rows on the form. `causes`: does the plan have cause tags to choose from
    (`RatingPolicy.cause_tags`)? Without any, there is no 要因 to enter: the cell is not an input."""
    year = measure.years[fiscal_year]
    if year.status == "no_indicator":
        fixed = {"key": measure.key, "part": "", "name": measure.name, "indicator": measure.indicator,
                 "kind": "—", "unit": "", "target": NO_INDICATOR_TARGET,
                 "actual": "", "self_rating": "", "reason": "", "cause": ""}
        return [TemplateRow(measure.key, 1, 1, fixed, frozenset({"highlight"}))]
    rows = []
    n = len(year.parts)
    for p, part in enumerate(year.parts, 1):
        indicator = f"({p}){part.label or ''}" if n > 1 else measure.indicator
        fixed = {"key": measure.key, "part": part_label(p, n), "name": measure.name, "indicator": indicator,
                 "kind": "数値" if part.kind == "numeric" else "定性",
                 "unit": (part.unit or "") if part.kind == "numeric" else "", "target": part.target}
        inputs = {"actual"}
        if p == 1:
            inputs |= {"reason", "cause", "highlight"} if causes else {"reason", "highlight"}
            if not causes:
                fixed["cause"] = ""
            if year.has_qualitative:
                inputs.add("self_rating")
            else:
                fixed["self_rating"] = AUTO_RATED
        else:
            fixed.update({c: "" for c in MEASURE_INPUTS})
        rows.append(TemplateRow(measure.key, p, n, fixed, frozenset(inputs), part.direction == "lower"))
    return rows


def measures_on_form(plan: Plan, fiscal_year: int, department: str) -> list[Measure]:
    """The department's measures on its form this year, in form order: what its request asks for and its
    receipt confirms (finished measures, and those with no entry for the year, are not on it)."""
    return [m for m in plan.measures_of(department) if on_form(m, fiscal_year)]


def template_rows(plan: Plan, fiscal_year: int, department: str) -> list[TemplateRow]:
    causes = bool(plan.rating.cause_tags)
    return [row for m in measures_on_form(plan, fiscal_year, department)
            for row in measure_rows(m, fiscal_year, causes)]


def departments_on_form(plan: Plan, fiscal_year: int) -> list[str]:
    """Departments that are asked for anything this year (a measure rated or worked on)."""
    asked = {m.department for m in plan.measures if on_form(m, fiscal_year)}
    return [d.key for d in plan.departments if d.key in asked]

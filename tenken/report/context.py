"""The template context of the inspection report, built from an Assessment and its summary.

Pure: no files, no rendering. Every number the report prints is formatted here, so the
templates only place text; every label and number of the plan's levels comes from the plan.

The report says only what its data supports: the previous cycle is compared, captioned and drawn
only where there is a previous rate; the date is the results' or the one the caller gives; the
trend across the plan period appears only with two or more years on record.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from tenken.core.aggregate import Summary, SummaryRow
from tenken.core.assessment import Assessment
from tenken.core.history import CURRENT, History, YearRates
from tenken.core.plan import Node, Part, Plan, Rating
from tenken.core.results import MeasureResult
from tenken.core.wareki import wareki_month, wareki_year
from tenken.report.chart import chart_svg, chart_title, has_previous, trend, trend_svg, trend_title

# The overview subsection after which the plan's structure table is printed (the seed's (2) 計画の構成).
STRUCTURE_HEADING_HINT = "構成"
GENERATOR = "tenken"
# 番号 施策名 所属 成果指標 目標 実績 評価 理由. The seed's empty 柱/中柱/分野 columns are left out:
# the grouping rows carry the hierarchy, and every column costs table layout time.
ANNEX_COLUMNS = 8
# Printed after the target of an indicator part where a smaller actual is better.
LOWER_IS_BETTER = "（少ないほど良い）"
TREND_HEADING = "計画期間の達成率の推移"
JST = timezone(timedelta(hours=9))


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def parenthesised(n: int) -> str:
    return f"({n})"


def lines(text: str) -> list[str]:
    """Paragraphs of a free text written with line breaks; blank lines dropped."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def report_date_of(published: str | None, given: date | None = None) -> date:
    """The report's date: the results' `report.published` ('YYYY-MM') when they give one, else the date
    the caller gives (the publication date, or the compile date of a draft), else today in Japan."""
    if published:
        year, month = (int(part) for part in published.split("-")[:2])
        return date(year, month, 1)
    return given if given is not None else datetime.now(JST).date()


def pillar_name(plan: Plan, node: Node) -> str:
    """柱Ⅰ「くらしの情報化」: the top level's label and number, the title in brackets."""
    return f"{plan.levels[node.depth].label}{node.number}「{node.title}」"


def group_heading(plan: Plan, node: Node) -> str:
    """Heading of a grouping row: the top level carries its label (柱Ⅰ くらしの情報化), others their number."""
    if node.depth == 0:
        return f"{plan.levels[0].label}{node.number} {node.title}"
    return node.heading


def cause_phrase(labels: list[str]) -> str:
    """'新型コロナウイルス感染症の影響' and '国の動向の影響' -> '新型コロナウイルス感染症や国の動向の影響等'."""
    if not labels:
        return ""
    if len(labels) == 1:
        return labels[0]
    suffix = os.path.commonprefix([label[::-1] for label in labels])[::-1]
    # Only a suffix starting at a particle reads naturally: "の影響", never a lone "響".
    cut = suffix.find("の")
    suffix = suffix[cut:] if cut >= 0 else ""
    stems = [label[: len(label) - len(suffix)] for label in labels]
    return "や".join(stems) + suffix + "等"


@dataclass(frozen=True)
class _Comparison:
    name: str
    current: float
    previous: float

    @property
    def word(self) -> str:
        if math.isclose(self.current, self.previous):
            return "同じ"
        return "低い" if self.current < self.previous else "高い"


def comparison_sentence(plan: Plan, summary: Summary) -> str | None:
    """The previous-cycle comparison, phrased from the actual figures (低い / 高い / 同じ)."""
    previous_parts = []
    comparisons = []
    if summary.previous_rate is not None:
        previous_parts.append(f"全体{pct(summary.previous_rate)}")
        if summary.rate is not None:
            comparisons.append(_Comparison("全体", summary.rate, summary.previous_rate))
    for pillar in summary.pillars:
        if pillar.previous_rate is None:
            continue
        name = f"{plan.levels[0].label}{pillar.number}"
        previous_parts.append(f"{name} {pct(pillar.previous_rate)}")
        if pillar.rate is not None:
            comparisons.append(_Comparison(name, pillar.rate, pillar.previous_rate))

    cause = _cause_clause(summary, plan.measure_label)
    if not comparisons:
        return f"{cause}。" if cause else None
    words = {c.word for c in comparisons}
    if len(words) == 1:
        verdict = f"今回の達成率はいずれも{words.pop()}値となっています"
    else:
        groups = [(word, [c.name for c in comparisons if c.word == word]) for word in ("低い", "高い", "同じ")]
        verdict = "今回の達成率は" + "、".join(f"{'及び'.join(names)}では{word}値" for word, names in groups
                                           if names) + "となっています"
    sentence = f"前回の成果指標の達成率（{'、'.join(previous_parts)}）と比較して、{verdict}"
    if not cause:
        return sentence + "。"
    joiner = "が、" if "低い" in {c.word for c in comparisons} else "。なお、"
    return sentence + joiner + cause + "。"


def _cause_clause(summary: Summary, unit: str) -> str:
    missed, external = summary.not_achieved, summary.not_achieved_external
    if not missed or not external:
        return ""
    phrase = cause_phrase(list(summary.external_causes))
    if external == missed:
        return f"達成できなかった{missed}{unit}はいずれも{phrase}によるものとなっています"
    return f"達成できなかった{missed}{unit}のうち、{external}{unit}が{phrase}によるものとなっています"


def overall_sentences(plan: Plan, summary: Summary) -> list[str]:
    """Section 2(1): the narrative, every figure computed."""
    year = wareki_year(summary.fiscal_year)
    unit = plan.measure_label
    field_label = plan.levels[-1].label
    sentences = []
    opening = f"計画には{summary.fields}{field_label}{summary.measures}{unit}が位置付けられており、"
    finished_in = summary.finished_in
    if summary.finished_earlier:
        when = (f"{wareki_year(finished_in[0])}で" if len(finished_in) == 1
                else f"{wareki_year(finished_in[-1])}までに")
        sentences.append(f"{opening}そのうち{when}取組の終了した{summary.finished_earlier}{unit}を除いた"
                         f"{summary.worked_on}{unit}に取り組みました。")
    else:
        sentences.append(f"{opening}その全ての{unit}に取り組みました。")
    if summary.rated:
        sentences.append(f"{year}に成果指標が設定されている{summary.rated}{unit}のうち、"
                         f"{summary.met}{unit}（{pct(summary.rate)}）で成果指標を達成又は上回りました。")
    per_pillar = [f"{pillar_name(plan, plan.nodes[p.key])}では{p.rated}{unit}中{p.met}{unit}（{pct(p.rate)}）"
                  for p in summary.pillars if p.rated]
    if per_pillar:
        sentences.append("、".join(per_pillar) + "で成果指標を達成又は上回っています。")
    comparison = comparison_sentence(plan, summary)
    if comparison:
        sentences.append(comparison)
    return sentences


def _table_figures(row: SummaryRow) -> dict:
    """A subtotal or total row's cells: 達成率, the count rated, met, not achieved."""
    return {"rate": pct(row.rate), "rated": str(row.rated), "met": str(row.met),
            "not_achieved": str(row.not_achieved)}


def summary_table(summary: Summary) -> dict:
    """The table of section 2(1), laid out like the seed: sub-pillar rows, 小計, 合計.

    Built from `Summary.rows()`, the walk the CLI and the Prefect artifacts print too: a pillar's
    sub-pillar rows come before its own row, which closes the group as its 小計.
    """
    groups = []
    total = None
    pending: list[dict] = []
    for row in summary.rows():
        if row.kind == "sub_pillar":
            pending.append({"label": row.label, "rated": str(row.rated), "exceeded": str(row.exceeded),
                            "achieved": str(row.achieved), "not_achieved": str(row.not_achieved)})
        elif row.kind == "pillar":
            groups.append({"label": row.label, "rows": pending, "rowspan": str(len(pending) + 1),
                           "subtotal": _table_figures(row)})
            pending = []
        else:
            total = _table_figures(row)
    return {"groups": groups, "total": total}


def _initiatives(node: Node, highlights: dict[str, tuple[str, ...]]) -> dict | None:
    """A node with the highlights of its measures, or None when nothing below it has one."""
    paragraphs = [p for m in node.measures for p in highlights.get(m.key, ())]
    children = [c for c in (_initiatives(child, highlights) for child in node.children) if c]
    if not paragraphs and not children:
        return None
    return {"heading": node.heading, "depth": node.depth, "level": str(min(node.depth + 3, 6)),
            "paragraphs": paragraphs, "children": children}


def _display_parts(values: list[str]) -> list[str]:
    if len(values) == 1:
        return values
    return [f"({i}){v}" for i, v in enumerate(values, 1)]


def target_text(part: Part) -> str:
    """A part's target as the annex prints it: a lower-is-better target says so."""
    return f"{part.target}{LOWER_IS_BETTER}" if part.direction == "lower" else part.target


def _measure_row(plan: Plan, fiscal_year: int, row, result: MeasureResult | None) -> dict:
    measure = plan.measures_by_key[row.key]
    status = row.status
    year_plan = measure.years.get(fiscal_year)
    parts = year_plan.parts if year_plan else ()
    indicator = (_display_parts([p.label for p in parts]) if len(parts) > 1 and all(p.label for p in parts)
                 else [measure.indicator or "—"])
    notes = []
    if result is not None:
        notes += lines(result.reason)
        if result.adjustment is not None and result.adjustment.justification.strip():
            notes += lines(result.adjustment.justification)
    finished = ""
    if status == "finished":
        finished = f"({wareki_year(int(row.finished_in))}で取組完了)"
    return {
        "kind": "measure",
        "key": row.key,
        "number": str(row.number),
        "name": row.name,
        "department": plan.department(row.department).name,
        "indicator": indicator,
        "status": status,
        "finished": finished,
        "target": (_display_parts([target_text(p) for p in parts]) if status in ("rated", "missing")
                   else [Rating.NO_INDICATOR.value]),
        "actual": (_display_parts(list(result.actual)) if status == "rated" and result
                   else ["未提出"] if status == "missing" else [Rating.NO_INDICATOR.value]),
        "rating": row.rating,
        "notes": notes,
    }


def annex_rows(assessment: Assessment) -> list[dict]:
    """Grouping rows for every level (柱, 中柱, 分野) and one row per measure, in plan order."""
    plan, frame = assessment.plan, assessment.measures
    results = {r.measure: r for r in assessment.results.results}
    depth_count = len(plan.levels)
    rows: list[dict] = []
    current: list[str | None] = [None] * depth_count
    for row in frame.itertuples(index=False):
        for depth in range(depth_count):
            key = getattr(row, f"level_{depth}")
            if current[depth] != key:
                current[depth:] = [key] + [None] * (depth_count - depth - 1)
                node = plan.nodes[key]
                rows.append({"kind": "group", "depth": depth, "heading": group_heading(plan, node)})
        rows.append(_measure_row(plan, assessment.fiscal_year, row, results.get(row.key)))
    return rows


def row_groups(rows: list[dict]) -> list[list[dict]]:
    """One <tbody> per run of grouping rows and the measures under them (a field, in Kanagawa's plan)."""
    bodies: list[list[dict]] = []
    for row in rows:
        if not bodies or (row["kind"] == "group" and bodies[-1][-1]["kind"] == "measure"):
            bodies.append([])
        bodies[-1].append(row)
    return bodies


def legend() -> list[dict]:
    return [{"mark": r.value, "description": r.description} for r in Rating]


def annex_context(assessment: Assessment) -> dict:
    plan = assessment.plan
    year = wareki_year(assessment.fiscal_year)
    return {
        "title": f"{plan.measure_label}別成果指標達成状況一覧（{year}）",
        "year": year,
        "column_count": str(ANNEX_COLUMNS),
        "measure_name": f"{plan.measure_label}名",
        "legend": legend(),
        "bodies": row_groups(annex_rows(assessment)),
    }


def with_previous(summary: Summary, previous: YearRates) -> Summary:
    """The summary with the previous rates of `previous` (total and each pillar; None where it has none)."""
    return dataclasses.replace(summary, previous_rate=previous.total, pillars=tuple(
        dataclasses.replace(pillar, previous_rate=previous.levels.get(pillar.key)) for pillar in summary.pillars))


def current_rates(summary: Summary) -> YearRates:
    """The reported year's total and pillar rates, as the report's own tables print them."""
    return YearRates(fiscal_year=summary.fiscal_year, total=summary.rate, source=CURRENT,
                     levels={p.key: p.rate for p in summary.pillars if p.rate is not None})


def trend_context(plan: Plan, summary: Summary, history: History | None) -> dict | None:
    """The trend of the total and pillar rates across the years on record (section 2(1)), or None when
    fewer than two years have a total rate. The reported year's figures are the summary's."""
    if history is None:
        return None
    history = history.with_current(current_rates(summary))
    if not history.has_trend:
        return None
    data = trend(plan, history)
    first, last = wareki_year(data.years[0]), wareki_year(data.years[-1])
    return {
        "heading": TREND_HEADING,
        "lead": f"{first}から{last}までの成果指標の達成率の推移は、次のとおりです。",
        "caption": f"成果指標の達成率の推移（{first}～{last}）",
        "corner": "区分",
        "years": [wareki_year(y) for y in data.years],
        "rows": [{"label": s.label, "total": s.total, "cells": [pct(r) for r in s.rates]} for s in data.series],
        "chart": trend_svg(plan, data),
        "chart_caption": trend_title(plan, data.years),
    }


def build_context(assessment: Assessment, summary: Summary, draft: bool, *, history: History | None = None,
                  report_date: date | None = None) -> dict:
    """Everything the report templates print, formatted.

    `history`: the plan's years on record; with two or more years having a total rate, section 2(1)
    shows their trend, and the previous year's rates it holds are the ones compared with (else the
    summary's). `report_date`: the report's date when the results give none (the publication or
    compile date); without either, today.
    """
    plan, results = assessment.plan, assessment.results
    year = wareki_year(assessment.fiscal_year)
    if history is not None and (previous := history.previous(assessment.fiscal_year)) is not None:
        summary = with_previous(summary, previous)
    published = report_date_of(results.report.published, report_date)
    report_title = f"{year}点検報告書"
    highlights = {r.measure: r.highlight for r in results.results if r.highlight}
    annex = annex_context(assessment)

    overview = [{"number": parenthesised(i), "heading": s.heading, "paragraphs": list(s.paragraphs),
                 "structure": False} for i, s in enumerate(plan.overview, 1)]
    if overview:
        target = next((o for o in overview if STRUCTURE_HEADING_HINT in o["heading"]), overview[-1])
        target["structure"] = True

    initiatives = []
    for n, node in enumerate(plan.tree, 2):
        entry = _initiatives(node, highlights)
        initiatives.append({"number": parenthesised(n), "id": f"initiatives-{node.key}",
                            "heading": f"{pillar_name(plan, node)}の主な取組",
                            "children": entry["children"] if entry else [],
                            "paragraphs": entry["paragraphs"] if entry else []})

    return {
        "draft": draft,
        "lang": "ja",
        "meta": {
            "title": f"{plan.name} {report_title}",
            "author": plan.organisation,
            "description": f"{plan.name}の{year}の取組と成果指標の達成状況",
            "created": f"{published.isoformat()}T00:00:00+09:00",
            "generator": GENERATOR,
        },
        "cover": {
            "plan_name": plan.name,
            "report_title": report_title,
            "published": wareki_month(published.year, published.month),
            "published_iso": published.strftime("%Y-%m"),
            "organisation": plan.organisation,
        },
        "year": year,
        "overview": overview,
        "structure": {
            "headers": [level.label for level in plan.levels[:2]],
            "rows": [{"heading": node.heading, "children": [c.heading for c in node.children]}
                     for node in plan.tree],
        },
        "overall": {
            "number": parenthesised(1),
            "sentences": overall_sentences(plan, summary),
            "table": summary_table(summary),
            "headers": [level.label for level in plan.levels[:2]],
            "count_header": f"{plan.measure_label}数",
            "chart": chart_svg(plan, summary),
            "chart_caption": chart_title(plan, summary.fiscal_year, has_previous(summary)),
            "note": f"※ 内訳は別紙「{annex['title']}」のとおり",
            "trend": trend_context(plan, summary, history),
        },
        "initiatives": initiatives,
        "future": list(results.report.future),
        "annex": annex,
    }

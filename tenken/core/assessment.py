"""Validate a results set against the plan and rate every measure of a fiscal year.

`assess` is the one entry point: it checks everything, collects every problem (so a department
hears about all of them at once) and returns one row per measure as a pandas DataFrame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import PlanError, Problem, ValidationFailed
from .plan import Measure, Plan, Rating, RATING_BY_RANK
from .rating import numeric_codes, suggest_qualitative, is_negative
from .results import MeasureResult, ResultSet
from .values import Quantity, parse_value
from .wareki import wareki_year

_UNRATED = 9  # above every rank, so np.minimum keeps a real part's code


@dataclass(frozen=True)
class Assessment:
    """One fiscal year of a plan, rated. `measures` has one row per measure, in plan order."""

    plan: Plan
    fiscal_year: int
    results: ResultSet
    measures: pd.DataFrame


def _label(measure: Measure) -> str:
    return f"施策 {measure.key}「{measure.name}」"


def _numbered(values: list[str]) -> str:
    if len(values) == 1:
        return values[0]
    return " ".join(f"({i}){v}" for i, v in enumerate(values, 1))


def check(plan: Plan, results: ResultSet) -> tuple[list[Problem], pd.DataFrame]:
    """Every problem of the results set, and the rated rows (meaningful only without problems)."""
    year = results.fiscal_year
    policy = plan.rating
    problems: list[Problem] = []
    by_key: dict[str, MeasureResult] = {}
    for result in results.results:
        if result.measure in by_key:
            problems.append(Problem(
                f"施策 {result.measure} の結果が重複しています。1つの施策につき1行にしてください。",
                result.measure, "measure"))
        elif result.measure not in plan.measures_by_key:
            problems.append(Problem(
                f"施策 {result.measure} は計画にありません。施策番号を確認してください。",
                result.measure, "measure"))
        else:
            by_key[result.measure] = result

    known_causes = {t.key for t in policy.cause_tags}
    measures = plan.measures
    n = len(measures)
    status = [""] * n
    qual_code = np.full(n, _UNRATED, dtype=np.int8)
    suggested: list[str] = [""] * n
    num_measure: list[int] = []
    num_target: list[float] = []
    num_actual: list[float] = []
    num_lower: list[bool] = []
    targets = [""] * n
    actuals = [""] * n

    for i, measure in enumerate(measures):
        try:
            year_plan = measure.year(year)
        except PlanError as exc:
            problems.append(Problem(str(exc), measure.key, "target"))
            status[i] = "invalid"
            continue
        status[i] = year_plan.status
        result = by_key.get(measure.key)
        if year_plan.status != "rated":
            if result is not None and result.actual:
                what = "指標が設定されていない" if year_plan.status == "no_indicator" else "取組が完了した"
                problems.append(Problem(
                    f"{_label(measure)}は{wareki_year(year)}に{what}施策のため、実績は入力できません。",
                    measure.key, "actual"))
            continue
        parts = year_plan.parts
        targets[i] = _numbered([p.target for p in parts])
        if result is None:
            problems.append(Problem(f"{_label(measure)}の結果がありません。実績を入力してください。",
                                    measure.key, "actual"))
            continue
        if result.department is not None and result.department != measure.department:
            owner = plan.department(measure.department).name
            problems.append(Problem(
                f"{_label(measure)}は{owner}の施策です。自所属の施策のみ提出してください。",
                measure.key, "department"))
        if len(result.actual) != len(parts):
            problems.append(Problem(
                f"{_label(measure)}の実績は{len(parts)}項目必要ですが、{len(result.actual)}項目が入力されています。",
                measure.key, "actual"))
            continue
        actuals[i] = _numbered(list(result.actual))
        for p, (part, written) in enumerate(zip(parts, result.actual), 1):
            where = f"{_label(measure)}" + (f"の({p})" if len(parts) > 1 else "")
            if not written.strip():
                problems.append(Problem(f"{where}の実績が未入力です。", measure.key, "actual", p))
                continue
            if part.kind == "qualitative":
                suggestion = suggest_qualitative(part.target, written, policy)
                if suggestion is not None and not suggested[i]:
                    suggested[i] = suggestion.value
                continue
            value = parse_value(written)
            if isinstance(value, Quantity):
                if value.unit != part.unit:
                    problems.append(Problem(
                        f"{where}の実績「{written}」の単位「{value.unit or '(なし)'}」が目標「{part.target}」の"
                        f"単位「{part.unit or '(なし)'}」と異なります。目標と同じ単位で入力してください。",
                        measure.key, "actual", p))
                    continue
                num_actual.append(float(value.value))
            elif is_negative(written, policy):
                num_actual.append(np.nan)
            else:
                problems.append(Problem(
                    f"{where}の実績「{written}」は数値ではありません。目標「{part.target}」と同じ単位の数値"
                    "（把握できない場合は「未把握」）を入力してください。",
                    measure.key, "actual", p))
                continue
            num_measure.append(i)
            num_target.append(float(part.target_quantity.value))
            num_lower.append(part.direction == "lower")
        if year_plan.has_qualitative:
            if result.self_rating is None or result.self_rating is Rating.NO_INDICATOR:
                problems.append(Problem(
                    f"{_label(measure)}は定性的な指標のため、自己評価（◎・○・△）を入力してください。",
                    measure.key, "self_rating"))
            else:
                qual_code[i] = result.self_rating.rank

    rule = qual_code.copy()
    if num_measure:
        codes = numeric_codes(np.array(num_target), np.array(num_actual), np.array(num_lower),
                              policy.exceeded_ratio)
        np.minimum.at(rule, np.array(num_measure), codes)

    final: list[str] = []
    for i, measure in enumerate(measures):
        result = by_key.get(measure.key)
        rule_rating = RATING_BY_RANK[int(rule[i])] if rule[i] != _UNRATED else Rating.NO_INDICATOR
        rating = rule_rating
        adjustment = result.adjustment if result is not None else None
        if adjustment is not None and status[i] == "rated":
            if not adjustment.justification.strip():
                problems.append(Problem(
                    f"{_label(measure)}の評価を「{adjustment.rating.value}」に変更するには、その理由の記載が必要です。",
                    measure.key, "adjustment"))
            if adjustment.rating is Rating.NO_INDICATOR:
                problems.append(Problem(f"{_label(measure)}の変更後の評価は◎・○・△のいずれかにしてください。",
                                        measure.key, "adjustment"))
            rating = adjustment.rating
        if result is not None and status[i] == "rated":
            if rating is Rating.NOT_ACHIEVED and not result.reason.strip() and not (
                    adjustment and adjustment.justification.strip()):
                problems.append(Problem(
                    f"{_label(measure)}は未達成（△）のため、「未達成の理由及び今後の見込み等」を入力してください。",
                    measure.key, "reason"))
            if result.cause is not None and result.cause not in known_causes:
                choices = "、".join(t.label for t in policy.cause_tags)
                problems.append(Problem(
                    f"{_label(measure)}の要因「{result.cause}」は選択肢にありません（{choices}）。",
                    measure.key, "cause"))
        final.append(rating.value if status[i] == "rated" else Rating.NO_INDICATOR.value)

    frame = pd.DataFrame({
        "key": [m.key for m in measures],
        "number": [m.number for m in measures],
        "name": [m.name for m in measures],
        "department": [m.department for m in measures],
        "indicator": [m.indicator for m in measures],
        "status": status,
        "target": targets,
        "actual": actuals,
        "rule_rating": [RATING_BY_RANK[int(c)].value if c != _UNRATED else Rating.NO_INDICATOR.value
                        for c in rule],
        "rating": final,
        "suggested": suggested,
    })
    for depth in range(len(plan.levels)):
        frame[f"level_{depth}"] = [m.path[depth] for m in measures]
    frame["self_rating"] = [_result_attr(by_key, m.key, "self_rating") for m in measures]
    frame["adjustment_reason"] = [
        (by_key[m.key].adjustment.justification if m.key in by_key and by_key[m.key].adjustment else "")
        for m in measures]
    frame["adjusted_by"] = [
        (by_key[m.key].adjustment.by if m.key in by_key and by_key[m.key].adjustment else "")
        for m in measures]
    frame["reason"] = [_result_attr(by_key, m.key, "reason") for m in measures]
    frame["cause"] = [_result_attr(by_key, m.key, "cause") for m in measures]
    frame["finished_in"] = [
        (m.years[year].finished_in if year in m.years and m.years[year].finished_in else None)
        for m in measures]
    return problems, frame


def _result_attr(by_key: dict[str, MeasureResult], key: str, attr: str) -> str:
    result = by_key.get(key)
    if result is None:
        return ""
    value = getattr(result, attr)
    if value is None:
        return ""
    return value.value if isinstance(value, Rating) else str(value)


def assess(plan: Plan, results: ResultSet) -> Assessment:
    """Rate a fiscal year; raise ValidationFailed listing every problem if any."""
    problems, frame = check(plan, results)
    if problems:
        raise ValidationFailed(problems)
    return Assessment(plan=plan, fiscal_year=results.fiscal_year, results=results, measures=frame)



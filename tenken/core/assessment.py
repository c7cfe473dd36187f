"""Validate a results set against the plan and rate every measure of a fiscal year.

`assess` is the one entry point: it checks everything, collects every problem (so a department
hears about all of them at once) and returns one row per measure as a pandas DataFrame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import Problem, ValidationFailed
from .plan import Measure, Part, Plan, Rating, RatingPolicy
from .rating import numeric_codes, suggest_qualitative, is_negative
from .results import Adjustment, MeasureResult, ResultSet
from .values import (
    MAX_DIGITS,
    Quantity,
    describe_characters,
    hidden_characters,
    overlong_number,
    parse_value,
    unusual_digits,
    visible,
)
from .wareki import wareki_year

_UNRATED = 9  # above every rank, so np.minimum keeps a real part's code


@dataclass(frozen=True)
class Assessment:
    """One fiscal year of a plan, rated. `measures` has one row per measure, in plan order."""

    plan: Plan
    fiscal_year: int
    results: ResultSet
    measures: pd.DataFrame


def named_measure(plan: Plan, measure: Measure) -> str:
    """How messages name a measure, in the plan's own word for it (施策, 事業 …)."""
    return f"{plan.measure_label} {measure.key}「{measure.name}」"


def _numbered(values: list[str]) -> str:
    if len(values) == 1:
        return values[0]
    return " ".join(f"({i}){v}" for i, v in enumerate(values, 1))


def check(plan: Plan, results: ResultSet, allow_missing: bool = False) -> tuple[list[Problem], pd.DataFrame]:
    """Every problem of the results set, and the rated rows (meaningful only without problems).

    With `allow_missing`, a measure nobody has submitted yet is not a problem: its status is
    "missing" and it stays outside the rates (a draft compiled while departments are late).

    One pass over the measures collects the columns and the numeric parts; numeric parts are then
    rated together with numpy, and final ratings and the checks that depend on them are vectorised.
    """
    year = results.fiscal_year
    policy = plan.rating
    problems: list[Problem] = []
    by_key = _index_results(plan, results, problems)

    measures = plan.measures
    n = len(measures)
    qual_code = np.full(n, _UNRATED, dtype=np.int8)
    status, targets, actuals, suggested = [""] * n, [""] * n, [""] * n, [""] * n
    num_measure: list[int] = []
    num_target: list[float] = []
    num_actual: list[float] = []
    num_lower: list[bool] = []
    refused_causes: set[str] = set()  # causes refused for their characters: not quoted again

    for i, measure in enumerate(measures):
        year_plan = measure.years.get(year)
        if year_plan is None:
            problems.append(Problem(_missing_target(plan, measure, year), measure.key, "target"))
            status[i] = "invalid"
            continue
        status[i] = year_plan.status
        result = by_key.get(measure.key)
        unreadable = _check_characters(plan, measure, result, problems) if result is not None else set()
        if ("cause", None) in unreadable:
            refused_causes.add(measure.key)
        if year_plan.status != "rated":
            if result is not None and result.actual:
                what = "指標が設定されていない" if year_plan.status == "no_indicator" else "取組が完了した"
                problems.append(Problem(
                    f"{named_measure(plan, measure)}は{wareki_year(year)}に{what}{plan.measure_label}のため、実績は入力できません。",
                    measure.key, "actual"))
            continue
        parts = year_plan.parts
        targets[i] = parts[0].target if len(parts) == 1 else _numbered([p.target for p in parts])
        if result is None:
            if allow_missing:
                status[i] = "missing"
            else:
                problems.append(Problem(f"{named_measure(plan, measure)}の結果がありません。実績を入力してください。",
                                        measure.key, "actual"))
            continue
        if result.department is not None and result.department != measure.department:
            owner = plan.department(measure.department).name
            problems.append(Problem(
                f"{named_measure(plan, measure)}は{owner}の{plan.measure_label}です。"
                f"自所属の{plan.measure_label}のみ提出してください。",
                measure.key, "department"))
        written_parts = result.actual
        if len(written_parts) != len(parts):
            problems.append(Problem(
                f"{named_measure(plan, measure)}の実績は{len(parts)}項目必要ですが、{len(written_parts)}項目が入力されています。",
                measure.key, "actual"))
            continue
        actuals[i] = written_parts[0] if len(parts) == 1 else _numbered(list(written_parts))
        for p, (part, written) in enumerate(zip(parts, written_parts), 1):
            if ("actual", p) in unreadable:
                continue
            if not written.strip():
                problems.append(Problem(f"{_where(plan, measure, p, len(parts))}の実績が未入力です。", measure.key, "actual", p))
            elif part.kind == "qualitative":
                suggestion = suggest_qualitative(part.target, written, policy)
                if suggestion is not None and not suggested[i]:
                    suggested[i] = suggestion.value
            else:
                value = _numeric_actual(plan, measure, part, written, p, len(parts), policy, problems)
                if value is not None:
                    num_measure.append(i)
                    num_target.append(float(part.target_quantity.value))
                    num_actual.append(value)
                    num_lower.append(part.direction == "lower")
        if year_plan.has_qualitative:
            if result.self_rating is None or result.self_rating is Rating.NO_INDICATOR:
                problems.append(Problem(
                    f"{named_measure(plan, measure)}は定性的な指標のため、自己評価（◎・○・△）を入力してください。",
                    measure.key, "self_rating"))
            else:
                qual_code[i] = result.self_rating.rank

    rule = qual_code
    if num_measure:
        codes = numeric_codes(np.array(num_target), np.array(num_actual), np.array(num_lower),
                              policy.exceeded_ratio)
        np.minimum.at(rule, np.array(num_measure), codes)
    rated = np.array(status, dtype=object) == "rated"
    rule = np.where(rated & (rule != _UNRATED), rule, Rating.NO_INDICATOR.rank).astype(np.int8)

    found = [by_key.get(m.key) for m in measures]
    adjustments = [r.adjustment if r is not None else None for r in found]
    final = rule.copy()
    for i in np.flatnonzero(rated & np.array([a is not None for a in adjustments], dtype=bool)):
        final[i] = _check_adjustment(plan, measures[i], adjustments[i], problems)
    _check_reasons(plan, measures, found, rated, final, problems, refused_causes)

    frame = pd.DataFrame({
        "key": [m.key for m in measures],
        "number": [m.number for m in measures],
        "name": [m.name for m in measures],
        "department": [m.department for m in measures],
        "indicator": [m.indicator for m in measures],
        "status": status,
        "target": targets,
        "actual": actuals,
        "rule_rating": _RATING_SYMBOLS[rule + 1],
        "rating": _RATING_SYMBOLS[final + 1],
        "suggested": suggested,
    })
    for depth in range(len(plan.levels)):
        frame[f"level_{depth}"] = [m.path[depth] for m in measures]
    frame["self_rating"] = [r.self_rating.value if r is not None and r.self_rating else "" for r in found]
    frame["adjustment_reason"] = [a.justification if a is not None else "" for a in adjustments]
    frame["adjusted_by"] = [a.by if a is not None else "" for a in adjustments]
    frame["reason"] = [r.reason if r is not None else "" for r in found]
    frame["cause"] = [(r.cause or "") if r is not None else "" for r in found]
    frame["finished_in"] = [m.years[year].finished_in if s == "finished" else None
                            for m, s in zip(measures, status)]
    return problems, frame


_RATING_SYMBOLS = np.array([Rating.NO_INDICATOR.value, Rating.NOT_ACHIEVED.value, Rating.ACHIEVED.value,
                            Rating.EXCEEDED.value], dtype=object)  # indexed by rank + 1


def _where(plan: Plan, measure: Measure, part: int, parts: int) -> str:
    return named_measure(plan, measure) + (f"の({part})" if parts > 1 else "")


def _missing_target(plan: Plan, measure: Measure, year: int) -> str:
    return (f"{named_measure(plan, measure)}の{wareki_year(year)}の目標が計画にありません。"
            "計画の設定に目標（または指標未設定・取組完了）を追加してください。")


# Free-text fields of a result: (field, title as the form and the report print it, may span lines).
_TEXT_FIELDS = (("reason", "未達成の理由及び今後の見込み等", True), ("cause", "要因", False),
                ("highlight", "主な取組", True))


def _check_characters(plan: Plan, measure: Measure, result: MeasureResult,
                      problems: list[Problem]) -> set[tuple[str, int | None]]:
    """Refuse control and format characters (NUL, ESC, U+202E …) and digits of other scripts in every
    text of a result; return the (field, part) refused, which the other checks then leave alone."""
    texts: list[tuple[str, int | None, str, str, bool]] = []
    parts = len(result.actual)
    for p, written in enumerate(result.actual, 1):
        texts.append(("actual", p, f"{_where(plan, measure, p, parts)}の「実績」", written, False))
    for field, title, multiline in _TEXT_FIELDS:
        value = getattr(result, field)
        for text in (value,) if isinstance(value, str) else value or ():
            texts.append((field, None, f"{named_measure(plan, measure)}の「{title}」", text, multiline))
    if result.adjustment is not None:
        texts.append(("adjustment", None, f"{named_measure(plan, measure)}の「評価変更の理由」",
                      result.adjustment.justification, True))
        texts.append(("adjustment", None, f"{named_measure(plan, measure)}の「評価変更者」", result.adjustment.by, False))
    refused: set[tuple[str, int | None]] = set()
    for field, part, where, text, multiline in texts:
        if (field, part) in refused:
            continue
        message = characters_problem(where, text, multiline)
        if message is not None:
            problems.append(Problem(message, measure.key, field, part))
            refused.add((field, part))
    return refused


def characters_problem(where: str, text: str, multiline: bool = False) -> str | None:
    """The message refusing `text` for its control/format characters or unusual digits, or None.
    `where` names the measure (and field): 施策 I-1-ア-1「…」の「実績」."""
    hidden = hidden_characters(text, multiline)
    if hidden:
        allowed = "（改行・タブを除く）" if multiline else ""
        return (f"{where}に入力できない文字（{describe_characters(hidden)}）が含まれています。"
                f"制御文字{allowed}や、文字の向き・つながりを変える見えない文字は受け付けられません。"
                "その文字を削除して（他の文書から貼り付けた場合は打ち直して）入力してください。")
    digits = unusual_digits(text)
    if digits:
        return (f"{where}に半角・全角以外の数字（{describe_characters(digits)}）が含まれています。"
                "数字は半角（0〜9）または全角（０〜９）で入力してください。")
    return None


def _index_results(plan: Plan, results: ResultSet, problems: list[Problem]) -> dict[str, MeasureResult]:
    by_key: dict[str, MeasureResult] = {}
    for result in results.results:
        if result.measure in by_key:
            problems.append(Problem(
                f"{plan.measure_label} {result.measure} の結果が重複しています。"
                f"1つの{plan.measure_label}につき1行にしてください。",
                result.measure, "measure"))
        elif result.measure not in plan.measures_by_key:
            problems.append(Problem(
                f"{plan.measure_label} {visible(result.measure)} は計画にありません。{plan.measure_label}番号を確認してください。",
                result.measure, "measure"))
        else:
            by_key[result.measure] = result
    return by_key


def _numeric_actual(plan: Plan, measure: Measure, part: Part, written: str, p: int, parts: int, policy: RatingPolicy,
                    problems: list[Problem]) -> float | None:
    """The actual as a float (NaN for a negative word such as 未把握), or None after recording a problem."""
    value = parse_value(written)
    if isinstance(value, Quantity):
        number = float(value.value)
        if not np.isfinite(number):  # parse_value keeps to 15 digits; a guard, should that change
            problems.append(_not_a_number(plan, measure, part, written, p, parts))
            return None
        if value.unit != part.unit:
            problems.append(Problem(
                f"{_where(plan, measure, p, parts)}の実績「{written}」の単位「{value.unit or '(なし)'}」が目標「{part.target}」の"
                f"単位「{part.unit or '(なし)'}」と異なります。目標と同じ単位で入力してください。",
                measure.key, "actual", p))
            return None
        if number < 0 and not part.negative_allowed:
            problems.append(Problem(
                f"{_where(plan, measure, p, parts)}の実績「{written}」が負の値です。この指標（目標「{part.target}」）の実績に"
                "負の値は入力できません。0以上の数値で入力してください。",
                measure.key, "actual", p))
            return None
        return number
    if overlong_number(written):
        problems.append(_not_a_number(plan, measure, part, written, p, parts))
        return None
    if is_negative(written, policy):
        return float("nan")
    problems.append(Problem(
        f"{_where(plan, measure, p, parts)}の実績「{written}」は数値ではありません。目標「{part.target}」と同じ単位の数値"
        "（把握できない場合は「未把握」）を入力してください。",
        measure.key, "actual", p))
    return None


def _not_a_number(plan: Plan, measure: Measure, part: Part, written: str, p: int, parts: int) -> Problem:
    return Problem(
        f"{_where(plan, measure, p, parts)}の実績「{visible(written, 30)}」は数値ではありません（桁数が多すぎます。"
        f"数値は{MAX_DIGITS}桁以内で入力してください）。目標「{part.target}」と同じ単位の数値を入力してください。",
        measure.key, "actual", p)


def _check_adjustment(plan: Plan, measure: Measure, adjustment: Adjustment, problems: list[Problem]) -> int:
    if not adjustment.justification.strip():
        problems.append(Problem(
            f"{named_measure(plan, measure)}の評価を「{adjustment.rating.value}」に変更するには、その理由の記載が必要です。",
            measure.key, "adjustment"))
    if adjustment.rating is Rating.NO_INDICATOR:
        problems.append(Problem(f"{named_measure(plan, measure)}の変更後の評価は◎・○・△のいずれかにしてください。",
                                measure.key, "adjustment"))
    return adjustment.rating.rank


def _check_reasons(plan: Plan, measures, found, rated: np.ndarray, final: np.ndarray,
                   problems: list[Problem], refused_causes: set[str] = frozenset()) -> None:
    """△ needs a reason (an adjustment's justification counts); a cause tag must be a known one."""
    policy = plan.rating
    known_causes = {t.key for t in policy.cause_tags}
    for i in np.flatnonzero(rated & (final == Rating.NOT_ACHIEVED.rank)):
        result = found[i]
        justification = result.adjustment.justification if result.adjustment else ""
        if not result.reason.strip() and not justification.strip():
            problems.append(Problem(
                f"{named_measure(plan, measures[i])}は未達成（△）のため、「未達成の理由及び今後の見込み等」を入力してください。",
                measures[i].key, "reason"))
    for i, result in enumerate(found):
        if (result is not None and result.cause is not None and result.cause not in known_causes
                and measures[i].key not in refused_causes):
            choices = "、".join(t.label for t in policy.cause_tags)
            problems.append(Problem(
                f"{named_measure(plan, measures[i])}の要因「{result.cause}」は選択肢にありません（{choices}）。",
                measures[i].key, "cause"))


def assess(plan: Plan, results: ResultSet, allow_missing: bool = False) -> Assessment:
    """Rate a fiscal year; raise ValidationFailed listing every problem if any."""
    problems, frame = check(plan, results, allow_missing)
    if problems:
        raise ValidationFailed(problems)
    return Assessment(plan=plan, fiscal_year=results.fiscal_year, results=results, measures=frame)



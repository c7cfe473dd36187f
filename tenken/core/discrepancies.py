"""What reviewers should look at before approving: where the ratings need a person's judgement."""

from __future__ import annotations

from decimal import Decimal

from .assessment import Assessment
from .plan import Part, Rating
from .results import ResultSet
from .values import Quantity, parse_value


def discrepancies(assessment: Assessment, previous: ResultSet | None = None) -> list[dict]:
    """One entry per finding: the measure, what kind of finding, and the detail in Japanese.

    Kinds: self_rating (the department's rating differs from the rule's or the system's suggestion),
    adjusted (the office changed the rule's rating), no_cause (△ without a cause tag),
    same_reason (the reason is word for word last year's), implausible (a numeric actual beyond
    `RatingPolicy.plausible_multiple` times its target — a slipped digit or unit more likely than a
    real result; see `implausible`). An implausible actual is still rated by the rules (usually ◎):
    the finding asks a reviewer to confirm it with the department or adjust the rating.
    """
    frame = assessment.measures
    plan = assessment.plan
    last_reasons = {r.measure: r.reason.strip() for r in previous.results} if previous else {}
    submitted = {r.measure: r for r in assessment.results.results}
    found = []
    for row in frame[frame["status"] == "rated"].itertuples(index=False):
        def add(kind: str, detail: str) -> None:
            found.append({"key": row.key, "name": row.name, "department": row.department, "kind": kind,
                          "detail": detail})

        if row.self_rating and row.suggested and row.self_rating != row.suggested:
            add("self_rating", f"自己評価「{row.self_rating}」がシステムの提案「{row.suggested}」と異なります")
        elif row.self_rating and row.self_rating != row.rule_rating:
            add("self_rating", f"自己評価「{row.self_rating}」がルールによる評価「{row.rule_rating}」と異なります")
        if row.rule_rating != row.rating:
            add("adjusted", f"評価を「{row.rule_rating}」から「{row.rating}」に変更（{row.adjustment_reason[:60]}）")
        if row.rating == Rating.NOT_ACHIEVED.value and not row.cause:
            add("no_cause", "未達成の要因が選択されていません")
        if row.reason.strip() and last_reasons.get(row.key) == row.reason.strip():
            add("same_reason", "未達成の理由等が前年度と同じ文面です")
        result = submitted.get(row.key)
        if result is not None:
            parts = plan.measures_by_key[row.key].years[assessment.fiscal_year].parts
            for p, (part, written) in enumerate(zip(parts, result.actual), 1):
                detail = implausible(part, written, plan.rating.plausible_multiple)
                if detail is not None:
                    where = f"({p})" if len(parts) > 1 else ""
                    add("implausible", f"{where}{detail}。桁や単位の誤りがないか所属に確認してください"
                                       f"（評価はルールどおり「{row.rule_rating}」としています）")
    return found


def implausible(part: Part, written: str, multiple: float) -> str | None:
    """Why a numeric actual is implausible against its target, or None.

    Higher is better: the actual exceeds target × multiple. Lower is better: the actual is above zero
    but below target ÷ multiple (0 is a common, genuine result — 0件 — and stays plausible; a far
    larger actual is rated △ and needs a reason anyway). Only a positive target has a multiple.
    """
    target = part.target_quantity
    if part.kind != "numeric" or target is None or target.value <= 0:
        return None
    value = parse_value(written)
    if not isinstance(value, Quantity) or value.unit != part.unit:
        return None
    factor = Decimal(repr(float(multiple)))
    times = f"{multiple:,.0f}" if float(multiple).is_integer() else f"{multiple:g}"
    if part.direction == "lower":
        if 0 < value.value * factor < target.value:
            return f"実績「{written}」が目標「{part.target}」の{times}分の1を下回っています（少ないほど良い指標）"
        return None
    if value.value > target.value * factor:
        return (f"実績「{written}」が目標「{part.target}」の{times}倍を超えています"
                f"（約{float(value.value / target.value):,.0f}倍）")
    return None

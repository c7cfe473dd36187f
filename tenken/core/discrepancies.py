"""What reviewers should look at before approving: where the ratings need a person's judgement."""

from __future__ import annotations

from .assessment import Assessment
from .plan import Rating
from .results import ResultSet


def discrepancies(assessment: Assessment, previous: ResultSet | None = None) -> list[dict]:
    """One entry per finding: the measure, what kind of finding, and the detail in Japanese.

    Kinds: self_rating (the department's rating differs from the rule's or the system's suggestion),
    adjusted (the office changed the rule's rating), no_cause (△ without a cause tag),
    same_reason (the reason is word for word last year's).
    """
    frame = assessment.measures
    last_reasons = {r.measure: r.reason.strip() for r in previous.results} if previous else {}
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
    return found

"""Achievement rates (達成率) by level and in total, and the narrative figures of report §2(1)."""

from __future__ import annotations

import pandas as pd

from .assessment import Assessment
from .plan import PreviousRates, Rating

_COUNT_COLUMNS = {Rating.EXCEEDED.value: "exceeded", Rating.ACHIEVED.value: "achieved",
                  Rating.NOT_ACHIEVED.value: "not_achieved"}


def rate(met: int, rated: int) -> float | None:
    """(◎ + ○) / (◎ + ○ + △) as a percentage with one decimal, rounded half up; None if nothing rated."""
    if rated == 0:
        return None
    tenths = (2000 * met + rated) // (2 * rated)
    return tenths / 10


def _counts(frame: pd.DataFrame, by: str | None) -> pd.DataFrame:
    rated = frame[frame["status"] == "rated"]
    if by is None:
        table = rated["rating"].value_counts().to_frame().T
    else:
        table = pd.crosstab(rated[by], rated["rating"])
    table = table.reindex(columns=list(_COUNT_COLUMNS), fill_value=0).rename(columns=_COUNT_COLUMNS)
    table["rated"] = table.sum(axis=1)
    return table.astype(int)


def _entry(row: pd.Series | None) -> dict:
    exceeded = int(row["exceeded"]) if row is not None else 0
    achieved = int(row["achieved"]) if row is not None else 0
    not_achieved = int(row["not_achieved"]) if row is not None else 0
    rated = exceeded + achieved + not_achieved
    return {"rated": rated, "exceeded": exceeded, "achieved": achieved, "not_achieved": not_achieved,
            "met": exceeded + achieved, "rate": rate(exceeded + achieved, rated)}


def summarize(assessment: Assessment, previous: PreviousRates | None = None) -> dict:
    """The summary table and narrative figures; `previous` defaults to the plan's configured rates."""
    plan, frame, year = assessment.plan, assessment.measures, assessment.fiscal_year
    if previous is None:
        previous = plan.previous_rates.get(year - 1)
    status = frame["status"].value_counts()
    total_counts = _counts(frame, None)
    total = _entry(total_counts.iloc[0] if len(total_counts) else None)
    by_top = _counts(frame, "level_0")
    by_second = _counts(frame, "level_1") if len(plan.levels) > 1 else None

    pillars = []
    for node in plan.tree:
        entry = _entry(by_top.loc[node.key] if node.key in by_top.index else None)
        children = []
        for child in node.children if by_second is not None else ():
            child_entry = _entry(by_second.loc[child.key] if child.key in by_second.index else None)
            children.append({"key": child.key, "number": child.number, "title": child.title,
                             "label": child.heading, **child_entry})
        pillars.append({
            "key": node.key, "number": node.number, "title": node.title, "label": node.heading,
            **entry,
            "previous_rate": previous.levels.get(node.key) if previous else None,
            "sub_pillars": children,
        })

    not_achieved = frame[(frame["status"] == "rated") & (frame["rating"] == Rating.NOT_ACHIEVED.value)]
    by_cause = not_achieved["cause"].replace("", "untagged").value_counts()
    policy = plan.rating
    by_cause_labelled = {policy.cause_label(k) if k != "untagged" else "未分類": int(v)
                         for k, v in by_cause.items()}
    external = int(not_achieved["cause"].isin(policy.external_cause_tags).sum())

    finished = int(status.get("finished", 0))
    return {
        "fiscal_year": year,
        "level_labels": [level.label for level in plan.levels],
        "measure_label": plan.measure_label,
        "fields": plan.leaf_count(),
        "measures": len(frame),
        "finished_earlier": finished,
        "worked_on": len(frame) - finished,
        "no_indicator": int(status.get("no_indicator", 0)),
        "missing": int(status.get("missing", 0)),  # not submitted yet (drafts only)
        **total,
        "previous_rate": previous.total if previous else None,
        "not_achieved_by_cause": {str(k): int(v) for k, v in by_cause.items()},
        "not_achieved_by_cause_label": by_cause_labelled,
        "not_achieved_external": external,
        "external_causes": [policy.cause_label(k) for k in policy.external_cause_tags],
        "finished_in": sorted({int(y) for y in frame["finished_in"].dropna()}),
        "pillars": pillars,
    }

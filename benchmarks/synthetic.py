"""A synthetic plan of any size, shaped like Kanagawa's (3 levels), with results for one year."""

from __future__ import annotations

import random

from tenken.config import plan_from_mapping
from tenken.core.plan import Plan, Rating
from tenken.core.results import MeasureResult, ResultSet

YEAR = 2020


def synthetic_config(measures: int, departments: int, seed: int = 1,
                     grouped: bool = False) -> tuple[dict, list[dict]]:
    """plan.yaml and departments.yaml contents of a synthetic plan.

    Measures go to departments in turn, or with `grouped` in blocks (each department owns
    measures/departments consecutive ones, as a department's workbook would list them).
    """
    rng = random.Random(seed)
    depts = [{"key": f"dept-{d:05d}", "name": f"部署{d:05d}", "slack": f"#dept-{d:05d}"} for d in range(departments)]
    per_field = 25
    fields = []
    for f in range(0, measures, per_field):
        ms = []
        for i in range(f, min(f + per_field, measures)):
            owner = i * departments // measures if grouped else i % departments
            dept = depts[owner]["name"]
            kind = i % 10
            if kind == 0:
                entry = {"kind": "qualitative", "target": "実施"}
            elif kind == 1:
                entry = {"status": "no_indicator"}
            elif kind == 2:
                entry = {"parts": [{"label": "件数", "kind": "numeric", "target": "100件", "unit": "件"},
                                   {"label": "割合", "kind": "numeric", "target": "80%", "unit": "%"}]}
            else:
                entry = {"kind": "numeric", "target": f"{rng.randint(1, 50) * 1000:,}人", "unit": "人",
                         "direction": "lower" if kind == 3 else "higher"}
            ms.append({"name": f"施策{i}", "department": dept, "indicator": "指標", "years": {YEAR: entry}})
        fields.append({"title": f"分野{f // per_field}", "measures": ms})
    subs = [{"title": f"中柱{s}", "children": fields[s::7]} for s in range(7)]
    tree = [{"title": "柱Ⅰ", "children": subs[:4]}, {"title": "柱Ⅱ", "children": subs[4:]}]
    raw = {"plan": {"name": "合成計画", "organisation": "合成県", "period": [2019, 2022]},
           "levels": [{"key": "pillar", "label": "柱", "numbering": "roman"},
                      {"key": "sub", "label": "中柱", "numbering": "circled"},
                      {"key": "field", "label": "分野", "numbering": "arabic"}],
           "rating": {"cause_tags": [{"key": "covid", "label": "感染症"}], "external_cause_tags": ["covid"]},
           "tree": tree}
    return raw, depts


def synthetic_results(plan: Plan, seed: int = 1) -> ResultSet:
    """Results for every rated measure: about a third of numeric ones miss their target."""
    rng = random.Random(seed)
    rows = []
    for m in plan.measures:
        year = m.years[YEAR]
        if year.status != "rated":
            continue
        if year.kind == "qualitative":
            actual, self_rating = ("実施",), rng.choice([Rating.ACHIEVED, Rating.NOT_ACHIEVED])
        else:
            actual = tuple(f"{float(p.target_quantity.value) * rng.uniform(0.6, 1.6):,.0f}{p.unit}" for p in year.parts)
            self_rating = None
        rows.append(MeasureResult(measure=m.key, actual=actual, self_rating=self_rating,
                                  reason="理由と今後の見込み", cause="covid"))
    return ResultSet(fiscal_year=YEAR, results=tuple(rows))


def synthetic(measures: int, departments: int, seed: int = 1) -> tuple[Plan, ResultSet]:
    plan = plan_from_mapping(*synthetic_config(measures, departments, seed))
    return plan, synthetic_results(plan, seed)

"""Small factories: a plan and results built in code, as the config loader would build them."""

from __future__ import annotations

from tenken.config import plan_from_mapping
from tenken.core.plan import Plan
from tenken.core.results import MeasureResult, ResultSet

DEPARTMENTS = [
    {"key": "dept-a", "name": "企画課"},
    {"key": "dept-b", "name": "情報課"},
]


def numeric(target: str, unit: str, direction: str = "higher") -> dict:
    return {"kind": "numeric", "target": target, "unit": unit, "direction": direction}


def qualitative(target: str) -> dict:
    return {"kind": "qualitative", "target": target}


def measure(name: str, year_entry: dict, department: str = "企画課", year: int = 2020) -> dict:
    return {"name": name, "department": department, "indicator": f"{name}の指標", "years": {year: year_entry}}


def make_plan(*measures: dict, exceeded_ratio: float = 1.25, cause_tags=None) -> Plan:
    """One pillar, one sub-pillar, one field holding the given measures (keys I-1-ア-1, …)."""
    raw = {
        "plan": {"name": "テスト計画", "organisation": "テスト県", "period": [2019, 2022]},
        "levels": [
            {"key": "pillar", "label": "柱", "numbering": "roman"},
            {"key": "sub_pillar", "label": "中柱", "numbering": "circled"},
            {"key": "field", "label": "分野", "numbering": "katakana"},
        ],
        "rating": {
            "exceeded_ratio": exceeded_ratio,
            "cause_tags": cause_tags or [{"key": "covid", "label": "感染症の影響"}, {"key": "other", "label": "その他"}],
            "external_cause_tags": ["covid"],
        },
        "tree": [{"title": "柱", "children": [{"title": "中柱", "children": [
            {"title": "分野", "measures": list(measures)}]}]}],
    }
    return plan_from_mapping(raw, DEPARTMENTS)


def result(key: str, *actual: str, **fields) -> MeasureResult:
    return MeasureResult(measure=key, actual=actual, **fields)


def results(*rows: MeasureResult, year: int = 2020) -> ResultSet:
    return ResultSet(fiscal_year=year, results=rows)

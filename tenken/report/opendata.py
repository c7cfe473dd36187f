"""The annex as open data: CSV (UTF-8 with BOM, so Excel opens it as Japanese) and JSON.

One row per measure, the same figures as the printed annex, plus what a re-user needs to
join years and levels (keys, status, the rule's rating, the cause tag).

Values are published as written: numbers as numbers (年度, 番号), a target or actual such as
+1.6%(※) or -3件 unchanged. Only in the CSV, a text cell a spreadsheet would run as a formula gets a
leading apostrophe (`tenken.csvsafe.GUARD_RULE`); the column dictionary ends with a note row saying
so, and the JSON carries every value untouched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from tenken.core.assessment import Assessment
from tenken.csvsafe import GUARD_RULE, to_csv


@dataclass(frozen=True)
class Column:
    key: str  # JSON key
    header: str  # CSV header (Japanese, as printed)
    description: str


GUARD_NOTE = ("（注）先頭の「'」", "", GUARD_RULE)  # the column dictionary's last row: not a column
STATUS_LABELS = {"rated": "評価対象", "no_indicator": "指標未設定", "finished": "取組完了"}


def columns(assessment: Assessment) -> list[Column]:
    plan = assessment.plan
    level_columns = [Column(f"level_{i}", level.label, f"{level.label}（番号と名称）")
                     for i, level in enumerate(plan.levels)]
    unit = plan.measure_label
    return [
        Column("fiscal_year", "年度", "会計年度（西暦、4月始まり）"),
        Column("key", f"{unit}コード", f"{unit}を一意に示すコード（階層の番号と{unit}番号をハイフンで連結）"),
        *level_columns,
        Column("number", "番号", f"{plan.levels[-1].label}内の{unit}番号"),
        Column("name", f"{unit}名", f"{unit}の名称"),
        Column("department", "所属", f"{unit}を所管する所属"),
        Column("indicator", "成果指標", "成果指標（複数項目は(1)(2)…で列記）"),
        Column("status", "状況", "評価対象 / 指標未設定（当該年度の指標なし）/ 取組完了（前年度までに終了）"),
        Column("target", "目標", "当該年度の目標値"),
        Column("actual", "実績", "当該年度の実績値"),
        Column("rating", "評価", "◎目標を上回った ○達成 △未達成 —指標未設定"),
        Column("rule_rating", "規則による評価", "評価基準を機械的に当てはめた評価（評価を変更した場合に「評価」と異なる）"),
        Column("adjustment_reason", "評価変更の理由", "規則による評価から変更した場合の理由"),
        Column("reason", "未達成の理由及び今後の見込み等", "所属が記載した理由及び今後の見込み等"),
        Column("cause", "未達成の要因", "未達成の要因の区分"),
    ]


def records(assessment: Assessment) -> list[dict]:
    plan, frame = assessment.plan, assessment.measures
    out = []
    for row in frame.itertuples(index=False):
        record = {
            "fiscal_year": assessment.fiscal_year,
            "key": row.key,
            **{f"level_{i}": plan.nodes[getattr(row, f"level_{i}")].heading for i in range(len(plan.levels))},
            "number": int(row.number),
            "name": row.name,
            "department": plan.department(row.department).name,
            "indicator": row.indicator,
            "status": STATUS_LABELS[row.status],
            "target": row.target,
            "actual": row.actual,
            "rating": row.rating if row.status != "finished" else "",
            "rule_rating": row.rule_rating if row.status == "rated" else "",
            "adjustment_reason": row.adjustment_reason,
            "reason": row.reason,
            "cause": plan.rating.cause_label(row.cause) if row.cause else "",
        }
        out.append(record)
    return out


def annex_csv(assessment: Assessment) -> str:
    cols = columns(assessment)
    return to_csv([c.header for c in cols], ([r[c.key] for c in cols] for r in records(assessment)), bom=True,
                  keep_values=True)


def annex_json(assessment: Assessment, title: str) -> str:
    cols = columns(assessment)
    document = {
        "title": title,
        "plan": assessment.plan.name,
        "organisation": assessment.plan.organisation,
        "fiscal_year": assessment.fiscal_year,
        "columns": [{"key": c.key, "header": c.header, "description": c.description} for c in cols],
        "measures": records(assessment),
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def column_dictionary(assessment: Assessment) -> str:
    """The columns of the CSV and the JSON, one row each, itself a CSV for Excel; then a note (no JSON
    key) on the apostrophe the CSV puts before text a spreadsheet would run as a formula."""
    return to_csv(["列名（CSV）", "キー（JSON）", "説明"],
                  [*([c.header, c.key, c.description] for c in columns(assessment)), GUARD_NOTE], bom=True,
                  keep_values=True)

"""`tenken summary` and `tenken rate`: the figures of a fiscal year."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from tenken.cli.app import ConfigOption, YearOption, app, domain_errors, write_stdout
from tenken.core.wareki import wareki_year
from tenken.csvsafe import to_csv
from tenken.core.aggregate import summarize
from tenken.services import assess_cycle

RATE_COLUMNS = ["key", "name", "department", "department_name", "indicator", "target", "actual",
                "rule_rating", "self_rating", "rating", "adjustment_reason", "adjusted_by", "reason", "cause"]


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def summary_table(summary: dict) -> str:
    lines = [f"{wareki_year(summary['fiscal_year'])} 成果指標の達成状況",
             f"{summary['fields']}{summary['level_labels'][-1]} {summary['measures']}{summary['measure_label']}"
             f"（取組完了 {summary['finished_earlier']}、"
             f"取組 {summary['worked_on']}、指標未設定 {summary['no_indicator']}）", "",
             f"{'':<4}{'達成率':>8}{'施策数':>6}{'◎':>5}{'○':>5}{'△':>5}  前回"]
    for pillar in summary["pillars"]:
        lines.append(pillar["label"])
        for sub in pillar["sub_pillars"]:
            lines.append(f"  {sub['label']}")
            lines.append(f"{'':<4}{_pct(sub['rate']):>9}{sub['rated']:>7}{sub['exceeded']:>6}{sub['achieved']:>6}"
                         f"{sub['not_achieved']:>6}")
        lines.append(f"  小計{_pct(pillar['rate']):>9}{pillar['rated']:>7}{pillar['met']:>12}"
                     f"{pillar['not_achieved']:>6}  {_pct(pillar['previous_rate'])}")
    lines.append(f"合計  {_pct(summary['rate']):>9}{summary['rated']:>7}{summary['met']:>12}"
                 f"{summary['not_achieved']:>6}  {_pct(summary['previous_rate'])}")
    if summary["not_achieved_by_cause_label"]:
        causes = "、".join(f"{k} {v}" for k, v in summary["not_achieved_by_cause_label"].items())
        lines.append(f"未達成の要因: {causes}")
    return "\n".join(lines)


@app.command()
@domain_errors
def summary(
    year: YearOption,
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Achievement rates by pillar and sub-pillar, and the narrative figures of the report."""
    figures = summarize(assess_cycle(year, config))
    write_stdout(json.dumps(figures, ensure_ascii=False, indent=2) if as_json else summary_table(figures))


@app.command()
@domain_errors
def rate(
    year: YearOption,
    config: ConfigOption = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV (one row per measure).")] = False,
) -> None:
    """The rating of every measure: the rule's, the final one, and any adjustment."""
    assessment = assess_cycle(year, config)
    frame = assessment.measures.copy()
    frame["department_name"] = [assessment.plan.department(d).name for d in frame["department"]]
    if as_csv:
        write_stdout(to_csv(RATE_COLUMNS, frame[RATE_COLUMNS].itertuples(index=False)))
        return
    for row in frame.itertuples():
        mark = row.rating + ("*" if row.rating != row.rule_rating else " ")
        write_stdout(f"{row.key:<10} {mark} {row.name}（{row.department_name}）")

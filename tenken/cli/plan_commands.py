"""`tenken summary` and `tenken rate`: the figures of a fiscal year."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from tenken.cli.app import ConfigOption, DbOption, VarOption, YearOption, app, domain_errors, existing_ledger, \
    settings, write_stdout

if TYPE_CHECKING:
    from tenken.core.aggregate import Summary

RATE_COLUMNS = ["key", "name", "department", "department_name", "indicator", "target", "actual",
                "rule_rating", "self_rating", "rating", "adjustment_reason", "adjusted_by", "reason", "cause",
                "status"]
# The CSV's `status`: what the rating — means, in the annex's words (tenken.report.opendata.STATUS_LABELS).
RATE_STATUS = {"rated": "評価対象", "no_indicator": "指標未設定", "finished": "取組完了", "missing": "未提出"}


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def summary_table(summary: Summary) -> str:
    from tenken.core.wareki import wareki_year

    lines = [f"{wareki_year(summary.fiscal_year)} 成果指標の達成状況",
             f"{summary.fields}{summary.level_labels[-1]} {summary.measures}{summary.measure_label}"
             f"（取組完了 {summary.finished_earlier}、"
             f"取組 {summary.worked_on}、指標未設定 {summary.no_indicator}）", "",
             f"{'':<4}{'達成率':>8}{summary.measure_label + '数':>6}{'◎':>5}{'○':>5}{'△':>5}  前回"]
    pillar = None
    for row in summary.rows():
        if row.pillar is not None and row.pillar.key != pillar:
            pillar = row.pillar.key
            lines.append(row.pillar.label)
        if row.kind == "sub_pillar":
            lines.append(f"  {row.label}")
            lines.append(f"{'':<4}{_pct(row.rate):>9}{row.rated:>7}{row.exceeded:>6}{row.achieved:>6}"
                         f"{row.not_achieved:>6}")
        else:
            lead = "  小計" if row.kind == "pillar" else "合計  "
            lines.append(f"{lead}{_pct(row.rate):>9}{row.rated:>7}{row.met:>12}{row.not_achieved:>6}  "
                         f"{_pct(row.previous_rate)}")
    if summary.not_achieved_by_cause_label:
        causes = "、".join(f"{k} {v}" for k, v in summary.not_achieved_by_cause_label.items())
        lines.append(f"未達成の要因: {causes}")
    return "\n".join(lines)


@app.command()
@domain_errors
def summary(
    year: YearOption,
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    db: DbOption = None,
    var: VarOption = None,
) -> None:
    """Achievement rates by pillar and sub-pillar, and the narrative figures of the report."""
    from tenken.core.aggregate import summarize
    from tenken.services.history import history_for, previous_rates
    from tenken.services.results import assess_cycle

    resolved = settings(config, db, var)
    with existing_ledger(resolved) as ledger:
        assessment = assess_cycle(year, resolved.config_dir, ledger)
        previous = previous_rates(assessment.plan, year, history_for(assessment.plan, year, ledger))
    figures = summarize(assessment, previous)
    write_stdout(json.dumps(figures.to_dict(), ensure_ascii=False, indent=2) if as_json else summary_table(figures))


@app.command()
@domain_errors
def rate(
    year: YearOption,
    config: ConfigOption = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV (one row per measure).")] = False,
    db: DbOption = None,
    var: VarOption = None,
) -> None:
    """The rating of every measure: the rule's, the final one, and any adjustment."""
    from tenken.csvsafe import to_csv
    from tenken.services.results import assess_cycle

    resolved = settings(config, db, var)
    with existing_ledger(resolved) as ledger:
        assessment = assess_cycle(year, resolved.config_dir, ledger)
    frame = assessment.measures.copy()
    frame["department_name"] = [assessment.plan.department(d).name for d in frame["department"]]
    if as_csv:
        frame["status"] = [RATE_STATUS.get(s, s) for s in frame["status"]]
        # Read by the office, not sent back: values as written (-3件, +1.6%(※)), formulas neutralised.
        write_stdout(to_csv(RATE_COLUMNS, frame[RATE_COLUMNS].itertuples(index=False), keep_values=True))
        return
    for row in frame.itertuples():
        mark = row.rating + ("*" if row.rating != row.rule_rating else " ")
        write_stdout(f"{row.key:<10} {mark} {row.name}（{row.department_name}）")

"""`tenken adjust` and `tenken adjustments`: the office's rating adjustments (評価の調整) of a cycle."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from tenken.cli.app import ConfigOption, DbOption, VarOption, YearOption, app, domain_errors, settings, write_stdout

if TYPE_CHECKING:
    from tenken.core.plan import Plan
    from tenken.services.adjusting import Adjusted

SOURCE_LABEL = {"ledger": "台帳", "results file": "結果ファイル"}


def _local(when: datetime | None) -> str:
    from zoneinfo import ZoneInfo

    return "—" if when is None else f"{when.astimezone(ZoneInfo('Asia/Tokyo')):%Y-%m-%d %H:%M}"


def _indented(label: str, text: str) -> list[str]:
    lines = text.splitlines() or [""]
    pad = " " * sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in label)
    return [f"  {label}{lines[0]}", *(f"  {pad}{line}" for line in lines[1:])]


def _titled(plan: Plan, key: str) -> str:
    measure = plan.measures_by_key.get(key)
    if measure is None:
        return f"{plan.measure_label} {key}"
    return f"{plan.measure_label} {key}「{measure.name}」（{plan.department(measure.department).name}）"


def confirmation(plan: Plan, adjusted: Adjusted) -> list[str]:
    before, record = adjusted.before, adjusted.record
    title = _titled(plan, record.measure)
    previous = before.adjustment
    was = (f"これまでの変更「{previous.rating.value}」（{SOURCE_LABEL.get(before.source or '', '')}、"
           f"変更者: {previous.by}）") if previous is not None else ""
    if adjusted.withdrawn:
        lines = [f"評価の変更を取り消しました: {title}",
                 f"  規則による評価「{before.rule.value}」に戻ります（{was}を取り消し。取消し: {record.by}）。"]
    else:
        lines = [f"評価を変更しました: {title}",
                 f"  規則による評価「{before.rule.value}」→ 変更後の評価「{record.rating}」（変更者: {record.by}）"]
        if previous is not None:
            lines.append(f"  {was}に代わります。")
    return lines + _indented("理由: ", record.justification)


@app.command()
@domain_errors
def adjust(
    year: YearOption,
    measure: Annotated[str, typer.Argument(help="Measure key, e.g. I-1-カ-1.")],
    rating: Annotated[str, typer.Argument(
        help="The adjusted rating: ◎, ○ or △. The rule's own rating withdraws the adjustment in effect.")],
    why: Annotated[str, typer.Option("--why", help="Written justification (printed in the report's reasons column).")] = "",
    by: Annotated[str, typer.Option("--by", help="Who adjusts the rating (name or post).")] = "",
    config: ConfigOption = None,
    db: DbOption = None,
    var: VarOption = None,
) -> None:
    """Record the office's rating of a measure, other than the rule's, with its justification (the latest counts,
    over any adjustment in the results file). `tenken adjustments` lists them."""
    from tenken.services import Cycle
    from tenken.services.adjusting import record_adjustment

    with Cycle.opened(settings(config, db, var), year, sending=False) as cycle:
        adjusted = record_adjustment(cycle, measure, rating, why, by)
        lines = confirmation(cycle.plan, adjusted)
    write_stdout("\n".join(lines))


@app.command()
@domain_errors
def adjustments(
    year: YearOption,
    history: Annotated[bool, typer.Option("--all", help="Every adjustment entered in the ledger, oldest first "
                                                        "(withdrawals and replaced ones too).")] = False,
    config: ConfigOption = None,
    db: DbOption = None,
    var: VarOption = None,
) -> None:
    """The rating adjustments in effect for the cycle (from the ledger, else the results file)."""
    from tenken.core.wareki import wareki_year
    from tenken.services import Cycle
    from tenken.services.adjusting import standings
    from tenken.services.results import WITHDRAWN

    with Cycle.opened(settings(config, db, var), year, sending=False) as cycle:
        plan = cycle.plan
        if history:
            records = cycle.ledger.adjustments(year)
        else:
            found = standings(cycle)
    if history:
        if not records:
            write_stdout(f"{wareki_year(year)}に台帳へ記録された評価の調整はありません。")
            return
        lines = [f"{wareki_year(year)}に台帳へ記録された評価の調整: {len(records)}件（古い順。{plan.measure_label}ごとに最新のものが有効）"]
        for record in records:
            what = "取消し" if record.rating == WITHDRAWN else f"「{record.rating}」"
            lines.append(f"{_local(record.recorded_at)}  {_titled(plan, record.measure)}  {what}  変更者: {record.by}")
            lines += _indented("理由: ", record.justification)
        write_stdout("\n".join(lines))
        return
    if not found:
        write_stdout(f"{wareki_year(year)}の評価の調整はありません。")
        return
    lines = [f"{wareki_year(year)}の評価の調整: {len(found)}件"]
    for standing in found:
        adjustment = standing.adjustment
        assert adjustment is not None
        where = SOURCE_LABEL.get(standing.source or "", "")
        if standing.recorded_at is not None:
            where += f" {_local(standing.recorded_at)}"
        lines.append(_titled(plan, standing.measure.key))
        lines.append(f"  規則による評価「{standing.rule.value}」→ 変更後の評価「{adjustment.rating.value}」"
                     f"（変更者: {adjustment.by}、{where}）")
        lines += _indented("理由: ", adjustment.justification)
    write_stdout("\n".join(lines))

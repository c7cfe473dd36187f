"""`tenken open | collect | remind | compile | publish`: one stage of the cycle by hand, without Prefect.

Each runs the same use case (tenken.services) as the stage's flow, on the same var folder and ledger,
and sends what the flow would send (Slack with a token, else the outbox); a stage already done is
not done twice, so running one by hand and then the flow is safe. The review itself (the pause for
the reviewers' decision) needs Prefect: `compile` writes the draft a review round reads.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer

from tenken.cli.app import ConfigOption, DbOption, VarOption, YearOption, app, domain_errors, settings, write_stdout

TodayOption = Annotated[
    datetime | None,
    typer.Option("--today", formats=["%Y-%m-%d"], help="The day to act as (YYYY-MM-DD; default: today)."),
]


@app.command("open")
@domain_errors
def open_(year: YearOption, config: ConfigOption = None, db: DbOption = None, var: VarOption = None) -> None:
    """Open the cycle: record it, write each department's request workbook and send it (once). A cycle the
    preflight (`tenken check`) finds not ready is not opened: the list is printed and nothing is recorded."""
    from tenken.core.wareki import wareki_date, wareki_year
    from tenken.services import Cycle
    from tenken.services.opening import open_cycle, send_requests
    from tenken.services.preflight import require

    resolved = settings(config, db, var)
    require(resolved, year)
    with Cycle.opened(resolved, year) as cycle:
        workbooks = open_cycle(cycle)
        sent = send_requests(cycle, workbooks)
        where, deadline = cycle.folder("requests"), cycle.deadline
    write_stdout(f"{wareki_year(year)}の点検を開始しました（提出期限 {wareki_date(deadline)}）。"
                 f"依頼ファイル {len(workbooks)}所属分: {where}")
    write_stdout(f"送付 {len(sent)}所属（送付済み {len(workbooks) - len(sent)}所属）")


@app.command()
@domain_errors
def collect(year: YearOption, config: ConfigOption = None, db: DbOption = None, var: VarOption = None) -> None:
    """Take in every new file the departments posted in their Slack threads (with Slack) and every file
    delivered to the cycle's inbox; store it, answer its sender in place (receipt or problems, once)."""
    from tenken.services import Cycle
    from tenken.services.collecting import collect as collect_stage

    with Cycle.opened(settings(config, db, var), year) as cycle:
        inbox = cycle.folder("inbox")
        report = collect_stage(cycle)
    via = {"slack": "Slack", "inbox": "受信フォルダ"}
    for entry in report.accepted:
        write_stdout(f"受付  {entry['department']} 第{entry['version']}版: {entry['file']}（{via[entry['via']]}）")
    for entry in report.rejected:
        write_stdout(f"差戻し {entry['department'] or '所属不明'}: {entry['file']}（{via[entry['via']]}）"
                     f" — {len(entry['problems'])}件の問題")
    for entry in report.failed:
        write_stdout(f"未処理 {entry['file']}: {entry['error']}（受信フォルダに残し、次回もう一度処理します）")
    total = len(report.accepted) + len(report.rejected) + len(report.failed)
    failed = f"、未処理 {len(report.failed)}件" if report.failed else ""
    where = f"Slack と {inbox}" if hasattr(cycle.notifier, "posted_files") else str(inbox)
    write_stdout(f"{where}: {total}件中 受付 {len(report.accepted)}件、差戻し {len(report.rejected)}件{failed}")
    if report.failed:
        raise typer.Exit(1)


@app.command()
@domain_errors
def remind(year: YearOption, today: TodayOption = None, config: ConfigOption = None, db: DbOption = None,
           var: VarOption = None) -> None:
    """Send each department still missing the reminder due today (each stage once; escalates per cycle.yaml)."""
    from datetime import date

    from tenken.services import Cycle
    from tenken.services.reminding import send_reminders

    day = today.date() if today else date.today()
    with Cycle.opened(settings(config, db, var), year) as cycle:
        sent = send_reminders(cycle, day)
        names = {d.key: d.name for d in cycle.plan.departments}
    for entry in sent:
        escalated = "（上位者にも送付）" if entry["escalated"] else ""
        write_stdout(f"督促 {names[entry['department']]} {entry['stage']}{escalated}")
    write_stdout(f"{day.isoformat()}: 督促 {len(sent)}件")


@app.command("compile")
@domain_errors
def compile_(
    year: YearOption,
    round: Annotated[int | None, typer.Option("--round", min=1, help="Review round (default: the next one).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the draft's files and figures as JSON.")] = False,
    config: ConfigOption = None,
    db: DbOption = None,
    var: VarOption = None,
) -> None:
    """Rate what was submitted and write the watermarked draft of a review round (PDF, HTML, open data, checks)."""
    from tenken.services import Cycle
    from tenken.services.compiling import compile_draft
    from tenken.services.reviewing import next_round

    with Cycle.opened(settings(config, db, var), year, sending=False) as cycle:
        compiled = compile_draft(cycle, round or next_round(cycle))
    if as_json:
        write_stdout(json.dumps({"round": compiled.round, "files": compiled.files, "missing": compiled.missing,
                                 "discrepancies": compiled.discrepancy_count,
                                 "summary": compiled.summary.to_dict()}, ensure_ascii=False, indent=2))
        return
    summary = compiled.summary
    write_stdout(f"第{compiled.round}回確認の案: 達成率 {summary.rate}%（{summary.met}/{summary.rated}）、"
                 f"未提出 {len(compiled.missing)}所属、確認が必要な事項 {compiled.discrepancy_count}件")
    for kind, path in compiled.files.items():
        write_stdout(f"  {kind}: {path}")


@app.command()
@domain_errors
def publish(year: YearOption, config: ConfigOption = None, db: DbOption = None, var: VarOption = None,
            unreviewed: Annotated[bool, typer.Option(
                "--unreviewed", help="Publish without the reviewers' approval (recorded with no review round).")]
            = False) -> None:
    """Publish the approved final report, HTML and open data to cycle.yaml's publish_target with checksums;
    announce it once. Refused unless the last review round was approved (or --unreviewed)."""
    from tenken.services import Cycle
    from tenken.services.publishing import publish_final

    with Cycle.opened(settings(config, db, var), year) as cycle:
        published = publish_final(cycle, unreviewed=unreviewed)
    write_stdout(f"公表しました: {published.target}")
    for kind, path in published.files.items():
        write_stdout(f"  {kind}: {path}")
    write_stdout(f"  index: {published.index}")

"""`tenken requests`, `tenken intake`, `tenken status`, `tenken example-workbooks`: collecting the
departments' results of a cycle."""

from __future__ import annotations

import json
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tenken.cli.app import ConfigOption, DbOption, VarOption, YearOption, app, domain_errors, progress, settings, \
    write_stdout

if TYPE_CHECKING:
    from tenken.intake import IntakeOutcome

READERS = ("calamine", "openpyxl")  # tenken.workbook.reader.READERS, not imported here: openpyxl is slow to import
DeadlineOption = Annotated[
    datetime | None,
    typer.Option("--deadline", formats=["%Y-%m-%d"],
                 help="Submission deadline printed in the workbooks (YYYY-MM-DD; default: cycle.yaml's)."),
]
OutOption = Annotated[Path, typer.Option("--out", "-o", help="Folder to write the files to.", file_okay=False)]


def _pad(text: str, width: int) -> str:
    """Pad to a terminal width, counting East Asian wide characters as two columns."""
    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(width - used, 0)


def _local(when: datetime | None) -> str:
    from zoneinfo import ZoneInfo

    return "—" if when is None else f"{when.astimezone(ZoneInfo('Asia/Tokyo')):%Y-%m-%d %H:%M}"


def _check_departments(plan, keys: list[str] | None) -> None:
    from tenken.core.errors import DomainError

    for key in keys or []:
        if key not in plan.departments_by_key:
            raise DomainError(f"所属コード「{key}」は所属の一覧にありません。")


@app.command()
@domain_errors
def requests(
    year: YearOption,
    out: OutOption,
    deadline: DeadlineOption = None,
    department: Annotated[list[str] | None, typer.Option(
        "--department", "-d", help="Only this department (key); repeatable.")] = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="Also write the CSV form beside each workbook.")] = False,
    config: ConfigOption = None,
    db: DbOption = None,
    var: VarOption = None,
) -> None:
    """Write each department's request workbook for the cycle and record the cycle in the ledger (nothing is sent)."""
    from tenken.core.wareki import wareki_date, wareki_year
    from tenken.services import Cycle
    from tenken.services.opening import open_cycle
    from tenken.workbook.layout import departments_on_form

    with Cycle.opened(settings(config, db, var), year, sending=False) as cycle:
        _check_departments(cycle.plan, department)
        count = len([d for d in departments_on_form(cycle.plan, year) if not department or d in department])
        with progress(count, "依頼ファイル") as bar:
            written = open_cycle(cycle, out, department, deadline.date() if deadline else None, as_csv,
                                 on_file=lambda _: bar.update(1))
        recorded = cycle.ledger.cycle(year)
    when = f"提出期限 {wareki_date(recorded.deadline)}" if recorded and recorded.deadline else "提出期限は未設定"
    write_stdout(f"{wareki_year(year)}の依頼ファイル {len(written)}所属分を {out} に書き出しました（{when}）。")


def shown_path(path: Path) -> str:
    """A received path as printed: its folder as given, its name printable and shortened (a name cannot
    forge a line of output)."""
    from tenken.files import shown_name

    return str(path.parent / shown_name(path.name))


def outcome_lines(outcome: IntakeOutcome, measure_label: str) -> list[str]:
    from tenken.workbook.answers import LISTED, where

    record = outcome.record
    who = outcome.department_name or record.department or "所属不明"
    again = "（同じファイルを受付済み）" if record.duplicate else ""
    if record.accepted:
        return [f"受付  {who} 第{record.version}版{again}: {shown_path(outcome.path)}"]
    lines = [f"差戻し {who}{again}: {shown_path(outcome.path)} — {len(record.problems)}件の問題"]
    lines += [f"  - {where(p, measure_label)}: {p.message}" for p in record.problems[:LISTED]]
    if len(record.problems) > LISTED:
        lines.append(f"  - ほか{len(record.problems) - LISTED}件（すべての問題は回答と確認結果付きファイルにあります）")
    if outcome.answer:
        lines.append(f"  回答: {outcome.answer}")
    if outcome.marked_copy:
        lines.append(f"  確認結果付きファイル: {outcome.marked_copy}")
    return lines


@app.command()
@domain_errors
def intake(
    year: YearOption,
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (searched recursively).")],
    sender: Annotated[str | None, typer.Option(
        "--from", help="Department key the files came from (required): tenken never takes the sender from the file; "
                       "another department's form, or one without this department's submission token, is refused.")] = None,
    answers: Annotated[Path | None, typer.Option(
        "--answers", help="Folder for the answers to refused files (default: answers/ in the var folder).",
        file_okay=False)] = None,
    reader: Annotated[str, typer.Option(help=f"Workbook reader: {' or '.join(READERS)}.")] = READERS[0],
    config: ConfigOption = None,
    db: DbOption = None,
    var: VarOption = None,
) -> None:
    """Validate and store forms a department handed to the office (.xlsx or CSV), as that department (--from).
    Exit 0 when every file was accepted, 1 otherwise, 2 for a usage error."""
    from tenken.core.errors import DomainError
    from tenken.intake import collect_paths
    from tenken.services import Cycle
    from tenken.services.collecting import intake_files

    if sender is None:
        raise DomainError("提出元の所属を --from で指定してください（例: --from tourism）。"
                          "ファイルの中身から提出元を判断することはしません。所属ごとに分けて取り込んでください。")
    resolved = settings(config, db, var)
    with Cycle.opened(resolved, year, sending=False) as cycle:
        if sender not in cycle.plan.departments_by_key:
            raise DomainError(f"所属コード「{sender}」は所属の一覧にありません。")
        files = collect_paths(paths)
        with progress(len(files), "受付") as bar:
            outcomes = intake_files(cycle, files, answers or resolved.var_dir / "answers", sender, reader,
                                    on_file=lambda _: bar.update(1))
    for outcome in outcomes:
        for line in outcome_lines(outcome, cycle.plan.measure_label):
            write_stdout(line)
    refused = sum(not o.accepted for o in outcomes)
    write_stdout(f"{len(outcomes)}件中 受付 {len(outcomes) - refused}件、差戻し {refused}件")
    if refused:
        raise typer.Exit(1)


from tenken.cli.stage_commands import TodayOption as STATUS_TODAY  # the --today of `remind`

STATUS_COLUMNS = ["department", "name", "status", "versions", "latest_version", "latest_received_at",
                  "rejected", "last_received_at", "reminders"]
STATUS_LABEL = {"submitted": "提出済み", "rejected": "差戻し中", "missing": "未提出"}
STATUS_NO_HISTORY = "Prefect に接続できないため、実行履歴は表示できません"
STATUS_WHO = {"department": "所属", "reviewer": "確認者", "office": "事務局"}


@app.command()
@domain_errors
def status(
    year: YearOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
    today: STATUS_TODAY = None,
    config: ConfigOption = None,
    db: DbOption = None,
    var: VarOption = None,
) -> None:
    """Where the cycle stands (its stage and who it waits for), who has submitted, who is missing and when each
    latest version arrived, and the last run of each Prefect deployment (when the Prefect API answers)."""
    from datetime import date

    from tenken.core.wareki import wareki_date, wareki_year
    from tenken.csvsafe import to_csv
    from tenken.files import printable
    from tenken.services import Cycle
    from tenken.services.progress import cycle_progress, deployment_runs, read_facts
    from tenken.workbook.layout import departments_on_form

    day = today.date() if today else date.today()
    with Cycle.opened(settings(config, db, var), year, sending=False) as cycle:
        plan, asked = cycle.plan, departments_on_form(cycle.plan, year)
        facts = read_facts(cycle.ledger, year)
        where = cycle_progress(facts, plan, cycle.config, asked, day)
    known = facts.departments
    sent = {}
    for reminder in facts.reminders:
        if reminder.status == "sent":
            sent[reminder.department] = sent.get(reminder.department, 0) + 1
    rows = []
    for key in asked:
        entry = known.get(key)
        latest = entry.latest if entry else None
        state = "submitted" if latest else ("rejected" if entry else "missing")
        rows.append({"department": key, "name": plan.department(key).name, "status": state,
                     "versions": entry.versions if entry else 0,
                     "latest_version": latest.version if latest else None,
                     "latest_received_at": latest.received_at.isoformat() if latest else None,
                     "rejected": entry.rejected if entry else 0,
                     "last_received_at": entry.last_received_at.isoformat() if entry else None,
                     "reminders": sent.get(key, 0)})
    if as_csv:
        write_stdout(to_csv(STATUS_COLUMNS, ([r[c] for c in STATUS_COLUMNS] for r in rows)))
        return
    runs = deployment_runs()
    deadline = where.stage.deadline
    if as_json:
        write_stdout(json.dumps({"fiscal_year": year, "deadline": deadline.isoformat() if deadline else None,
                                 **where.to_dict(), "departments": rows,
                                 "runs": None if runs is None else [r.to_dict() for r in runs]},
                                ensure_ascii=False, indent=2))
        return
    stage = where.stage
    submitted = sum(r["status"] == "submitted" for r in rows)
    shown = f"（提出期限 {wareki_date(deadline)}）" if deadline else ""
    detail = ""
    if stage.key == "overdue":
        detail = f" — 期限から{stage.days_overdue}日経過"
    elif stage.key == "published" and stage.publication:
        published = stage.publication
        detail = f" — 第{published.version}版 {_local(published.published_at)} {printable(published.target)}"
    elif stage.since:
        detail = f" — {_local(stage.since)}から"
    lines = [f"{wareki_year(year)} 提出状況{shown}",
             f"段階: {stage.label}{detail}（{stage.key}、{day.isoformat()} 現在）",
             f"提出済み {submitted} / {len(rows)}所属、未提出 {len(rows) - submitted}所属"]
    if where.waiting:
        lines += ["", "待っている相手:"]
    for w in where.waiting:
        if w.who == "department":
            reminded = f"督促 {w.reminders}回" + (f"（最終 {w.last_reminder}、{_local(w.last_reminder_at)}）"
                                                   if w.last_reminder else "")
            lines.append(f"  {_pad(w.name, 32)}{_pad(w.reason, 24)}{reminded}")
        else:
            since = f"（{_local(w.since)}から）" if w.since else ""
            who = STATUS_WHO[w.who] if w.who == "office" else f"{STATUS_WHO[w.who]} {printable(w.name)}"
            lines.append(f"  {who}: {printable(w.reason)[:200]}{since}")
    lines += ["", f"{_pad('所属', 32)}{_pad('状況', 10)}{'版':>3}  {_pad('最新版の受付（日本時間）', 26)}差戻し  督促"]
    for r in rows:
        received = _local(datetime.fromisoformat(r["latest_received_at"])) if r["latest_received_at"] else "—"
        lines.append(f"{_pad(r['name'], 32)}{_pad(STATUS_LABEL[r['status']], 10)}{r['versions']:>3}  "
                     f"{_pad(received, 26)}{r['rejected']:>4}  {r['reminders']:>4}")
    lines += ["", "実行履歴（Prefect、日本時間）:" if runs is not None else STATUS_NO_HISTORY]
    for run in runs or []:
        last, success = run.last, run.last_success
        if last is None:
            lines.append(f"  {_pad(run.full_name, 46)}実行なし")
            continue
        lines.append(f"  {_pad(run.full_name, 46)}最終 {_pad(last.state_name, 10)}{_local(last.when)}  "
                     f"{last.url or ''}".rstrip())
        if last.message and last.state_type in ("FAILED", "CRASHED"):
            lines.append(f"  {_pad('', 46)}  {printable(last.message)[:100]}")
        if success is not None and success.id != last.id:
            lines.append(f"  {_pad('', 46)}成功 {_pad(success.state_name, 10)}{_local(success.when)}  "
                         f"{success.url or ''}".rstrip())
        elif success is None:
            lines.append(f"  {_pad('', 46)}成功した実行なし")
    write_stdout("\n".join(lines))


@app.command("example-workbooks")
@domain_errors
def example_workbooks(
    year: YearOption,
    out: OutOption,
    deadline: DeadlineOption = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="Write CSV forms instead of workbooks.")] = False,
    config: ConfigOption = None,
    var: VarOption = None,
) -> None:
    """The plan folder's example results as the departments' filled-in request workbooks (for demos and tests),
    each with its department's submission token (the key of the var folder's settings)."""
    from tenken.config import load_plan
    from tenken.core.wareki import wareki_year
    from tenken.example import write_example_workbooks
    from tenken.workbook.layout import departments_on_form

    resolved = settings(config, None, var)
    plan = load_plan(resolved.config_dir)
    count = len(departments_on_form(plan, year))
    with progress(count, "記入例") as bar:
        written = write_example_workbooks(year, out, resolved.config_dir, deadline.date() if deadline else None,
                                          as_csv, on_file=lambda _: bar.update(1), signer=resolved.signer(plan.name))
    write_stdout(f"{wareki_year(year)}の記入例 {len(written)}件を {out} に書き出しました。")


@app.command()
@domain_errors
def audit(
    year: YearOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV (every reason in one cell).")] = False,
    review: Annotated[bool, typer.Option("--review", help="With --csv: the review's trail instead of the files.")]
    = False,
    config: ConfigOption = None,
    db: DbOption = None,
    var: VarOption = None,
) -> None:
    """Every file received for the cycle: when, for which department, through which channel and from whom
    (as the channel recorded it, never as the file says), and what became of it, with every refusal's reasons;
    then the review's trail: codes sent, answers with the verified reviewer, adjustments, publications."""
    from tenken.core.wareki import wareki_year
    from tenken.csvsafe import to_csv
    from tenken.services import Cycle
    from tenken.services.auditing import (COLUMNS, EVENT_LABEL, OUTCOME_LABEL, REVIEW_COLUMNS, audit_rows,
                                          review_rows)

    with Cycle.opened(settings(config, db, var), year, sending=False) as cycle:
        rows, plan, trail = audit_rows(cycle.ledger, year), cycle.plan, review_rows(cycle.ledger, year)
    if as_json:
        write_stdout(json.dumps({"fiscal_year": year, "submissions": rows, "review": trail}, ensure_ascii=False,
                                indent=2, default=lambda v: v.isoformat()))
        return
    if as_csv and review:
        write_stdout(to_csv(REVIEW_COLUMNS, ([r["at"].isoformat() if c == "at" and r["at"] else r[c]
                                               for c in REVIEW_COLUMNS] for r in trail)))
        return
    if as_csv:
        write_stdout(to_csv(COLUMNS, ([r["received_at"].isoformat() if c == "received_at" else
                                       "\n".join(r[c]) if c == "reasons" else r[c] for c in COLUMNS] for r in rows)))
        return
    from tenken.files import printable

    names = {d.key: d.name for d in plan.departments}
    counts = {label: sum(r["outcome"] == key for r in rows) for key, label in OUTCOME_LABEL.items()}
    lines = [f"{wareki_year(year)} 提出の記録（{len(rows)}件: " + "、".join(f"{k} {v}件" for k, v in counts.items() if v) + "）",
             "", f"{_pad('受付日時（日本時間）', 18)}{_pad('所属', 26)}{_pad('結果', 20)}{_pad('経路', 8)}{_pad('提出者', 22)}ファイル"]
    for r in rows:
        outcome = OUTCOME_LABEL[r["outcome"]] + (f" 第{r['version']}版" if r["version"] else "")
        who = printable(f"{r['sender'] or '記録なし'}" + (f" @ {r['conversation']}" if r["conversation"] else ""))
        lines.append(f"{_pad(_local(r['received_at']), 18)}{_pad(names.get(r['department'], r['department'] or '不明'), 26)}"
                     f"{_pad(outcome, 20)}{_pad(r['channel'], 8)}{_pad(who[:40], 22)}{printable(r['file_name'])[:60]}")
        if r["link"]:
            lines.append(f"    {printable(r['link'])[:200]}")
        for reason in r["reasons"][:5]:
            lines.append(f"    - {printable(reason)[:200]}")
        if len(r["reasons"]) > 5:
            lines.append(f"    - ほか{len(r['reasons']) - 5}件（--json / --csv ですべて）")
    lines += ["", f"確認・調整・公表の記録（{len(trail)}件）"]
    for r in trail:
        round_label = f"第{r['round']}回" if r["round"] else ""
        lines.append(f"{_pad(_local(r['at']) if r['at'] else '', 18)}{_pad(EVENT_LABEL[r['event']], 16)}"
                     f"{_pad(round_label, 8)}{_pad(printable(r['who'])[:40], 30)}{printable(r['detail'])[:300]}")
    write_stdout("\n".join(lines))

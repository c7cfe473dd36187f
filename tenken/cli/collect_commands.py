"""`tenken requests`, `tenken intake`, `tenken status`, `tenken example-workbooks`: collecting the
departments' results of a cycle."""

from __future__ import annotations

import json
import sys
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from tenken.cli.app import ConfigOption, YearOption, app, domain_errors, write_stdout
from tenken.config import DEFAULT_CONFIG, load_plan
from tenken.core.errors import DomainError
from tenken.core.wareki import wareki_date, wareki_year
from tenken.csvsafe import to_csv
from tenken.example import write_example_workbooks
from tenken.intake import Intake, IntakeOutcome, collect_paths
from tenken.ledger import ENV_URL, Ledger
from tenken.services import adjustments_of, office_results
from tenken.workbook.answers import where
from tenken.workbook.layout import departments_on_form
from tenken.workbook.reader import DEFAULT_READER, READERS
from tenken.workbook.writer import request_csv, request_file_name, request_workbook

LOCAL_TIME = ZoneInfo("Asia/Tokyo")
DbOption = Annotated[
    str | None,
    typer.Option("--db", envvar=ENV_URL, show_envvar=True,
                 help="Ledger database URL (default: sqlite file var/tenken.db; "
                      "postgresql+psycopg://… for PostgreSQL)."),
]
DeadlineOption = Annotated[
    datetime | None,
    typer.Option("--deadline", formats=["%Y-%m-%d"], help="Submission deadline printed in the workbooks (YYYY-MM-DD)."),
]
OutOption = Annotated[Path, typer.Option("--out", "-o", help="Folder to write the files to.", file_okay=False)]


def _progress(length: int, label: str):
    return typer.progressbar(length=length, label=label, file=sys.stderr, show_pos=True)


def _pad(text: str, width: int) -> str:
    """Pad to a terminal width, counting East Asian wide characters as two columns."""
    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(width - used, 0)


def _local(when: datetime | None) -> str:
    return "—" if when is None else f"{when.astimezone(LOCAL_TIME):%Y-%m-%d %H:%M}"


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
) -> None:
    """Write each department's request workbook for the cycle and record the cycle in the ledger."""
    plan = load_plan(config or DEFAULT_CONFIG)
    wanted = departments_on_form(plan, year)
    for key in department or []:
        if key not in plan.departments_by_key:
            raise DomainError(f"所属コード「{key}」は所属の一覧にありません。")
    if department:
        wanted = [key for key in wanted if key in department]
    with Ledger.open(db) as ledger:
        cycle = ledger.open_cycle(year, plan.name, deadline.date() if deadline else None)
    out.mkdir(parents=True, exist_ok=True)
    with _progress(len(wanted), "依頼ファイル") as bar:
        for key in wanted:
            (out / request_file_name(year, key)).write_bytes(request_workbook(plan, year, key, cycle.deadline))
            if as_csv:
                (out / request_file_name(year, key, ".csv")).write_text(request_csv(plan, year, key), encoding="utf-8")
            bar.update(1)
    when = f"提出期限 {wareki_date(cycle.deadline)}" if cycle.deadline else "提出期限は未設定"
    write_stdout(f"{wareki_year(year)}の依頼ファイル {len(wanted)}所属分を {out} に書き出しました（{when}）。")


def _outcome_lines(outcome: IntakeOutcome) -> list[str]:
    record = outcome.record
    who = outcome.department_name or record.department or "所属不明"
    again = "（同じファイルを受付済み）" if record.duplicate else ""
    if record.accepted:
        return [f"受付  {who} 第{record.version}版{again}: {outcome.path}"]
    lines = [f"差戻し {who}{again}: {outcome.path} — {len(record.problems)}件の問題"]
    lines += [f"  - {where(p)}: {p.message}" for p in record.problems]
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
        "--from", help="Department key the files came from, when known: another department's form is refused.")] = None,
    answers: Annotated[Path, typer.Option(
        "--answers", help="Folder for the answers to refused files.", file_okay=False)] = Path("var/answers"),
    reader: Annotated[str, typer.Option(help=f"Workbook reader: {' or '.join(READERS)}.")] = DEFAULT_READER,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Validate and store returned forms (.xlsx or CSV). Exit 0 when every file was accepted, 1 otherwise."""
    plan = load_plan(config or DEFAULT_CONFIG)
    if sender is not None and sender not in plan.departments_by_key:
        raise DomainError(f"所属コード「{sender}」は所属の一覧にありません。")
    files = collect_paths(paths)
    adjustments = adjustments_of(office_results(year, config))
    with Ledger.open(db) as ledger:
        run = Intake(plan, year, ledger, answers_dir=answers, reader=reader, adjustments=adjustments)
        with _progress(len(files), "受付") as bar:
            outcomes = run.run(files, sender=sender, on_file=lambda _: bar.update(1))
    for outcome in outcomes:
        for line in _outcome_lines(outcome):
            write_stdout(line)
    refused = sum(not o.accepted for o in outcomes)
    write_stdout(f"{len(outcomes)}件中 受付 {len(outcomes) - refused}件、差戻し {refused}件")
    if refused:
        raise typer.Exit(1)


STATUS_COLUMNS = ["department", "name", "status", "versions", "latest_version", "latest_received_at",
                  "rejected", "last_received_at"]
STATUS_LABEL = {"submitted": "提出済み", "rejected": "差戻し中", "missing": "未提出"}


@app.command()
@domain_errors
def status(
    year: YearOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Who has submitted, who is missing, and when each latest version arrived."""
    plan = load_plan(config or DEFAULT_CONFIG)
    with Ledger.open(db) as ledger:
        cycle = ledger.cycle(year)
        known = ledger.department_status(year)
    rows = []
    for key in departments_on_form(plan, year):
        entry = known.get(key)
        latest = entry.latest if entry else None
        state = "submitted" if latest else ("rejected" if entry else "missing")
        rows.append({"department": key, "name": plan.department(key).name, "status": state,
                     "versions": entry.versions if entry else 0,
                     "latest_version": latest.version if latest else None,
                     "latest_received_at": latest.received_at.isoformat() if latest else None,
                     "rejected": entry.rejected if entry else 0,
                     "last_received_at": entry.last_received_at.isoformat() if entry else None})
    if as_json:
        write_stdout(json.dumps({"fiscal_year": year, "deadline": cycle.deadline.isoformat()
                                 if cycle and cycle.deadline else None, "departments": rows},
                                ensure_ascii=False, indent=2))
        return
    if as_csv:
        write_stdout(to_csv(STATUS_COLUMNS, ([r[c] for c in STATUS_COLUMNS] for r in rows)))
        return
    submitted = sum(r["status"] == "submitted" for r in rows)
    deadline = f"（提出期限 {wareki_date(cycle.deadline)}）" if cycle and cycle.deadline else ""
    lines = [f"{wareki_year(year)} 提出状況{deadline}",
             f"提出済み {submitted} / {len(rows)}所属、未提出 {len(rows) - submitted}所属", "",
             f"{_pad('所属', 32)}{_pad('状況', 10)}{'版':>3}  {_pad('最新版の受付（日本時間）', 26)}差戻し"]
    for r in rows:
        received = _local(datetime.fromisoformat(r["latest_received_at"])) if r["latest_received_at"] else "—"
        lines.append(f"{_pad(r['name'], 32)}{_pad(STATUS_LABEL[r['status']], 10)}{r['versions']:>3}  "
                     f"{_pad(received, 26)}{r['rejected']:>4}")
    write_stdout("\n".join(lines))


@app.command("example-workbooks")
@domain_errors
def example_workbooks(
    year: YearOption,
    out: OutOption,
    deadline: DeadlineOption = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="Write CSV forms instead of workbooks.")] = False,
    config: ConfigOption = None,
) -> None:
    """The bundled example results as the departments' filled-in request workbooks (for demos and tests)."""
    plan = load_plan(config or DEFAULT_CONFIG)
    count = len(departments_on_form(plan, year))
    with _progress(count, "記入例") as bar:
        written = write_example_workbooks(year, out, config, deadline.date() if deadline else None, as_csv,
                                          on_file=lambda _: bar.update(1))
    write_stdout(f"{wareki_year(year)}の記入例 {len(written)}件を {out} に書き出しました。")


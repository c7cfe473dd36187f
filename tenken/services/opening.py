"""Stage 1, open: record the cycle, write each department's request workbook, send it (once)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path

from tenken.core.plan import Plan
from tenken.core.results import MeasureResult, ResultSet
from tenken.files import sha256_file
from tenken.identity import Signer
from tenken.notify import render
from tenken.notify.base import NotificationError, parse_target
from tenken.notify.recipient import Directory, Recipient
from tenken.services.cycle import Cycle
from tenken.notify.routing import is_mail
from tenken.services.dispatch import Outgoing
from tenken.workbook.layout import departments_on_form, measures_on_form
from tenken.workbook.writer import DEFAULT_SUBMIT, request_csv, request_file_name, request_workbook


def department_results(plan: Plan, results: ResultSet, department: str) -> dict[str, MeasureResult]:
    """The results a department would have written in its own workbook."""
    mine = {m.key for m in plan.measures_of(department)}
    return {r.measure: r for r in results.results if r.measure in mine}


def submit_instruction(recipient: Recipient | None) -> str:
    """How a department sends its filled form back, said in the form: a reply in the Slack thread its
    request arrived in (send_requests posts the workbook there), naming the conversation."""
    address = recipient.address if recipient is not None else None
    if not address:
        return DEFAULT_SUBMIT
    try:
        kind = parse_target(address).kind
    except NotificationError:
        return DEFAULT_SUBMIT
    where = "スレッド" if kind in ("channel_name", "channel_id") else "ダイレクトメッセージのスレッド"
    return f"記入後、このファイルを受け取った Slack の{where}に返信して提出してください（{address}）。"


def write_request_files(plan: Plan, fiscal_year: int, out_dir: Path, deadline: date | None, *,
                        departments: Iterable[str] | None = None, filled: ResultSet | None = None,
                        workbook: bool = True, csv: bool = False, signer: Signer | None = None,
                        on_file: Callable[[Path], None] | None = None,
                        directory: Directory | None = None) -> dict[str, Path]:
    """Each asked department's request workbook (and/or CSV form), optionally filled in with `filled`'s
    results as the department would have written them; returns department -> workbook (or CSV) path.
    With a signer, each carries its department's submission token (without one, intake refuses it).
    With a directory (departments.yaml), each workbook says where to submit it (else a generic sentence)."""
    wanted = departments_on_form(plan, fiscal_year)
    if departments is not None:
        chosen = set(departments)
        wanted = [key for key in wanted if key in chosen]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for key in wanted:
        results = department_results(plan, filled, key) if filled is not None else None
        token = signer.token(fiscal_year, key) if signer is not None else None
        if workbook:
            path = out_dir / request_file_name(fiscal_year, key)
            submit_to = submit_instruction(directory.department(key)) if directory is not None else None
            path.write_bytes(request_workbook(plan, fiscal_year, key, deadline, results, token, submit_to))
            written[key] = path
        if csv:
            path = out_dir / request_file_name(fiscal_year, key, ".csv")
            path.write_text(request_csv(plan, fiscal_year, key, results, token=token), encoding="utf-8")
            written.setdefault(key, path)
        if on_file is not None:
            on_file(written[key])
    return written


def open_cycle(cycle: Cycle, out_dir: Path | None = None, departments: Iterable[str] | None = None,
               deadline: date | None = None, csv: bool = False,
               on_file: Callable[[Path], None] | None = None) -> dict[str, str]:
    """Record the cycle (its deadline: `deadline`, else cycle.yaml's) and write the request workbooks
    (into the cycle's requests/ folder unless `out_dir`); returns department -> workbook path."""
    record = cycle.ledger.open_cycle(cycle.fiscal_year, cycle.plan.name, deadline or cycle.deadline)
    cycle.folder("inbox")  # where submissions will arrive: there from the first day
    written = write_request_files(cycle.plan, cycle.fiscal_year, out_dir or cycle.folder("requests"),
                                  record.deadline, departments=departments, csv=csv, signer=cycle.signer,
                                  on_file=on_file, directory=cycle.directory)
    return {key: str(path) for key, path in written.items()}


def send_requests(cycle: Cycle, workbooks: dict[str, str]) -> list[str]:
    """Send each department its request (once): a message that starts the thread the department answers
    in, and its workbook in that thread. Returns the departments sent to by this call."""
    plan, year = cycle.plan, cycle.fiscal_year
    wanted = []  # claimed a chunk at a time, each marked sent as soon as it is (Dispatcher.requests)
    for key, path in workbooks.items():
        department = plan.department(key)
        text = render("request", plan=plan.name, fiscal_year=year, department=department.name,
                      measure_count=len(measures_on_form(plan, year, key)), deadline=cycle.deadline,
                      filename=Path(path).name, measure_label=plan.measure_label)
        messages = []
        for target in cycle.directory.department(key).targets:
            if is_mail(target):  # one mail: the request with its workbook attached
                mail_text = render("request", plan=plan.name, fiscal_year=year, department=department.name,
                                   measure_count=len(measures_on_form(plan, year, key)), deadline=cycle.deadline,
                                   filename=Path(path).name, measure_label=plan.measure_label, by_mail=True)
                messages.append(Outgoing(target, mail_text, f"{year}/request/{key}/mail", "request", Path(path),
                                         title=f"{department.name} 点検調書"))
                continue
            messages += [Outgoing(target, text, f"{year}/request/{key}", "request"),
                         Outgoing(target, f"{department.name} の依頼ファイル（記入様式）です。",
                                  f"{year}/request/{key}/workbook", "request_file", Path(path),
                                  title=f"{department.name} 点検調書", in_thread=True)]
        if messages:
            wanted.append((key, messages, sha256_file(Path(path))))
    return cycle.dispatcher.requests(wanted)

"""The steps of the yearly cycle, as plain functions over a CycleRun.

Prefect tasks (tasks/cycle.py) are one-line wrappers around these, so that every step can also
be run, tested and reasoned about without Prefect. Each step is safe to repeat: what it sends
goes through the Dispatcher (at most once per item), what it stores is idempotent in the ledger.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from tenken.core.aggregate import summarize
from tenken.core.assessment import Assessment, assess
from tenken.core.cycle import due_stage
from tenken.core.discrepancies import discrepancies
from tenken.csvsafe import to_csv
from tenken.dispatch import Dispatcher, Outgoing
from tenken.intake import Intake, collect_paths
from tenken.notify import notifier_from_env, render
from tenken.publish import Published, publish
from tenken.runtime import CycleRun
from tenken.services import adjustments_of, load_cycle, office_results
from tenken.workbook.layout import departments_on_form
from tenken.workbook.writer import request_file_name, request_workbook


def _target(department) -> str | None:
    return department.slack or department.email


def _dispatcher(run: CycleRun, ledger) -> Dispatcher:
    return Dispatcher(ledger, notifier_from_env(), run.fiscal_year)


# ------------------------------------------------------------------------------------- open


def open_cycle(run: CycleRun) -> dict[str, str]:
    """Record the cycle and write every asked department's request workbook; returns dept -> path."""
    plan, year = run.plan, run.fiscal_year
    with run.ledger() as ledger:
        ledger.open_cycle(year, plan.name, run.deadline)
    folder = run.folder("requests")
    written = {}
    for department in departments_on_form(plan, year):
        path = folder / request_file_name(year, department)
        path.write_bytes(request_workbook(plan, year, department, run.deadline))
        written[department] = str(path)
    return written


def send_requests(run: CycleRun, workbooks: dict[str, str]) -> list[str]:
    """Send each department its workbook (once); returns the departments sent to by this call."""
    plan, year = run.plan, run.fiscal_year
    sent = []
    with run.ledger() as ledger:
        dispatcher = _dispatcher(run, ledger)
        for key, path in workbooks.items():
            department = plan.department(key)
            text = render("request", plan=plan.name, fiscal_year=year, department=department.name,
                          measure_count=len(plan.measures_of(key)), deadline=run.deadline,
                          filename=Path(path).name)
            message = Outgoing(_target(department), text, f"{year}/request/{key}", "request", Path(path),
                               title=f"{department.name} 点検調書")
            sha = hashlib.sha256(Path(path).read_bytes()).hexdigest()
            if dispatcher.request(key, [message], sha):
                sent.append(key)
    return sent


# ---------------------------------------------------------------------------------- collect


@dataclass
class IntakeReport:
    accepted: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)


def take_in(run: CycleRun) -> IntakeReport:
    """Take in every file in the inbox, move it to received/, and answer its sender (once)."""
    plan, year = run.plan, run.fiscal_year
    inbox, received = run.folder("inbox"), run.folder("received")
    report = IntakeReport()
    files = collect_paths([inbox])
    if not files:
        return report
    with run.ledger() as ledger:
        intake = Intake(plan, year, ledger, answers_dir=run.folder("answers"), channel="inbox",
                        adjustments=adjustments_of(office_results(year, run.config)))
        dispatcher = _dispatcher(run, ledger)
        for path in files:
            outcome = intake.submit_file(path)
            record = outcome.record
            shutil.move(str(path), received / f"{record.sha256[:12]}-{path.name}")
            entry = {"file": path.name, "department": record.department, "version": record.version,
                     "problems": [p.message for p in record.problems]}
            (report.accepted if outcome.accepted else report.rejected).append(entry)
            department = plan.departments_by_key.get(record.department or "")
            if department is None or _target(department) is None:
                continue  # unidentified sender: the letter waits in answers/ for the office
            if outcome.accepted:
                text = render("accepted", plan=plan.name, fiscal_year=year, department=department.name,
                              filename=path.name, received_at=record.received_at,
                              measure_count=len(plan.measures_of(department.key)), version=record.version)
                dispatcher.notice("accepted", record.sha256, [Outgoing(_target(department), text,
                                  f"{year}/accepted/{record.sha256}", "accepted")])
            else:
                text = render("rejection", plan=plan.name, fiscal_year=year, department=department.name,
                              filename=path.name, problems=list(record.problems), deadline=run.deadline,
                              marked_copy=outcome.marked_copy.name if outcome.marked_copy else None)
                dispatcher.notice("rejection", record.sha256, [Outgoing(
                    _target(department), text, f"{year}/rejection/{record.sha256}", "rejection",
                    outcome.marked_copy, title="確認結果")])
    return report


def missing_departments(run: CycleRun, ledger) -> list[str]:
    """Departments asked this year with no accepted submission yet."""
    status = ledger.department_status(run.fiscal_year)
    return [d for d in departments_on_form(run.plan, run.fiscal_year)
            if d not in status or status[d].latest is None]


def send_reminders(run: CycleRun, today: date) -> list[dict]:
    """For each department still missing, the reminder due today (once per stage)."""
    plan, year, settings = run.plan, run.fiscal_year, run.settings
    sent = []
    with run.ledger() as ledger:
        dispatcher = _dispatcher(run, ledger)
        # Only stages recorded as sent count: a stage claimed by a run that crashed is due again,
        # and the dispatcher finds out whether its message went out before sending anything.
        already: dict[str, set[str]] = {}
        for record in ledger.reminders(year):
            if record.status == "sent":
                already.setdefault(record.department, set()).add(record.stage)
        for key in missing_departments(run, ledger):
            stage = due_stage(run.deadline, today, settings.reminders, already.get(key, set()))
            if stage is None:
                continue
            department = plan.department(key)
            contact = department.escalation if stage.escalate else None
            text = render("reminder", plan=plan.name, fiscal_year=year, department=department.name,
                          deadline=run.deadline, stage=stage.name, today=today,
                          escalation=contact.name if contact else None)
            messages = [Outgoing(_target(department), text, f"{year}/reminder/{key}/{stage.name}", "reminder")]
            if contact is not None and (contact.slack or contact.email):
                messages.append(Outgoing(contact.slack or contact.email, text,
                                         f"{year}/reminder/{key}/{stage.name}/escalation", "reminder"))
            if dispatcher.reminder(key, stage.name, contact is not None, messages):
                sent.append({"department": key, "stage": stage.name, "escalated": contact is not None})
    return sent


# ---------------------------------------------------------------------------------- compile


@dataclass
class Compiled:
    """What a review round needs to show; small, because Prefect walks every task parameter."""

    round: int
    files: dict[str, str]  # the draft: pdf, html, csv, json, columns, discrepancies
    summary: dict
    missing: list[str]
    discrepancy_count: int
    discrepancy_sample: list[dict]  # the first ones; all of them are in files["discrepancies"]


SAMPLE = 200


def current_assessment(run: CycleRun, allow_missing: bool) -> Assessment:
    plan, results = load_cycle(run.fiscal_year, run.config, run.ledger_url)
    return assess(plan, results, allow_missing=allow_missing)


def compile_draft(run: CycleRun, round: int) -> Compiled:
    """Rate and aggregate what was submitted, render the watermarked draft for this review round."""
    from tenken.report import write_report  # WeasyPrint is heavy: imported by the steps that render

    assessment = current_assessment(run, allow_missing=True)
    summary = summarize(assessment)
    folder = run.folder(f"review/round-{round}")
    files = write_report(assessment, summary, folder, draft=True,
                         pdf_annex_limit=run.settings.review.pdf_annex_limit)
    with run.ledger() as ledger:
        ledger.record_ratings(assessment, round)
        missing = [run.plan.department(d).name for d in missing_departments(run, ledger)]
    found = discrepancies(assessment, office_results(run.fiscal_year - 1, run.config))
    files["discrepancies"] = folder / f"discrepancies-{run.fiscal_year}.csv"
    files["discrepancies"].write_text(to_csv(
        ["施策", "施策名", "所属", "種類", "内容"],
        ([d["key"], d["name"], run.plan.department(d["department"]).name, d["kind"], d["detail"]] for d in found),
        bom=True), encoding="utf-8", newline="")
    return Compiled(round, {k: str(v) for k, v in files.items()}, summary, missing, len(found), found[:SAMPLE])


def notify_reviewers(run: CycleRun, compiled: Compiled, run_url: str) -> bool:
    plan, year, review = run.plan, run.fiscal_year, run.settings.review
    targets = list(dict.fromkeys([*(r.slack or r.email for r in review.reviewers if r.slack or r.email),
                                  *([review.channel] if review.channel else [])]))
    text = render("review_request", plan=plan.name, fiscal_year=year, round=compiled.round,
                  draft_url=compiled.files["pdf"], run_url=run_url, missing_departments=compiled.missing,
                  discrepancy_count=compiled.discrepancy_count)
    with run.ledger() as ledger:
        return _dispatcher(run, ledger).notice("review", f"round-{compiled.round}", [
            Outgoing(t, text, f"{year}/review/round-{compiled.round}/{i}", "review_request")
            for i, t in enumerate(targets)])


def review_form_text(run: CycleRun, compiled: Compiled) -> str:
    """The markdown above the review form in the Prefect UI."""
    summary = compiled.summary
    missing = "、".join(compiled.missing) or "なし"
    return (f"### {run.plan.name} 点検報告書（案） 第{compiled.round}回確認\n\n"
            f"- 案（PDF）: `{compiled.files['pdf']}`\n"
            f"- 達成率: {summary['rate']}%（{summary['met']}/{summary['rated']}{run.plan.measure_label}）\n"
            f"- 未提出の所属: {missing}\n"
            f"- 確認が必要な事項: {compiled.discrepancy_count}件（Artifacts の一覧、全件は "
            f"`{compiled.files['discrepancies']}`）\n\n"
            "内容を確認し、**approve**（承認）または **request_changes**（差し戻し）を選んでください。")


def record_decision(run: CycleRun, round: int, decision: str, reviewer: str, comments: str, run_url: str) -> None:
    with run.ledger() as ledger:
        ledger.record_review_decision(run.fiscal_year, round, decision, reviewer, comments)
        if decision != "approve":
            review = run.settings.review
            targets = [review.channel] if review.channel else [r.slack or r.email for r in review.reviewers]
            text = render("changes_requested", plan=run.plan.name, fiscal_year=run.fiscal_year, round=round,
                          reviewer=reviewer, comments=comments, run_url=run_url)
            _dispatcher(run, ledger).notice("changes_requested", f"round-{round}", [
                Outgoing(t, text, f"{run.fiscal_year}/changes/round-{round}/{i}", "changes_requested")
                for i, t in enumerate(targets) if t])


def next_round(run: CycleRun) -> int:
    with run.ledger() as ledger:
        return len(ledger.review_decisions(run.fiscal_year)) + 1


# ---------------------------------------------------------------------------------- publish


def publish_final(run: CycleRun, published_on: datetime | None = None) -> Published:
    """The final report (no watermark) and open data to the website target; recorded; announced once."""
    from tenken.report import write_report

    assessment = current_assessment(run, allow_missing=False)
    files = write_report(assessment, summarize(assessment), run.folder("final"), draft=False)
    settings, plan, year = run.settings, run.plan, run.fiscal_year
    published = publish(files, fiscal_year=year, plan_name=plan.name, organisation=plan.organisation,
                        target=settings.publish_target, published_on=published_on)
    with run.ledger() as ledger:
        ledger.record_publication(year, published.target, published.checksums)
        if settings.announce_channel:
            base = settings.site_url.rstrip("/")
            names = {kind: Path(path).name for kind, path in files.items()}
            text = render("published", plan=plan.name, fiscal_year=year,
                          pdf_url=f"{base}/{year}/{names['pdf']}", html_url=f"{base}/{year}/{names['html']}",
                          data_url=f"{base}/{year}/{names['csv']}", index_url=f"{base}/")
            _dispatcher(run, ledger).notice("published", "final", [
                Outgoing(settings.announce_channel, text, f"{year}/published", "published")])
    return published


def deliver(run: CycleRun, paths: list[str]) -> int:
    inbox = run.folder("inbox")
    for path in map(Path, paths):
        shutil.copy2(path, inbox / path.name)
    return len(paths)

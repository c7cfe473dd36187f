"""Stage 2, collect: take in what departments sent, store every version, answer each sender (once)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tenken.intake import Intake, IntakeOutcome, collect_paths
from tenken.notify import render
from tenken.services.cycle import Cycle
from tenken.services.dispatch import Outgoing
from tenken.settings import Settings
from tenken.workbook.reader import DEFAULT_READER


@dataclass
class IntakeReport:
    accepted: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)


def intake_for(cycle: Cycle, answers_dir: Path, channel: str, reader: str = DEFAULT_READER) -> Intake:
    """The one way intake is wired: the cycle's plan and ledger, the office's adjustments."""
    return Intake(cycle.plan, cycle.fiscal_year, cycle.ledger, answers_dir=answers_dir, channel=channel,
                  reader=reader, adjustments=cycle.adjustments)


def intake_files(cycle: Cycle, paths: Iterable[Path], answers_dir: Path, sender: str | None = None,
                 reader: str = DEFAULT_READER,
                 on_file: Callable[[IntakeOutcome], None] | None = None) -> list[IntakeOutcome]:
    """Files handed over by the office (`tenken intake`): stored and answered in answers_dir, not sent."""
    return intake_for(cycle, answers_dir, "cli", reader).run(paths, sender=sender, on_file=on_file)


def take_in(cycle: Cycle) -> IntakeReport:
    """Take in every file in the inbox, move it to received/, and answer its sender (once)."""
    plan, year = cycle.plan, cycle.fiscal_year
    inbox, received = cycle.folder("inbox"), cycle.folder("received")
    report = IntakeReport()
    files = collect_paths([inbox])
    if not files:
        return report
    intake = intake_for(cycle, cycle.folder("answers"), "inbox")
    for path in files:
        outcome = intake.submit_file(path)
        record = outcome.record
        shutil.move(str(path), received / f"{record.sha256[:12]}-{path.name}")
        entry = {"file": path.name, "department": record.department, "version": record.version,
                 "problems": [p.message for p in record.problems]}
        (report.accepted if outcome.accepted else report.rejected).append(entry)
        department = plan.departments_by_key.get(record.department or "")
        address = cycle.directory.department(department.key).address if department else None
        if address is None:
            continue  # unidentified sender: the letter waits in answers/ for the office
        if outcome.accepted:
            text = render("accepted", plan=plan.name, fiscal_year=year, department=department.name,
                          filename=path.name, received_at=record.received_at,
                          measure_count=len(plan.measures_of(department.key)), version=record.version,
                          measure_label=plan.measure_label)
            cycle.dispatcher.notice("accepted", record.sha256, [
                Outgoing(address, text, f"{year}/accepted/{record.sha256}", "accepted")])
        else:
            text = render("rejection", plan=plan.name, fiscal_year=year, department=department.name,
                          filename=path.name, problems=list(record.problems), deadline=cycle.deadline,
                          marked_copy=outcome.marked_copy.name if outcome.marked_copy else None,
                          measure_label=plan.measure_label)
            cycle.dispatcher.notice("rejection", record.sha256, [Outgoing(
                address, text, f"{year}/rejection/{record.sha256}", "rejection", outcome.marked_copy,
                title="確認結果")])
    return report


def deliver(settings: Settings, fiscal_year: int, paths: Iterable[str | Path]) -> int:
    """Copy files into a cycle's inbox, as a department (or a mail/chat bridge) would drop them."""
    inbox = settings.cycle_dir(fiscal_year) / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    count = 0
    for path in map(Path, paths):
        shutil.copy2(path, inbox / path.name)
        count += 1
    return count

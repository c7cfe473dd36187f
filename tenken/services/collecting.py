"""Stage 2, collect: take in what departments sent, store every version, answer each sender (once)."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tenken.files import printable, shown_name, stored_name
from tenken.intake import Intake, IntakeOutcome, collect_paths
from tenken.notify import render
from tenken.services.cycle import Cycle
from tenken.services.dispatch import Outgoing
from tenken.settings import Settings
from tenken.workbook.reader import DEFAULT_READER

log = logging.getLogger(__name__)


@dataclass
class IntakeReport:
    accepted: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)  # left in the inbox: taken in again by the next run


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
    """Take in every entry of the inbox, move it to received/, and answer its sender (once).

    Each file on its own: whatever one file does (or whatever fails while taking it in), the others
    are taken in and answered; a file that could not be taken in stays in the inbox, is reported in
    `failed` and is tried again by the next run.
    """
    inbox, received = cycle.folder("inbox"), cycle.folder("received")
    report = IntakeReport()
    entries = collect_paths([inbox])
    if not entries:
        return report
    intake = intake_for(cycle, cycle.folder("answers"), "inbox")
    for path in entries:
        try:
            outcome = intake.submit_file(path)
            # Answered before it leaves the inbox: if the answer cannot go out now, the next run finds
            # the file again, recognises it (same bytes) and answers it then; nothing is sent twice.
            _answer(cycle, outcome)
            shutil.move(str(path), str(received / f"{outcome.record.sha256[:12]}-{stored_name(path.name)}"))
        except Exception as exc:  # noqa: BLE001 — one file must never stop the others
            log.exception("taking in %r failed; it stays in the inbox for the next run", path.name)
            report.failed.append({"file": shown_name(path.name), "error": printable(str(exc))[:500]})
            continue
        record = outcome.record
        entry = {"file": outcome.shown, "department": record.department, "version": record.version,
                 "problems": [p.message for p in record.problems]}
        (report.accepted if outcome.accepted else report.rejected).append(entry)
    return report


def _answer(cycle: Cycle, outcome: IntakeOutcome) -> None:
    """A receipt or the problems, to the department the file counts for (once per file)."""
    plan, year, record = cycle.plan, cycle.fiscal_year, outcome.record
    department = plan.departments_by_key.get(record.department or "")
    address = cycle.directory.department(department.key).address if department else None
    if address is None:
        return  # unidentified sender: the letter waits in answers/ for the office
    if outcome.accepted:
        text = render("accepted", plan=plan.name, fiscal_year=year, department=department.name,
                      filename=outcome.shown, received_at=record.received_at,
                      measure_count=len(plan.measures_of(department.key)), version=record.version,
                      measure_label=plan.measure_label)
        cycle.dispatcher.notice("accepted", record.sha256, [
            Outgoing(address, text, f"{year}/accepted/{record.sha256}", "accepted")])
    else:
        text = render("rejection", plan=plan.name, fiscal_year=year, department=department.name,
                      filename=outcome.shown, problems=list(record.problems), deadline=cycle.deadline,
                      marked_copy=outcome.marked_copy.name if outcome.marked_copy else None,
                      measure_label=plan.measure_label)
        cycle.dispatcher.notice("rejection", record.sha256, [Outgoing(
            address, text, f"{year}/rejection/{record.sha256}", "rejection", outcome.marked_copy, title="確認結果")])


def deliver(settings: Settings, fiscal_year: int, paths: Iterable[str | Path]) -> int:
    """Copy files into a cycle's inbox, as a department (or a mail/chat bridge) would drop them."""
    inbox = settings.cycle_dir(fiscal_year) / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    count = 0
    for path in map(Path, paths):
        # A link is delivered as a link (intake refuses it), never as a copy of what it points at.
        shutil.copy2(path, inbox / path.name, follow_symlinks=False)
        count += 1
    return count

"""Intake: received files → identified, validated, stored in the ledger as accepted or rejected.

Every file is recorded once (by SHA-256, per cycle) with its bytes, whatever its fate: a refused
file is kept with the reasons, an accepted one becomes the department's next version. A file is
stored with all its results or problems in one transaction, so nothing is stored half-way, and
nothing earlier is touched. Refused files get an answer: a letter (text) and, for workbooks, a copy
with the problem cells marked.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tenken.core.errors import CellProblem, DomainError
from tenken.files import sha256_file, write_atomically
from tenken.core.plan import Plan
from tenken.core.results import Adjustment
from tenken.ledger import Ledger, NewSubmission, SubmissionRecord
from tenken.workbook.answers import answer_text, marked_workbook
from tenken.workbook.reader import DEFAULT_READER, READERS, read_csv, read_workbook
from tenken.workbook.safety import DEFAULT_LIMITS, OLE_MAGIC, ZIP_MAGIC, Limits, Refused, check_size
from tenken.workbook.submission import PlanIndex, Reading, interpret

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls")
CSV_SUFFIXES = (".csv", ".txt")


@dataclass(frozen=True)
class IntakeOutcome:
    path: Path
    record: SubmissionRecord
    department_name: str | None = None
    answer: Path | None = None
    marked_copy: Path | None = None

    @property
    def accepted(self) -> bool:
        return self.record.accepted


def collect_paths(paths: Iterable[Path]) -> list[Path]:
    """Files given, and the files in folders given (recursively), skipping hidden files and Excel's
    '~$' lock files. A path that does not exist is an error."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(p for p in sorted(path.rglob("*"))
                         if p.is_file() and not any(part.startswith((".", "~$")) for part in p.relative_to(path).parts))
        elif path.is_file():
            found.append(path)
        else:
            raise DomainError(f"ファイルまたはフォルダがありません: {path}")
    return found


class Intake:
    """Take in the files of one cycle. One instance per run; safe to run several at once."""

    def __init__(self, plan: Plan, fiscal_year: int, ledger: Ledger, answers_dir: Path | None = None,
                 channel: str = "cli", limits: Limits = DEFAULT_LIMITS, reader: str = DEFAULT_READER,
                 adjustments: Mapping[str, Adjustment] | None = None):
        if reader not in READERS:
            raise DomainError(f"reader must be one of {', '.join(READERS)}")
        self.plan = plan
        self.fiscal_year = fiscal_year
        self.ledger = ledger
        self.answers_dir = Path(answers_dir) if answers_dir else None
        self.channel = channel
        self.limits = limits
        self.reader = reader
        self.adjustments = dict(adjustments or {})
        self.index = PlanIndex(plan, fiscal_year)

    def run(self, paths: Iterable[Path], sender: str | None = None,
            on_file: Callable[[IntakeOutcome], None] | None = None) -> list[IntakeOutcome]:
        outcomes = []
        for path in collect_paths(paths):
            outcome = self.submit_file(path, sender=sender)
            outcomes.append(outcome)
            if on_file is not None:
                on_file(outcome)
        return outcomes

    def submit_file(self, path: Path, sender: str | None = None) -> IntakeOutcome:
        path = Path(path)
        try:
            size = path.stat().st_size
            if size > self.limits.max_file_bytes:
                # Not read into memory, not kept: only its fingerprint and the refusal are recorded.
                data, sha256 = None, sha256_file(path)
            else:
                data = path.read_bytes()
                sha256 = hashlib.sha256(data).hexdigest()
        except OSError as exc:
            raise DomainError(f"ファイルを読めません: {path}（{exc.strerror}）") from None
        return self._store(path, data, sha256, size, sender)

    def submit_bytes(self, data: bytes, file_name: str, source: str, sender: str | None = None) -> IntakeOutcome:
        """For channels that hand over bytes (a chat upload, an e-mail attachment)."""
        return self._store(Path(file_name), data, hashlib.sha256(data).hexdigest(), len(data), sender, source)

    def _read(self, data: bytes | None, size: int, name: str, sender: str | None) -> tuple[str, Reading]:
        file_format = ""
        try:
            check_size(size, self.limits)
            lowered = name.lower()
            if data.startswith((ZIP_MAGIC, OLE_MAGIC)) or lowered.endswith(WORKBOOK_SUFFIXES):
                file_format = "xlsx"
                form = read_workbook(data, self.limits, self.reader, self.plan.measure_label)
            elif lowered.endswith(CSV_SUFFIXES):
                file_format = "csv"
                form = read_csv(data, self.limits, self.plan.measure_label)
            else:
                raise Refused("受け付けられるのは、お送りした依頼ファイル（Excel ブック .xlsx）か CSV（.csv）です。")
        except Refused as refusal:
            hint = refusal.department if refusal.department in self.plan.departments_by_key else None
            return file_format, Reading(None, sender or hint, problems=(CellProblem(refusal.message),))
        return file_format, interpret(self.plan, self.fiscal_year, form, sender, self.adjustments, self.index)

    def _store(self, path: Path, data: bytes | None, sha256: str, size: int, sender: str | None,
               source: str | None = None) -> IntakeOutcome:
        earlier = self.ledger.find_submission(self.fiscal_year, sha256)
        if earlier is not None:
            return self._answer(path, data, earlier)
        file_format, reading = self._read(data, size, path.name, sender)
        record = self.ledger.store_submission(NewSubmission(
            fiscal_year=self.fiscal_year, sha256=sha256, size=size, content=data, file_name=path.name[:500],
            source=source or str(path.resolve()), channel=self.channel, file_format=file_format,
            department=reading.department, accepted=reading.accepted, results=reading.results,
            problems=tuple(reading.problems),
            sender=sender))
        return self._answer(path, data, record)

    def _answer(self, path: Path, data: bytes | None, record: SubmissionRecord) -> IntakeOutcome:
        department = self.plan.departments_by_key.get(record.department or "")
        name = department.name if department else None
        if record.accepted or self.answers_dir is None:
            return IntakeOutcome(path, record, name)
        try:
            return self._write_answer(path, data, record, name)
        except OSError as exc:
            raise DomainError(f"回答を書き込めません（受付の記録は保存済みです。もう一度実行すると書き出します）: "
                              f"{exc.filename}（{exc.strerror}）") from None

    def _write_answer(self, path: Path, data: bytes | None, record: SubmissionRecord,
                      name: str | None) -> IntakeOutcome:
        folder = self.answers_dir / str(self.fiscal_year) / (record.department or "unidentified")
        stem = f"{record.id:05d}-{Path(record.file_name).stem}"
        problems = list(record.problems)
        marked_path = folder / f"{stem}-確認結果.xlsx"
        marked = None
        # Only a workbook that passed the safety checks has located problems; nothing else is reopened.
        if record.file_format == "xlsx" and data is not None and any(p.cell for p in problems):
            marked = marked_path if marked_path.exists() else None
            if marked is None and (content := marked_workbook(data, problems)) is not None:
                write_atomically(marked_path, content)
                marked = marked_path
        answer_path = folder / f"{stem}-回答.txt"
        if not answer_path.exists():
            letter = answer_text(record.file_name, problems, name, record.received_at,
                                 marked.name if marked else None, f"{self.fiscal_year}-{record.id:05d}",
                                 self.plan.measure_label)
            write_atomically(answer_path, letter.encode("utf-8"))
        return IntakeOutcome(path, record, name, answer_path, marked)

"""Intake: received files → identified, validated, stored in the ledger as accepted or rejected.

Every file is recorded once (by SHA-256, per cycle) with its bytes, whatever its fate: a refused
file is kept with the reasons, an accepted one becomes the department's next version. A file is
stored with all its results or problems in one transaction, so nothing is stored half-way, and
nothing earlier is touched. Refused files get an answer: a letter (text) and, for workbooks, a copy
with the problem cells marked.

Whatever arrives gets an outcome, and nothing it says about itself is trusted: a symbolic link is
never followed (the file is opened with O_NOFOLLOW and its type and size checked on the open handle
before anything is read), a pipe or a folder is refused without being read, an Excel lock file
(~$…) or a hidden file is answered like any other, and its name is kept as data only (shown
without control characters; what tenken stores is named by tenken).
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tenken.core.errors import CellProblem, DomainError
from tenken.files import printable, shown_name, stored_name, write_atomically
from tenken.core.plan import Plan
from tenken.core.results import Adjustment
from tenken.identity import NO_SENDER, SENDER_FIELD, TOKEN_MISMATCH, TOKEN_MISSING, Signer
from tenken.ledger import ANY_DEPARTMENT, Ledger, NewSubmission, Origin, SubmissionRecord
from tenken.workbook.answers import answer_text, marked_workbook
from tenken.workbook.reader import DEFAULT_READER, READERS, read_form
from tenken.workbook.safety import DEFAULT_LIMITS, OLE_MAGIC, ZIP_MAGIC, Limits, Refused, check_size
from tenken.workbook.submission import Form, PlanIndex, Reading, interpret

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

    @property
    def identity_refused(self) -> bool:
        """Refused because of who sent it (no sender, another department's form, a wrong token)."""
        return any(p.field == SENDER_FIELD for p in self.record.problems)

    @property
    def shown(self) -> str:
        """The file's name as people see it (printable, shortened)."""
        return shown_name(self.path.name)


LOCK_FILE_PREFIX = "~$"
NOT_A_FILE = "通常のファイルではないため受け付けられません（{what}）。記入した依頼ファイルそのものを提出してください。"
LOCK_FILE = ("Excel がブックを開いている間に作る一時ファイル（名前が「~$」で始まるファイル）です。"
             "ブックを閉じてから、ブック本体（.xlsx）を提出してください。")
_NOT_A_FILE_WHAT = {  # what NOT_A_FILE names, by what Intake._open found
    "link": "リンク", "folder": "フォルダ", "special": "パイプや装置などの特殊なファイル",
    "hardlink": "ハードリンク"}


def _form_format(data: bytes, name: str) -> str:
    """How a received file is read: "xlsx" (a workbook by its bytes or its name), "csv", or "" (neither)."""
    lowered = name.lower()
    if data.startswith((ZIP_MAGIC, OLE_MAGIC)) or lowered.endswith(WORKBOOK_SUFFIXES):
        return "xlsx"
    return "csv" if lowered.endswith(CSV_SUFFIXES) else ""


def collect_paths(paths: Iterable[Path]) -> list[Path]:
    """Files given, and every entry in the folders given (recursively, links to folders not followed):
    hidden files, lock files and links included, since each gets an outcome. A path that does not
    exist is an error."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir() and not path.is_symlink():
            for folder, folders, files in os.walk(path, followlinks=False):
                here = Path(folder)
                found.extend(here / name for name in folders if (here / name).is_symlink())
                found.extend(here / name for name in files)
        elif path.exists() or path.is_symlink():
            found.append(path)
        else:
            raise DomainError(f"ファイルまたはフォルダがありません: {shown_name(str(path), 200)}")
    return sorted(found)


class Intake:
    """Take in the files of one cycle. One instance per run; safe to run several at once.

    With a `signer` (every service does: tenken.services.collecting), a file counts only for the
    sender the channel names and only with that department's submission token: a file without a
    sender, another department's form, or a form without the sender's token is refused, and the
    refusal is stored under the sender, so nobody else's figures change. Without a signer (tests of
    form reading only) the department is read from the form, as a sender-less reader would.
    """

    def __init__(self, plan: Plan, fiscal_year: int, ledger: Ledger, answers_dir: Path | None = None,
                 channel: str = "cli", limits: Limits = DEFAULT_LIMITS, reader: str = DEFAULT_READER,
                 adjustments: Mapping[str, Adjustment] | None = None, signer: Signer | None = None):
        if reader not in READERS:
            raise DomainError(f"ブックの読み取り方式（reader）は {'、'.join(READERS)} のいずれかです")
        self.plan = plan
        self.fiscal_year = fiscal_year
        self.ledger = ledger
        self.answers_dir = Path(answers_dir) if answers_dir else None
        self.channel = channel
        self.limits = limits
        self.reader = reader
        self.adjustments = dict(adjustments or {})
        self.index = PlanIndex(plan, fiscal_year)
        self.signer = signer
        self._recorded: dict[str, set[str | None]] | None = None  # remember_recorded: SHA-256 -> departments
        self._ahead = None  # FormsAhead, while reading_ahead runs

    def remember_recorded(self) -> None:
        """Read once which bytes the cycle holds (a run about to take in many files): a file whose bytes are
        not among them is read and stored without looking for an earlier record first. Storing still finds
        one (store_submission), should another run have recorded the same bytes meanwhile."""
        recorded: dict[str, set[str | None]] = {}
        for sha256, department in self.ledger.submitted_digests(self.fiscal_year):
            recorded.setdefault(sha256, set()).add(department)
        self._recorded = recorded

    def _earlier(self, sha256: str, sender: str | None) -> SubmissionRecord | None:
        """The record of these bytes received before (from the sender, when senders are required)."""
        lookup = self._lookup(sender)
        if self._recorded is not None:
            known = self._recorded.get(sha256, ())
            if not known or (lookup is not ANY_DEPARTMENT and lookup not in known):
                return None
        return self.ledger.find_submission(self.fiscal_year, sha256, lookup)


    def run(self, paths: Iterable[Path], sender: str | None = None,
            on_file: Callable[[IntakeOutcome], None] | None = None, origin: Origin | None = None) -> list[IntakeOutcome]:
        outcomes = []
        paths = collect_paths(paths)
        if len(paths) > 1 and self._recorded is None:
            self.remember_recorded()  # one read for the whole run, not a look-up per file
        with self.reading_ahead(paths):
            for path in paths:
                outcome = self.submit_file(path, sender=sender, origin=origin)
                outcomes.append(outcome)
                if on_file is not None:
                    on_file(outcome)
        return outcomes

    @contextmanager
    def reading_ahead(self, paths: list[Path]) -> Iterator[None]:
        """While this runs, the files submit_file meets among `paths` (in their order) have their forms read
        by worker processes a few files ahead (tenken.workbook.ahead); a run of fewer than
        ahead.MIN_FILES files, or on one CPU, reads each here as it comes."""
        from tenken.workbook.ahead import FormsAhead

        ahead = FormsAhead.start(paths, self._peek, (self.limits, self.reader, self.plan.measure_label))
        if ahead is None:
            yield
            return
        self._ahead = ahead
        try:
            yield
        finally:
            self._ahead = None
            ahead.close()

    def _peek(self, path: Path) -> tuple[bytes, str, str] | None:
        """A file worth reading ahead: (its bytes, their SHA-256, its format) when it is a regular file
        within the size limit, named as a form may be, whose bytes the cycle does not hold yet."""
        try:
            opened = self._open(path)
        except OSError:
            return None
        if isinstance(opened, str) or opened[0] is None or path.name.startswith(LOCK_FILE_PREFIX):
            return None
        data, sha256, _ = opened
        file_format = _form_format(data, path.name)
        if not file_format or (self._recorded is not None and sha256 in self._recorded):
            return None
        return data, sha256, file_format

    def _open(self, path: Path) -> tuple[bytes | None, str, int] | str:
        """The bytes, SHA-256 and size of a regular file (_read_handle), or what it is instead: "link",
        "folder", "special" or "hardlink" (nothing of it read). Raises OSError when it cannot be read."""
        try:
            # O_NOFOLLOW: a link is refused, never read through; O_NONBLOCK: opening a pipe cannot hang.
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return "link"
            raise
        with os.fdopen(fd, "rb") as handle:
            status = os.fstat(handle.fileno())
            if not stat.S_ISREG(status.st_mode):
                return "folder" if stat.S_ISDIR(status.st_mode) else "special"
            if status.st_nlink > 1:  # a hard link can reach a file of the server's as surely as a symbolic one
                return "hardlink"
            return self._read_handle(handle)

    def submit_file(self, path: Path, sender: str | None = None, origin: Origin | None = None) -> IntakeOutcome:
        path = Path(path)
        if self._ahead is not None:
            self._ahead.reached(path)
        try:
            opened = self._open(path)
        except OSError as exc:
            raise DomainError(f"ファイルを読めません: {shown_name(str(path), 200)}（{exc.strerror}）") from None
        if isinstance(opened, str):
            kind = "special" if opened == "folder" else opened
            return self._refuse_unread(path, kind, NOT_A_FILE.format(what=_NOT_A_FILE_WHAT[opened]), sender, origin)
        data, sha256, size = opened
        return self._store(path, data, sha256, size, sender, origin=origin)

    def _read_handle(self, handle) -> tuple[bytes | None, str, int]:
        """The bytes, their SHA-256 and size, read from a handle already checked to be a regular file.

        A file over the size limit is neither kept nor read to its end (a huge file must not cost
        minutes): its fingerprint is the SHA-256 of its first bytes and its size, enough to
        recognise it when it arrives again."""
        limit = self.limits.max_file_bytes
        data = handle.read(limit + 1)
        if len(data) <= limit:
            return data, hashlib.sha256(data).hexdigest(), len(data)
        size = os.fstat(handle.fileno()).st_size
        return None, hashlib.sha256(data + f"\0oversized:{size}".encode()).hexdigest(), size

    def _refuse_unread(self, path: Path, kind: str, message: str, sender: str | None,
                       origin: Origin | None) -> IntakeOutcome:
        """Record the refusal of something that is not a regular file; nothing of it is read or kept."""
        fingerprint = hashlib.sha256(f"{kind}\0{path.name}".encode("utf-8", "surrogateescape")).hexdigest()
        earlier = self._earlier(fingerprint, sender)
        if earlier is not None:
            return self._answer(path, None, earlier)
        record = self._store_new(NewSubmission(
            fiscal_year=self.fiscal_year, sha256=fingerprint, size=0, content=None, file_name=self._name(path),
            source=self._name(path), channel=self.channel, file_format="", department=sender, accepted=False,
            results=(), problems=(CellProblem(message),), sender=sender, origin=origin))
        return self._answer(path, None, record)

    def _lookup(self, sender: str | None):
        """Whose earlier records count as "the same file again": the sender's, when senders are required."""
        return sender if self.signer is not None else ANY_DEPARTMENT

    @staticmethod
    def _name(path: Path) -> str:
        """A received name as data: printable (no control characters), bounded."""
        return printable(path.name)[:500] or "（名前なし）"

    def submit_bytes(self, data: bytes, file_name: str, source: str, sender: str | None = None,
                     origin: Origin | None = None, size: int | None = None,
                     no_sender: str = NO_SENDER) -> IntakeOutcome:
        """For channels that hand over bytes (a chat upload, an e-mail attachment). A channel that stops
        reading at the size limit passes the first bytes and the `size` it was told: such a file is
        fingerprinted from them, like an oversized file on disk, and refused unread. `no_sender` is what
        a sender-less file is told (the channel knows why it has no sender)."""
        size = len(data) if size is None else size
        if len(data) > self.limits.max_file_bytes:
            sha256 = hashlib.sha256(data[:self.limits.max_file_bytes + 1] + f"\0oversized:{size}".encode()).hexdigest()
            return self._store(Path(file_name), None, sha256, max(size, len(data)), sender, source, origin, no_sender)
        return self._store(Path(file_name), data, hashlib.sha256(data).hexdigest(), size, sender, source, origin,
                           no_sender)

    def _read(self, data: bytes | None, size: int, name: str, sender: str | None,
              no_sender: str = NO_SENDER, sha256: str | None = None) -> tuple[str, Reading]:
        if self.signer is not None and sender is None:
            # Nobody recorded who sent it: nothing the file says about itself is taken as its sender.
            return "", Reading(None, None, problems=(CellProblem(no_sender, field=SENDER_FIELD),))
        file_format, reading, form = self._read_form(data, size, name, sender, sha256)
        if self.signer is None or form is None or any(p.field == SENDER_FIELD for p in reading.problems):
            return file_format, reading
        form_token = form.token
        if self.signer.verify(self.fiscal_year, sender, form.request_version, form_token):
            return file_format, reading
        department = self.plan.department(sender).name if sender in self.plan.departments_by_key else sender
        message = (TOKEN_MISMATCH if form_token.strip() else TOKEN_MISSING).format(department=department)
        # Refused for the token, whatever else it holds; its other problems are listed too (the sender
        # is the department itself, in its own conversation: nothing of anyone else's is told).
        return file_format, Reading(self.fiscal_year, sender,
                                    problems=(CellProblem(message, field=SENDER_FIELD), *reading.problems))

    def _read_form(self, data: bytes | None, size: int, name: str, sender: str | None,
                   sha256: str | None = None) -> tuple[str, Reading, Form | None]:
        file_format = ""
        try:
            if name.startswith(LOCK_FILE_PREFIX):
                raise Refused(LOCK_FILE)
            check_size(size, self.limits)
            file_format = _form_format(data, name)
            if not file_format:
                raise Refused("受け付けられるのは、お送りした依頼ファイル（Excel ブック .xlsx）か CSV（.csv）です。")
            read = self._ahead.take(sha256) if self._ahead is not None and sha256 is not None else None
            form = read() if read is not None else read_form(data, file_format, self.limits, self.reader,
                                                              self.plan.measure_label)
        except Refused as refusal:
            hint = refusal.department if refusal.department in self.plan.departments_by_key else None
            return file_format, Reading(None, sender or hint, problems=(CellProblem(refusal.message),)), None
        return file_format, interpret(self.plan, self.fiscal_year, form, sender, self.adjustments, self.index), form

    def _store(self, path: Path, data: bytes | None, sha256: str, size: int, sender: str | None,
               source: str | None = None, origin: Origin | None = None, no_sender: str = NO_SENDER) -> IntakeOutcome:
        earlier = self._earlier(sha256, sender)
        if earlier is not None:
            return self._answer(path, data, earlier)
        file_format, reading = self._read(data, size, path.name, sender, no_sender, sha256)
        record = self._store_new(NewSubmission(
            fiscal_year=self.fiscal_year, sha256=sha256, size=size, content=data, file_name=self._name(path),
            source=printable(source or str(path.absolute())), channel=self.channel, file_format=file_format,
            department=reading.department, accepted=reading.accepted, results=reading.results,
            problems=tuple(reading.problems),
            sender=sender, origin=origin))
        return self._answer(path, data, record)

    def _store_new(self, new: NewSubmission) -> SubmissionRecord:
        record = self.ledger.store_submission(new)
        if self._recorded is not None:
            self._recorded.setdefault(record.sha256, set()).add(record.department)
        return record

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
        stem = f"{record.id:05d}-{Path(stored_name(record.file_name)).stem}"
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

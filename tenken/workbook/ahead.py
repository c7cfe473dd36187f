"""Returned forms read a few files ahead by worker processes, while this process checks and stores.

Reading a returned form (unzipping the workbook, its safety checks, its cells: tenken.workbook.reader)
is about half of what taking a file in costs, and needs nothing of the cycle: the bytes, the limits, the
reader and the plan's word for a measure. Checking the form against the plan and storing it (Intake)
need the plan and the ledger, and go file after file in the order the files came. So a run taking in
many files (the inbox, a folder handed over) has worker processes read the next files' forms while this
process checks and stores the current one.

A form read ahead is what reading it here gives: the same function (reader.read_form) on the same bytes,
taken by the SHA-256 of the bytes this process then reads itself (a file changed in between is simply
read here). Whatever goes wrong there, a worker lost (killed, out of memory) or any fault but the
file's own refusal, the file is read here, as it would have been without workers; so its outcome, and
any error, is the one this process gives. Only a few files are in flight at a time (WINDOW a worker,
BYTES_IN_FLIGHT in all), so an inbox of thousands costs no more memory than a few files.

The workers are plain processes on pipes, each given one file at a time: concurrent.futures' pool has a
thread of its own in this process, which took the interpreter lock from the thread storing files (under
cProfile, on a busy machine, its submit() took 1.6 ms a file, about what reading the file costs).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

from tenken.processes import start_context, usable_cpus
from tenken.workbook.reader import read_form
from tenken.workbook.safety import Limits, Refused
from tenken.workbook.submission import Form

LOGGER = logging.getLogger(__name__)

MIN_FILES = 32  # fewer files are read here: starting the workers would cost more than it saves
WINDOW = 8  # files read ahead, at most, per worker
BYTES_IN_FLIGHT = 64 * 1024 * 1024  # and never much more than this many bytes of them held here

# (bytes, SHA-256, format) of a file worth reading ahead, or None: Intake._peek
Peek = Callable[[Path], "tuple[bytes, str, str] | None"]
# What reading a form there gives back: the form, or the refusal's message and department.
Outcome = tuple[Form | None, str | None, str | None]


def read_there(data: bytes, file_format: str, limits: Limits, reader: str, measure_label: str) -> Outcome:
    """reader.read_form, with a refusal as its message and department (plain data, to cross a pipe)."""
    try:
        return read_form(data, file_format, limits, reader, measure_label), None, None
    except Refused as refusal:
        return None, refusal.message, refusal.department


def _serve(connection: Connection, reading: tuple[Limits, str, str]) -> None:
    """A worker: read each form sent, until told to stop (None) or this process's end of the pipe closes."""
    try:
        while (request := connection.recv()) is not None:
            data, file_format = request
            try:
                connection.send(("read", read_there(data, file_format, *reading)))
            except Exception as error:  # noqa: BLE001 — a fault here is the caller's to meet, reading it there
                connection.send(("failed", repr(error)))
    except (EOFError, OSError, KeyboardInterrupt):
        pass
    finally:
        connection.close()


class _Worker:
    def __init__(self, process, connection: Connection):
        self.process, self.connection = process, connection
        self.reading: str | None = None  # the SHA-256 of the file it reads now


class FormsAhead:
    """The forms of `paths` read by worker processes, up to a window ahead of the file being taken in."""

    def __init__(self, paths: list[Path], peek: Peek, workers: list[_Worker]):
        self._paths = paths
        self._position = {path: i for i, path in enumerate(paths)}
        self._peek, self._workers = peek, workers
        self._next = 0  # the first path not looked at yet
        self._window = WINDOW * len(workers)
        self._waiting: list[tuple[int, str, bytes, str]] = []  # (position, SHA-256, bytes, format) to send
        self._sent: dict[str, int] = {}  # SHA-256 -> position, of files sent to a worker
        self._read: dict[str, tuple[int, Outcome | None]] = {}  # SHA-256 -> (position, outcome; None: failed)
        self._lost = False

    @classmethod
    def start(cls, paths: list[Path], peek: Peek, reading: tuple[Limits, str, str],
              workers: int | None = None, min_files: int | None = None) -> FormsAhead | None:
        """Workers for `paths`; None for a run too small or a single CPU, or when no worker can be started
        (then every form is read here). By default one worker for each usable CPU but the one this
        process keeps busy checking and storing: reading is about a third of a file's intake."""
        cpus = usable_cpus()
        if len(paths) < (MIN_FILES if min_files is None else min_files) or cpus < 2:
            return None
        count = workers or cpus - 1
        context = start_context([__name__])
        started: list[_Worker] = []
        for number in range(count):
            here, there = context.Pipe()
            process = context.Process(target=_serve, args=(there, reading), daemon=True,
                                      name=f"tenken-forms-ahead-{number}")
            try:
                process.start()
            except OSError as error:
                LOGGER.warning("forms are read in this process: no worker process (%s)", error)
                here.close()
                there.close()
                break
            there.close()
            started.append(_Worker(process, here))
        if not started:
            return None
        ahead = cls(paths, peek, started)
        ahead.reached(paths[0])
        return ahead

    def reached(self, path: Path) -> None:
        """Intake is at `path`: forget what was read for the files passed, look at the next ones, keep the
        workers busy."""
        at = self._position.get(path)
        if at is None or self._lost:
            return
        for sha256, (position, _) in list(self._read.items()):
            if position < at:  # passed without being taken (its bytes known already, or refused unread)
                del self._read[sha256]
        self._waiting = [w for w in self._waiting if w[0] >= at]
        while (self._next < len(self._paths) and self._next <= at + self._window
               and (not self._waiting or sum(len(w[2]) for w in self._waiting) < BYTES_IN_FLIGHT)):
            peeked = self._peek(self._paths[self._next])
            if peeked is not None and peeked[1] not in self._sent and all(w[1] != peeked[1] for w in self._waiting):
                data, sha256, file_format = peeked
                self._waiting.append((self._next, sha256, data, file_format))
            self._next += 1
        self._collect(block=False)
        self._dispatch()

    def _dispatch(self) -> None:
        """Each idle worker gets the next file waiting (one at a time: a worker is never sent a file while
        its answer may be waiting for this process to read it, so neither can block the other)."""
        for worker in self._workers:
            if worker.reading is None and self._waiting and not self._lost:
                position, sha256, data, file_format = self._waiting.pop(0)
                try:
                    worker.connection.send((data, file_format))
                except OSError as error:
                    self._lose(error)
                    return
                worker.reading = sha256
                self._sent[sha256] = position

    def _collect(self, block: bool, wanted: str | None = None) -> None:
        """Take the answers of the workers done; with `block`, wait for the worker reading `wanted`."""
        for worker in self._workers:
            sha256 = worker.reading
            if sha256 is None or not (block and sha256 == wanted or worker.connection.poll()):
                continue
            try:
                kind, value = worker.connection.recv()
            except (EOFError, OSError) as error:
                self._lose(error)
                return
            worker.reading = None
            if kind == "failed":
                LOGGER.warning("reading a form ahead failed (%s); it is read in this process", value)
            self._read[sha256] = (self._sent.pop(sha256), value if kind == "read" else None)

    def take(self, sha256: str) -> Callable[[], Form] | None:
        """The form of these bytes as read there: a call giving the Form or raising its Refused, as
        read_form here would; None when it was not read there (then read it here)."""
        if self._lost:
            return None
        if sha256 not in self._read and sha256 in self._sent:
            self._collect(block=True, wanted=sha256)
        entry = self._read.pop(sha256, None)
        self._dispatch()
        if entry is None or entry[1] is None:
            return None
        form, message, department = entry[1]

        def outcome() -> Form:
            if form is None:
                raise Refused(message, department)
            return form

        return outcome

    def _lose(self, error: BaseException) -> None:
        """A worker is lost (killed, out of memory): every form is read here from now on."""
        if not self._lost:
            LOGGER.warning("forms are read in this process from now on: a worker reading them ahead is lost (%r)",
                           error)
        self._lost = True
        self._waiting.clear()
        self._read.clear()

    def close(self) -> None:
        """Stop the workers (a worker busy with a file is stopped at once: nothing waits for it)."""
        for worker in self._workers:
            try:
                if worker.reading is None:
                    worker.connection.send(None)
            except OSError:
                pass
            worker.connection.close()
        for worker in self._workers:
            worker.process.join(timeout=1 if worker.reading is None else 0)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()

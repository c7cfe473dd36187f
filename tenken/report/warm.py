"""The PDF rendered in a process that loaded WeasyPrint while this one prepared the report.

A command that writes one report (`tenken report`) spends about a third of its time importing and loading
before any work: pandas for the ratings, WeasyPrint and its fonts for the PDF. Neither needs the other, so
`PdfProcess.start()` forks, first thing, a process that imports WeasyPrint while this one imports pandas,
reads the plan and the results and builds the HTML; the PDF is then rendered there and its bytes sent
back. The PDF is render_pdf's, byte for byte. (Laying out a line in the report's fonts ahead, to warm
fontconfig and Pango, cost more than it saved: measured 2.06 s against 1.91 s for the whole command, medians of 7.)

That process renders the report as render_pdf does, in chunks too (tenken/report/parallel.py): the
front matter and the annex laid out at once by two processes it forks with WeasyPrint loaded already
(a large annex: more chunks). So it is not a daemon (a daemon may not start processes); it ends when
told to, or when this process's end of the pipe closes.

Where forking is not safe (another thread runs, the platform does not fork), or if the process is gone,
render_pdf runs in this process as before. A render that fails there is rendered again here, so the
error raised is this process's own.
"""

from __future__ import annotations

import atexit
import logging
from multiprocessing import get_context
from multiprocessing.connection import Connection

from tenken.processes import forks_here

LOGGER = logging.getLogger(__name__)


class Warnings(logging.Handler):
    """What WeasyPrint warns of in another process, kept to be logged in this one (as a render here would
    log it) with the result it goes with."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[tuple[str, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.name, record.levelno, record.getMessage()))

    def take(self) -> list[tuple[str, int, str]]:
        records, self.records = self.records, []
        return records

    @classmethod
    def on_weasyprint(cls) -> Warnings:
        """This process's WeasyPrint warnings, kept here only (handlers inherited by a fork would log twice)."""
        handler = cls()
        weasyprint = logging.getLogger("weasyprint")
        weasyprint.handlers, weasyprint.propagate = [handler], False
        return handler


def replay(records: list[tuple[str, int, str]]) -> None:
    for name, level, text in records:
        logging.getLogger(name).log(level, "%s", text)


def render_here(html: str) -> bytes:
    from tenken.report.render import render_pdf

    return render_pdf(html)


def fork_is_safe() -> bool:
    """This process may fork: the platform forks, and no other thread may hold a lock the child would need."""
    return forks_here()


class PdfProcess:
    """A process that renders report PDFs, started before the report is prepared (see the module)."""

    def __init__(self, process, connection: Connection) -> None:
        self.process = process
        self.connection: Connection | None = connection

    @classmethod
    def start(cls) -> PdfProcess | None:
        """The process started by start_early, else one started now; None where forking is not safe (then
        render here)."""
        global _early
        if _early is not None:
            process, _early = _early, None
            return process
        if not fork_is_safe():
            return None
        context = get_context("fork")
        here, there = context.Pipe()
        process = context.Process(target=_serve, args=(there,), daemon=False, name="tenken-report-pdf")
        try:
            process.start()
        except OSError as error:
            LOGGER.warning("the PDF is rendered in this process: no process to render it in (%s)", error)
            here.close()
            there.close()
            return None
        there.close()
        return cls(process, here)

    def render_pdf(self, html: str) -> bytes:
        """render_pdf(html), in the process when it is there for it."""
        if self.connection is None:
            return render_here(html)
        try:
            self.connection.send(html)
            kind, value, warnings = self.connection.recv()
        except (EOFError, OSError) as error:
            LOGGER.warning("the PDF is rendered in this process: the process for it is gone (%r)", error)
            self.close()
            return render_here(html)
        replay(warnings)
        if kind == "pdf":
            return value
        LOGGER.warning("rendering the PDF in its process failed; rendering it here:\n%s", value)
        return render_here(html)

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.send(None)
            except OSError:
                pass
            self.connection.close()
            self.connection = None
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()

    def __enter__(self) -> PdfProcess:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


_early: PdfProcess | None = None


def start_early() -> None:
    """Start the process first thing, before the command line is loaded and parsed (tenken/command.py):
    `tenken report` then takes it (PdfProcess.start); if the command ends before it does (a usage error),
    the process is closed at exit."""
    global _early
    if _early is None and (_early := PdfProcess.start()) is not None:
        atexit.register(_close_early)


def _close_early() -> None:
    global _early
    if _early is not None:
        _early.close()
        _early = None


def _serve(connection: Connection) -> None:
    """Load WeasyPrint, then render each report HTML sent, until told to stop (None)."""
    import traceback

    warnings = Warnings.on_weasyprint()
    try:
        from tenken.report import parallel  # noqa: F401 — loaded before the chunks' workers are forked
        from tenken.report.render import render_pdf

        while (html := connection.recv()) is not None:
            try:
                pdf = render_pdf(html)
            except Exception:  # noqa: BLE001 — rendered again by the caller, whose error it then is
                connection.send(("failed", traceback.format_exc(), warnings.take()))
            else:
                connection.send(("pdf", pdf, warnings.take()))
    except (EOFError, OSError, KeyboardInterrupt):
        pass  # the command ended (or was interrupted): nothing is waiting for this process
    except Exception:  # noqa: BLE001 — WeasyPrint would not load: the caller renders, and meets the error itself
        pass
    finally:
        connection.close()

"""The FY2020 report rendered once per test session, and helpers to read PDFs back."""

from __future__ import annotations

import logging
import re
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tenken.core.aggregate import summarize
from tenken.report import write_report
from tenken.services import assess_cycle
from tests.conftest import run_cli


def pdftotext(pdf: Path, *options: str) -> str:
    """Text of a PDF as poppler reads it; pages are separated by form feeds."""
    return subprocess.run(["pdftotext", *options, str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout


def pages(pdf: Path, *options: str) -> list[str]:
    return pdftotext(pdf, *options).split("\f")[:-1]


def flat(text: str) -> str:
    """Text without any whitespace: table cells wrap names wherever the width ends."""
    return re.sub(r"\s+", "", text)


def poppler(tool: str, pdf: Path) -> str:
    return subprocess.run([tool, str(pdf)], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="session")
def fy2020():
    assessment = assess_cycle(2020)
    return assessment, summarize(assessment)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture(scope="session")
def final_render(fy2020, tmp_path_factory) -> tuple[dict[str, Path], list[str]]:
    """The FY2020 final copy (PDF, HTML, CSV, JSON, column dictionary) and WeasyPrint's warnings."""
    assessment, summary = fy2020
    collect = _Collect()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(collect)
    try:
        paths = write_report(assessment, summary, tmp_path_factory.mktemp("final"), draft=False)
    finally:
        logger.removeHandler(collect)
    return paths, collect.messages


@pytest.fixture(scope="session")
def final(final_render) -> dict[str, Path]:
    return final_render[0]


@pytest.fixture(scope="session")
def cli_draft(tmp_path_factory):
    """`tenken report --draft` run once as a person would; its files double as the review copy."""
    out = tmp_path_factory.mktemp("cli") / "out"
    completed = run_cli("report", "--year", "2020", "--out", str(out), "--draft")
    return out, completed


@pytest.fixture(scope="session")
def final_raw_text(final) -> str:
    """In content-stream order, so a name wrapped inside its cell reads as one run."""
    return pdftotext(final["pdf"], "-raw")


class _Recorder(BaseHTTPRequestHandler):
    requests: list[str]

    def do_GET(self):  # noqa: N802 (the http.server API)
        self.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture()
def http_server():
    """A local HTTP server that records every request it receives."""
    handler = type("Recorder", (_Recorder,), {"requests": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.requests = handler.requests
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()

"""A report in chunks when something goes wrong: the office still gets its report, whole.

A worker process killed in the middle (out of memory, a signal), WeasyPrint failing in a worker, a fault
in the assembly: each ends in the one-pass PDF of the same report, with the reason in the log. And a
render started while other threads run (a Prefect task) takes its workers from a fork server, with the
same bytes as a render in one process.
"""

from __future__ import annotations

import logging
import os
import threading
from multiprocessing import get_context

import pytest

from tenken.report import parallel
from tenken.report.context import build_context
from tenken.report.render import print_markup, render_html, write_pdf
from tests.report.conftest import flat, pdftotext

ROWS_PER_CHUNK = 25  # FY2020's 76 measures in three or more chunks


@pytest.fixture(scope="module")
def split(fy2020) -> parallel.Split:
    assessment, summary = fy2020
    cut = parallel.split(print_markup(render_html(build_context(assessment, summary, draft=False))), ROWS_PER_CHUNK)
    assert cut is not None and len(cut.chunks) >= 3
    return cut


@pytest.fixture(scope="module")
def one_pass(split) -> bytes:
    return write_pdf(split.markup)


@pytest.fixture
def forked(monkeypatch):
    """Workers forked from this process, so that what a test changes here holds in them too."""
    monkeypatch.setattr(parallel, "_context", lambda: get_context("fork"))


def _text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    return flat(pdftotext(path, "-raw"))


def test_a_worker_killed_in_the_middle_gives_the_one_pass_report(split, one_pass, forked, monkeypatch, caplog,
                                                                 tmp_path):
    layout = parallel.ChunkWork.layout
    parent = os.getpid()

    def killed_on_the_second_chunk(self):
        if self.chunk.index == 1 and os.getpid() != parent:
            os._exit(137)  # as the kernel's out-of-memory killer leaves it: no word to anybody
        return layout(self)

    monkeypatch.setattr(parallel.ChunkWork, "layout", killed_on_the_second_chunk)
    with caplog.at_level(logging.WARNING, logger=parallel.__name__):
        pdf = parallel.render_chunks(split, workers=2)
    assert "report rendered in one pass: a worker process ended before its chunks were done" in caplog.text
    assert _text(pdf, tmp_path) == _text(one_pass, tmp_path)


def test_weasyprint_failing_in_a_worker_gives_the_one_pass_report_and_the_traceback(split, one_pass, forked,
                                                                                 monkeypatch, caplog, tmp_path):
    paint = parallel.ChunkWork.paint

    def failing_on_the_last_chunk(self, first_number):
        if self.chunk.index == len(split.chunks) - 1:
            raise ValueError("WeasyPrint could not paint this")
        return paint(self, first_number)

    monkeypatch.setattr(parallel.ChunkWork, "paint", failing_on_the_last_chunk)
    with caplog.at_level(logging.WARNING, logger=parallel.__name__):
        pdf = parallel.render_chunks(split, workers=2)
    failure = [r for r in caplog.records if r.name == parallel.__name__]
    assert [r.getMessage() for r in failure] == ["report rendered in one pass: rendering it in chunks failed"]
    assert "ValueError: WeasyPrint could not paint this" in caplog.text  # the worker's traceback, logged here
    assert _text(pdf, tmp_path) == _text(one_pass, tmp_path)


def test_a_fault_of_the_assembly_in_this_process_gives_the_one_pass_report(split, one_pass, monkeypatch, caplog,
                                                                         tmp_path):
    def gap(*args, **kwargs):
        raise RuntimeError("object numbers left a gap")

    monkeypatch.setattr(parallel, "_write", gap)
    with caplog.at_level(logging.WARNING, logger=parallel.__name__):
        pdf = parallel.render_chunks(split, workers=1)
    assert "RuntimeError: object numbers left a gap" in caplog.text
    assert _text(pdf, tmp_path) == _text(one_pass, tmp_path)


def test_a_render_beside_other_threads_uses_a_fork_server_and_writes_the_same_bytes(split):
    here = parallel.render_chunks(split, workers=1)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, name="another task", daemon=True)
    other.start()
    try:
        assert parallel._context().get_start_method() == "forkserver"
        assert parallel.render_chunks(split, workers=2) == here
    finally:
        stop.set()
        other.join()

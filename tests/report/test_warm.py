"""The PDF rendered in a process that loaded WeasyPrint while the command prepared the report
(tenken.report.warm): the same bytes, and the same report whatever becomes of that process."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading

import pytest

from tenken.report import parallel, warm
from tenken.report.context import build_context
from tenken.report.markup import print_markup, render_html
from tenken.report.render import render_pdf


@pytest.fixture(autouse=True)
def may_fork(request, monkeypatch):
    """As in a command's process, where nothing else runs yet; a test before this one in the same
    process may have left a thread behind (a test server), which start() would rightly refuse."""
    if "other_threads" not in request.node.name:
        monkeypatch.setattr(warm, "fork_is_safe", lambda: True)


@pytest.fixture(scope="module")
def html(fy2020) -> str:
    assessment, summary = fy2020
    return render_html(build_context(assessment, summary, draft=False))


@pytest.fixture(scope="module")
def here(html) -> bytes:
    return render_pdf(html)


def test_the_process_renders_the_bytes_this_process_would(html, here):
    with warm.PdfProcess.start() as process:
        assert process.process.is_alive()
        assert process.render_pdf(html) == here
        assert process.render_pdf(html) == here  # and the next report too
    assert not process.process.is_alive()


def test_the_command_imports_no_weasyprint_of_its_own_and_writes_the_same_pdf(here, tmp_path):
    """`tenken report` as typed (the console script, which starts the process before the command line
    loads): WeasyPrint is loaded by the other process only."""
    script = ("import atexit, sys\n"
              "atexit.register(lambda: print('weasyprint here:', 'weasyprint' in sys.modules))\n"
              f"sys.argv = ['tenken', 'report', '--year', '2020', '--out', {str(tmp_path / 'out')!r}]\n"
              "from tenken.command import main\nmain()\n")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TENKEN_")},
           "TENKEN_VAR_DIR": str(tmp_path / "var")}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "weasyprint here: False"
    assert (tmp_path / "out" / "report-2020.pdf").read_bytes() == here


def test_a_process_gone_is_replaced_by_a_render_here(html, here, caplog):
    process = warm.PdfProcess.start()
    process.process.kill()
    process.process.join()
    with caplog.at_level(logging.WARNING, logger=warm.__name__):
        assert process.render_pdf(html) == here
    assert "the process for it is gone" in caplog.text
    assert process.render_pdf(html) == here  # and it is not asked again
    process.close()


def test_a_render_failing_there_is_done_again_here(html, here, monkeypatch, caplog):
    parent = os.getpid()

    def failing_there(markup, *args, **kwargs):
        if os.getpid() != parent:
            raise MemoryError("no room for the boxes")
        return here

    monkeypatch.setattr("tenken.report.render.render_pdf", failing_there)
    with warm.PdfProcess.start() as process, caplog.at_level(logging.WARNING, logger=warm.__name__):
        assert process.render_pdf(html) == here
    assert "rendering the PDF in its process failed; rendering it here" in caplog.text
    assert "MemoryError: no room for the boxes" in caplog.text


def test_a_report_in_chunks_is_rendered_there_by_the_workers_it_forks(html, monkeypatch):
    monkeypatch.setattr(parallel, "ROWS_PER_CHUNK", 25)  # before the fork: FY2020 in chunks there too
    expected = parallel.render_chunks(parallel.split(print_markup(html)), workers=1)
    monkeypatch.setattr(warm, "render_here", lambda markup: pytest.fail("rendered here, not there"))
    with warm.PdfProcess.start() as process:
        assert process.render_pdf(html) == expected
    assert not process.process.is_alive()


def test_a_usage_error_ends_the_command_and_the_process_started_for_it(tmp_path):
    """The console script starts the PDF process before the command line is parsed; a command that ends
    without a report closes it at exit (the process is not a daemon, so nothing else would)."""
    script = ("import sys, multiprocessing\n"
              "sys.argv = ['tenken', 'report', '--year', 'twenty', '--out', 'out']\n"
              "from tenken import command\n"
              "from tenken.report import warm\n"
              "try:\n    command.main()\n"
              "except SystemExit as end:\n"
              "    print('exit', end.code, 'early left', warm._early is not None, "
              "'children', len(multiprocessing.active_children()))\n"
              "    raise\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=60,
                          env={**os.environ, "TENKEN_VAR_DIR": str(tmp_path / "var")})
    assert done.returncode == 2, done.stderr
    assert "exit 2 early left True children 1" in done.stdout  # started, then closed by the atexit handler
    assert "Invalid value for '--year'" in done.stderr


def test_what_weasyprint_warns_of_there_is_logged_here(caplog):
    odd = "<html><head><style>p { colour: red }</style></head><body><p>点検</p></body></html>"
    with warm.PdfProcess.start() as process, caplog.at_level(logging.WARNING, logger="weasyprint"):
        assert process.render_pdf(odd).startswith(b"%PDF-")
    assert [r.name for r in caplog.records if "colour" in r.getMessage()] == ["weasyprint"]


def test_no_process_is_forked_beside_other_threads():
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        assert not warm.fork_is_safe()
        assert warm.PdfProcess.start() is None
    finally:
        stop.set()
        other.join()

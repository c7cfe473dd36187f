"""`tenken report` as a person runs it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import run_cli


def test_the_report_command_writes_pdf_html_csv_and_json_and_prints_their_paths(cli_draft):
    out, completed = cli_draft
    assert completed.returncode == 0, completed.stderr
    printed = [Path(line) for line in completed.stdout.splitlines()]
    assert {p.suffix for p in printed} == {".pdf", ".html", ".csv", ".json"}
    assert all(p.parent == out and p.stat().st_size > 0 for p in printed)
    assert printed[0].read_bytes().startswith(b"%PDF") and printed[0].name == "report-2020-draft.pdf"


def test_the_report_command_explains_a_missing_year_in_japanese(tmp_path):
    completed = run_cli("report", "--year", "2031", "--out", str(tmp_path))
    assert completed.returncode == 2
    assert "エラー" in completed.stderr and "Traceback" not in completed.stderr


def test_a_draft_of_a_plan_above_the_annex_limit_points_to_the_html_and_csv(tmp_path):
    from tenken.core.aggregate import summarize
    from tenken.report import write_report
    from tenken.services import assess_cycle

    assessment = assess_cycle(2020)
    files = write_report(assessment, summarize(assessment), tmp_path, draft=True, pdf_annex_limit=10)
    text = subprocess.run(["pdftotext", str(files["pdf"]), "-"], capture_output=True, text=True).stdout
    assert "76件の一覧をPDFに収録していません" in text and "report-2020-draft.html" in text
    assert "モバイルPCの導入" in files["html"].read_text(encoding="utf-8")

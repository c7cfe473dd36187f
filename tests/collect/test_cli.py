"""`tenken requests`, `intake`, `status`: what a clerk at the office sees."""

from __future__ import annotations

import json

from openpyxl import load_workbook
from typer.testing import CliRunner

from tenken.cli import app

from .conftest import copy_example, take_in_as

runner = CliRunner()


def test_status_shows_who_submitted_who_is_missing_and_when(db_url, example_files, tmp_path):
    inbox = tmp_path / "inbox"
    for department in ("tourism", "agriculture-policy"):
        copy_example(example_files, department, inbox / department)
    (inbox / "tourism" / "broken.xlsx").write_bytes(b"")
    for department in ("tourism", "agriculture-policy"):
        taken = runner.invoke(app, ["intake", "--year", "2020", str(inbox / department), "--from", department,
                                    "--answers", str(tmp_path / "a")])
        assert taken.exit_code == (1 if department == "tourism" else 0), taken.output

    figures = json.loads(runner.invoke(app, ["status", "--year", "2020", "--json"]).output)
    by_key = {d["department"]: d for d in figures["departments"]}
    assert len(by_key) == 34
    assert [k for k, d in by_key.items() if d["status"] == "submitted"] == ["tourism", "agriculture-policy"]
    assert by_key["tourism"]["latest_version"] == 1 and by_key["tourism"]["latest_received_at"]
    assert by_key["digital-strategy"]["status"] == "missing"

    table = runner.invoke(app, ["status", "--year", "2020"]).output
    assert "提出済み 2 / 34所属、未提出 32所属" in table
    assert "観光課" in table and "未提出" in table


def test_requests_writes_the_named_departments_and_records_the_deadline(db_url, tmp_path):
    result = runner.invoke(app, ["requests", "--year", "2020", "--out", str(tmp_path / "out"), "-d", "tourism",
                                 "--deadline", "2021-04-30", "--csv"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["tenken-2020-tourism.csv",
                                                                   "tenken-2020-tourism.xlsx"]
    status = json.loads(runner.invoke(app, ["status", "--year", "2020", "--json"]).output)
    assert status["deadline"] == "2021-04-30"
    sheet = load_workbook(tmp_path / "out" / "tenken-2020-tourism.xlsx")["実績入力"]
    assert sheet["A3"].value == "提出期限: 令和3年4月30日（金）"


def test_an_unknown_department_is_a_clear_error(db_url, tmp_path):
    result = runner.invoke(app, ["requests", "--year", "2020", "--out", str(tmp_path), "-d", "no-such"])
    assert result.exit_code == 2
    assert "所属コード「no-such」は所属の一覧にありません" in result.output


def test_department_text_that_looks_like_a_formula_is_neutralised_in_csv_output(db_url, example_files, tmp_path):
    path = copy_example(example_files, "tourism", tmp_path / "inbox")
    workbook = load_workbook(path)
    cell = workbook["実績入力"]["J9"]
    cell.value, cell.data_type = "=HYPERLINK(\"http://x.example/\",\"理由\")", "s"
    workbook.save(path)
    outcomes = take_in_as({department: [path if department == "tourism" else example_files[department]]
                           for department in example_files}, tmp_path / "a")
    assert all(o.accepted for o in outcomes)

    rated = runner.invoke(app, ["rate", "--year", "2020", "--csv"]).output
    assert "'=HYPERLINK" in rated
    assert ",=HYPERLINK" not in rated


def test_the_example_workbooks_command_writes_one_filled_form_per_department(tmp_path):
    result = runner.invoke(app, ["example-workbooks", "--year", "2020", "--out", str(tmp_path), "--csv"])
    assert result.exit_code == 0, result.output
    written = sorted(tmp_path.glob("*.csv"))
    assert len(written) == 34
    assert "841,586PV" in (tmp_path / "tenken-2020-tourism.csv").read_text(encoding="utf-8")


def test_a_ledger_that_cannot_be_opened_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["status", "--year", "2020", "--db", "nosuchdb://somewhere/x"])
    assert result.exit_code == 2
    assert "台帳（データベース nosuchdb://somewhere/x）を開けません" in result.output

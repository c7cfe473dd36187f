"""Hostile or careless values in a returned form (issue 12): refused in their cell with a Japanese
message naming the measure, through the same intake departments use; an implausible value is
accepted and becomes a point for reviewers.

The tourism department's workbook: rows 7-8 I-1-イ-1 (1)(2) numeric PV (targets 400,000PV and
100,000PV), row 9 I-1-イ-2 numeric 件 (target 120件, △), row 10 I-1-イ-3 qualitative 実施,
rows 11-12 I-2-イ-1 (1)(2).
"""

from __future__ import annotations

import csv
import io
import zipfile

import pytest

from tenken.config import DEFAULT_CONFIG, load_results
from tenken.core.assessment import assess
from tenken.core.discrepancies import discrepancies
from tenken.core.results import ResultSet
from tenken.core.values import hidden_characters
from tenken.example import department_results
from tenken.workbook.submission import department_plan
from tenken.workbook.writer import request_csv

from .conftest import YEAR, copy_example, edit_workbook


def refused_in(outcome, cell: str) -> list[str]:
    assert not outcome.accepted
    return [p.message for p in outcome.record.problems if p.cell == cell]


@pytest.mark.parametrize(("cell", "value", "fragments"), [
    ("H7", "841,586PV\u202e", ["施策 I-1-イ-1「", "の(1)の「実績」", "U+202E 右から左への上書き"]),
    ("H10", "実\u200d施", ["施策 I-1-イ-3「", "の「実績」", "U+200D ゼロ幅接合子"]),
    ("J9", "感染症の影響\u2066で中止", ["施策 I-1-イ-2「", "「未達成の理由及び今後の見込み等」", "U+2066"]),
    ("L9", "研修\u202bを実施", ["施策 I-1-イ-2「", "「主な取組」", "U+202B"]),
    ("H9", "٣件", ["施策 I-1-イ-2「", "半角・全角以外の数字（U+0663 数字の3）", "半角（0〜9）または全角（０〜９）で入力"]),
    ("H9", "-3件", ["施策 I-1-イ-2「", "実績「-3件」が負の値です"]),
    ("H9", "1" + "0" * 400 + "件", ["施策 I-1-イ-2「", "は数値ではありません（桁数が多すぎます"]),
])
def test_a_hostile_value_in_a_workbook_is_refused_in_its_cell(cell, value, fragments, intake, example_files,
                                                              tmp_path):
    outcome = intake.submit_file(edit_workbook(copy_example(example_files, "tourism", tmp_path), {cell: value}))
    messages = refused_in(outcome, cell)
    assert len(messages) == 1, [(p.cell, p.message) for p in outcome.record.problems]
    for fragment in fragments:
        assert fragment in messages[0]
    answer = outcome.answer.read_text(encoding="utf-8")
    assert f"シート「実績入力」のセル {cell}" in answer and not hidden_characters(answer, multiline=True)


def _with_escaped_control(path, text: str, control: str):
    """The workbook with `text` followed by a control character, stored as Excel stores one (_x001B_)."""
    data = path.read_bytes()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename.startswith(("xl/sharedStrings", "xl/worksheets/")):
                content = content.replace(text.encode(), f"{text}_x{ord(control):04X}_".encode())
            target.writestr(item, content)
    path.write_bytes(out.getvalue())
    return path


def test_an_esc_stored_in_a_workbook_cell_is_refused_in_its_cell(intake, example_files, tmp_path):
    path = edit_workbook(copy_example(example_files, "tourism", tmp_path), {"J9": "中止した"})
    outcome = intake.submit_file(_with_escaped_control(path, "中止した", "\x1b"))
    messages = refused_in(outcome, "J9")
    assert messages and "U+001B ESC" in messages[0] and "「未達成の理由及び今後の見込み等」" in messages[0]


def _csv_with(plan, cells: dict[str, str]) -> bytes:
    filled = department_results(plan, load_results(DEFAULT_CONFIG, YEAR), "tourism")
    rows = list(csv.reader(io.StringIO(request_csv(plan, YEAR, "tourism", filled, bom=False))))
    for column, value in cells.items():
        rows[3][rows[0].index(column)] = value  # line 4 of the file: I-1-イ-2
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return text.getvalue().encode("utf-8")


@pytest.mark.parametrize(("column", "value", "code"), [
    ("実績", "\x1b[2J120件", "U+001B"),
    ("実績", "120件\x7f", "U+007F"),
    ("未達成の理由及び今後の見込み等", "理由\x07", "U+0007"),
    ("実績", "١٢٠件", "U+0661"),
])
def test_a_hostile_value_in_a_csv_is_refused_naming_its_line_and_column(column, value, code, intake, plan,
                                                                       tmp_path):
    path = tmp_path / "観光課.csv"
    path.write_bytes(_csv_with(plan, {column: value}))
    outcome = intake.submit_file(path)
    messages = refused_in(outcome, f"4行目「{column}」")
    assert messages and code in messages[0] and "施策 I-1-イ-2「" in messages[0]


def test_line_breaks_and_tabs_in_a_reason_are_accepted(intake, ledger, example_files, tmp_path):
    path = edit_workbook(copy_example(example_files, "tourism", tmp_path), {"J9": "中止した。\n\t来年度に再開する。"})
    outcome = intake.submit_file(path)
    assert outcome.accepted, outcome.record.problems


def test_a_value_150_times_the_target_is_accepted_and_listed_for_reviewers(intake, ledger, plan, example_files,
                                                                          tmp_path):
    path = edit_workbook(copy_example(example_files, "tourism", tmp_path), {"H9": "18,001件"})
    outcome = intake.submit_file(path)
    assert outcome.accepted, outcome.record.problems
    stored = ResultSet(fiscal_year=YEAR, results=tuple(ledger.results_of(outcome.record.id)))
    found = discrepancies(assess(department_plan(plan, "tourism"), stored))
    assert [(f["key"], f["kind"]) for f in found if f["kind"] == "implausible"] == [("I-1-イ-2", "implausible")]


def test_a_value_50_times_the_target_is_not_listed(intake, ledger, plan, example_files, tmp_path):
    path = edit_workbook(copy_example(example_files, "tourism", tmp_path), {"H9": "6,000件"})
    outcome = intake.submit_file(path)
    assert outcome.accepted, outcome.record.problems
    stored = ResultSet(fiscal_year=YEAR, results=tuple(ledger.results_of(outcome.record.id)))
    assert [f for f in discrepancies(assess(department_plan(plan, "tourism"), stored)) if f["kind"] == "implausible"] == []


def test_an_rlo_in_a_fixed_cell_is_refused_there_and_never_quoted(intake, example_files, tmp_path):
    path = edit_workbook(copy_example(example_files, "tourism", tmp_path),
                         {"A9": "I-1-イ-2\u202e", "C9": "\u202eツアー"})
    outcome = intake.submit_file(path)
    assert not outcome.accepted
    assert "U+202E" in refused_in(outcome, "A9")[0] and "U+202E" in refused_in(outcome, "C9")[0]
    assert all("\u202e" not in p.message for p in outcome.record.problems)

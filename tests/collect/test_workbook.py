"""The request workbook as a department receives it, and the CSV the system writes."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook

from tenken.workbook.layout import FIRST_ROW, GUIDE_SHEET, INPUT_SHEET, META_SHEET, departments_on_form
from tenken.workbook.reader import READERS, formula_cells, read_csv, read_workbook
from tenken.workbook.writer import request_csv, request_workbook

from .conftest import YEAR


@pytest.fixture(scope="module")
def tourism(plan):
    return load_workbook(io.BytesIO(request_workbook(plan, YEAR, "tourism", date(2021, 4, 30))))


def test_every_department_with_work_this_year_gets_a_form(plan):
    assert len(departments_on_form(plan, YEAR)) == 34


def test_the_form_prints_department_and_deadline_and_has_japanese_instructions(tourism):
    sheet = tourism[INPUT_SHEET]
    assert sheet["A2"].value == "所属: 観光課"
    assert sheet["A3"].value == "提出期限: 令和3年4月30日（金）"
    assert "黄色のセルに入力してください" in sheet["A4"].value
    guide = "\n".join(str(c.value) for c in tourism[GUIDE_SHEET]["A"] if c.value)
    assert "数式は入力しないでください" in guide and "観光課" in guide


def test_cycle_and_department_are_kept_in_a_very_hidden_protected_sheet(tourism):
    meta = tourism[META_SHEET]
    assert meta.sheet_state == "veryHidden" and meta.protection.sheet
    assert {meta.cell(r, 1).value: meta.cell(r, 2).value for r in range(1, 4)} == {
        "format": 1, "fiscal_year": 2020, "department": "tourism"}
    assert tourism.security.lockStructure


def test_only_the_input_cells_are_unlocked(tourism):
    sheet = tourism[INPUT_SHEET]
    assert sheet.protection.sheet
    unlocked = {c.coordinate for row in sheet.iter_rows() for c in row if not c.protection.locked}
    # I-1-イ-1 (1)(2) numeric, I-1-イ-2 numeric, I-1-イ-3 qualitative, I-2-イ-1 (1)(2) numeric
    assert unlocked == {"H7", "J7", "K7", "L7", "H8", "H9", "J9", "K9", "L9", "H10", "I10", "J10", "K10", "L10",
                        "H11", "J11", "K11", "L11", "H12"}
    assert sheet["G7"].value == "400,000PV" and sheet["G7"].protection.locked


def test_self_rating_and_cause_are_drop_downs(tourism):
    sheet = tourism[INPUT_SHEET]
    lists = {str(v.sqref): v.formula1 for v in sheet.data_validations.dataValidation}
    assert lists["I10"] == '"◎,○,△"'
    cause_cells = next(ref for ref, formula in lists.items() if META_SHEET in formula).split()
    assert sorted(cause_cells) == ["K10", "K11", "K7", "K9"]
    assert [tourism[META_SHEET].cell(r, 4).value for r in range(1, 5)] == [
        "新型コロナウイルス感染症の影響", "国の動向の影響", "計画・事業内容の見直し", "その他"]


def test_a_measure_without_an_indicator_asks_only_for_the_highlight(plan):
    sheet = load_workbook(io.BytesIO(request_workbook(plan, YEAR, "fire-safety")))[INPUT_SHEET]
    assert sheet[f"G{FIRST_ROW}"].value == "指標未設定"
    assert {c.coordinate for c in sheet[FIRST_ROW] if not c.protection.locked} == {f"L{FIRST_ROW}"}


@pytest.mark.parametrize("reader", READERS)
def test_both_readers_read_the_same_form(reader, example_files):
    form = read_workbook(example_files["tourism"].read_bytes(), reader=reader)
    assert (form.fiscal_year, form.department) == ("2020", "tourism")
    assert [r.cells["actual"].text for r in form.rows] == ["841,586PV", "83,640PV", "0件", "実施", "80,610", "61,000"]


def test_formulas_are_found_in_the_sheet_xml_with_or_without_cell_references():
    xml = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
           b'<row r="7"><c r="H7" t="str"><f>HYPERLINK("http://x","y")</f><v>y</v></c><c><f>1+1</f></c></row>'
           b'<row r="8"><c r="A8"><v>1</v></c><c r="I8"><f t="shared" si="0"/></c></row></sheetData></worksheet>')
    assert formula_cells(xml) == {"H7": '=HYPERLINK("http://x","y")', "I7": "=1+1", "I8": "=（共有数式）"}


def test_the_csv_form_neutralises_cells_and_reads_back_unchanged(plan):
    plus = next(m for m in plan.measures if m.years.get(YEAR) and m.years[YEAR].status == "rated"
                and m.years[YEAR].parts[0].target.startswith("+"))
    text = request_csv(plan, YEAR, plus.department)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    target = rows[0].index("目標")
    written = next(r for r in rows[1:] if r[2] == plus.key)[target]
    assert written == "'" + plus.years[YEAR].parts[0].target
    form = read_csv(text.encode("utf-8"))
    assert next(r for r in form.rows if r.text("key") == plus.key).text("target") == plus.years[YEAR].parts[0].target


def test_formulas_are_found_in_rows_without_references_and_only_in_cells_of_rows():
    xml = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
           b'<row r="7"><c r="H7"><f>1+1</f><v>2</v></c></row><row><c><v>1</v></c><c><f>A8*2</f></c></row>'
           b'</sheetData><extLst><c><f>9</f></c></extLst></worksheet>')
    assert formula_cells(xml) == {"H7": "=1+1", "B8": "=A8*2"}

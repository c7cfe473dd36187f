"""request_workbook writes a department's workbook straight into a prototype package (issue 14);
build_workbook builds the same workbook cell by cell with openpyxl. Read back with openpyxl, the two must
be the same workbook: every cell's value, type and style, the row heights and column widths, merged cells,
input messages and drop-downs, the sheets' dimensions, print setup, page header and footer, protection.

Each plan in the repository, every department on its form, plain and filled in (results, deadline,
token, how to submit), and texts that are awkward in XML or look like formulas."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date
from pathlib import Path
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook

from tenken.config import load_plan, load_results
from tenken.core.plan import Plan
from tenken.services.opening import department_results
from tenken.workbook.layout import META_SHEET, departments_on_form
from tenken.workbook.writer import build_workbook, request_workbook, workbook_bytes

ROOT = Path(__file__).resolve().parents[2]
PLANS = {
    "kanagawa": (ROOT / "tenken" / "examples" / "kanagawa", 2020),
    "minato": (ROOT / "tenken" / "examples" / "minato", 2024),
    "city": (ROOT / "tests" / "fixtures" / "city_plan", 2024),
}
AWKWARD = ("=1+1", "&<>\"'", "一行目\n二行目", "x" * 40_000, " 前に空白", "後に空白 ", "#N/A", "=", "\r\n", " ",
           "\t タブ", "=SUM(A1:A3)", "<![CDATA[x]]>", "&amp;", "ＡＢＣ１２３")


def _xml(item) -> bytes | None:
    """A style or setting as the XML it stands for (openpyxl objects compare by identity otherwise)."""
    return None if item is None else ElementTree.tostring(item.to_tree())


def _sheet_view(ws) -> dict:
    cells = {}
    for (row, column), cell in ws._cells.items():
        if cell.value is None and not cell.has_style:
            continue
        value = cell.value
        if ws.title == META_SHEET and column == 2 and ws.cell(row, 1).value == "created_at":
            value = "<when written>"  # the second it was written in
        cells[cell.coordinate] = (value, cell.data_type, _xml(cell.font), _xml(cell.fill), _xml(cell.border),
                                  _xml(cell.alignment), _xml(cell.protection), cell.number_format)
    return {
        "cells": cells,
        "rows": {n: (d.ht, d.customHeight) for n, d in ws.row_dimensions.items() if d.ht is not None or d.customHeight},
        "columns": {k: (d.width, d.customWidth) for k, d in ws.column_dimensions.items()},
        "merged": sorted(str(r) for r in ws.merged_cells.ranges),
        "validations": [_xml(v) for v in ws.data_validations.dataValidation],
        "freeze": ws.freeze_panes, "title rows": ws.print_title_rows, "print area": ws.print_area,
        "page setup": _xml(ws.page_setup), "properties": _xml(ws.sheet_properties),
        "margins": _xml(ws.page_margins), "print options": _xml(ws.print_options),
        "header and footer": _xml(ws.HeaderFooter), "protection": _xml(ws.protection), "state": ws.sheet_state,
        "views": _xml(ws.views),
    }


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _cells_as_written(part: bytes) -> dict[str, tuple]:
    """Each cell of a sheet part as written, but for its style's number (each writer numbers the styles its
    own way; openpyxl reads them back above): its type and its content's XML, xml:space included (which
    Excel obeys and openpyxl does not need)."""
    cells = {cell.get("r"): (cell.get("t"), b"".join(ElementTree.tostring(child) for child in cell))
             for cell in ElementTree.fromstring(part).iter(f"{_MAIN}c")}
    written_at = [f"B{reference[1:]}" for reference, (_, content) in cells.items()
                  if reference.startswith("A") and b">created_at<" in content]
    return {**cells, **{reference: "<when written>" for reference in written_at}}  # the second it was written in


def workbook_view(data: bytes) -> dict:
    """What a workbook is, as openpyxl reads it, plus the <dimension> and the cells each sheet part declares."""
    wb = load_workbook(io.BytesIO(data))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = {name: archive.read(name) for name in archive.namelist() if name.startswith("xl/worksheets/")}
    return {"sheets": wb.sheetnames, "active": wb.active.title, "security": _xml(wb.security),
            "defined names": sorted((n, str(d.value)) for n, d in wb.defined_names.items()),
            "dimensions": {name: re.findall(rb"<dimension [^>]*>", part) for name, part in parts.items()},
            "cells as written": {name: _cells_as_written(part) for name, part in parts.items()},
            **{f"sheet {ws.title}": _sheet_view(ws) for ws in wb.worksheets}}


def differences(a: dict, b: dict, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b), key=str):
            if key not in a or key not in b:
                out.append(f"{path}/{key}: only in {'the first' if key in a else 'the second'}")
            else:
                out += differences(a[key], b[key], f"{path}/{key}")
        return out
    return [] if a == b else [f"{path}: {str(a)[:200]!r} != {str(b)[:200]!r}"]


def assert_same_workbook(plan: Plan, year: int, department: str, *args) -> None:
    written = request_workbook(plan, year, department, *args)
    built = workbook_bytes(build_workbook(plan, year, department, *args))
    assert differences(workbook_view(written), workbook_view(built)) == [], department


@pytest.fixture(scope="module", params=sorted(PLANS))
def plan_case(request):
    config, year = PLANS[request.param]
    return load_plan(config), year, config


def test_each_departments_plain_workbook_is_the_one_openpyxl_builds(plan_case):
    plan, year, _ = plan_case
    for department in departments_on_form(plan, year):
        assert_same_workbook(plan, year, department)


def test_each_departments_filled_workbook_with_deadline_token_and_where_to_send_it_is_the_one_openpyxl_builds(
        plan_case):
    plan, year, config = plan_case
    results = load_results(config, year)
    with_results = 0
    for department in departments_on_form(plan, year):
        filled = department_results(plan, results, department)
        with_results += bool(filled)
        assert_same_workbook(plan, year, department, date(2025, 5, 30), filled, f"token-{department}",
                             "記入後、Slack の #提出 & <返信> に \"返信\" してください。")
    assert with_results >= len(departments_on_form(plan, year)) // 2, "most departments' example results are filled in"


def test_awkward_texts_in_every_input_cell_come_out_as_openpyxl_writes_them(plan_case):
    plan, year, config = plan_case
    results = load_results(config, year)
    for department in departments_on_form(plan, year)[:3]:
        filled = department_results(plan, results, department)
        for shift in range(3):
            odd = {key: result.model_copy(update={
                "actual": tuple(AWKWARD[(i + shift) % len(AWKWARD)] for i, _ in enumerate(result.actual)),
                "reason": AWKWARD[(n + shift + 3) % len(AWKWARD)],
                "highlight": (AWKWARD[(n + shift + 5) % len(AWKWARD)], AWKWARD[(n + shift + 7) % len(AWKWARD)])})
                for n, (key, result) in enumerate(filled.items())}
            assert_same_workbook(plan, year, department, None, odd, "=token&<>", "=提出 & <方法>\n二行目")


def _renamed(plan: Plan) -> Plan:
    """The plan with awkward names: the plan's, every department's, and each measure's and indicator's."""
    data = plan.model_dump()
    data["name"] = "計画 & <テスト> \"=1+1\""
    for number, department in enumerate(data["departments"]):
        department["name"] = f"{department['name']}&&{AWKWARD[number % 3]}<課>'"

    def rename(node: dict) -> None:
        for number, measure in enumerate(node["measures"]):
            measure["name"] = f"={measure['name']}&<{number}>"
            measure["indicator"] = f"{AWKWARD[number % len(AWKWARD)][:50]}\n{measure['indicator']}"
        for child in node["children"]:
            rename(child)

    for node in data["tree"]:
        rename(node)
    return Plan.model_validate(data)


def test_awkward_plan_department_measure_and_indicator_names_come_out_as_openpyxl_writes_them(plan_case):
    plan, year, _ = plan_case
    renamed = _renamed(plan)
    for department in departments_on_form(renamed, year):
        assert_same_workbook(renamed, year, department, date(2025, 12, 31), None, "token")


def test_the_comparison_sees_a_difference_in_any_one_cell(plan_case):
    plan, year, _ = plan_case
    department = departments_on_form(plan, year)[0]
    written = workbook_view(request_workbook(plan, year, department, date(2025, 5, 30)))
    built = workbook_view(workbook_bytes(build_workbook(plan, year, department, date(2025, 5, 29))))
    assert differences(written, built)
    written = workbook_view(request_workbook(plan, year, department, None, None, "token-a"))
    built = workbook_view(workbook_bytes(build_workbook(plan, year, department, None, None, "token-b")))
    assert [d.split(":")[0] for d in differences(written, built)] == [
        "/cells as written/xl/worksheets/sheet3.xml/B9", f"/sheet {META_SHEET}/cells/B9"]

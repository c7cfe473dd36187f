"""Read a returned form — a workbook or a CSV — into a `Form` of text cells. Nothing is evaluated:
a formula is reported as a formula, never computed, and every value comes back as text.

Two workbook readers are available: python-calamine (the default) and openpyxl. Reading 500 request
workbooks took about 1 s with calamine against 3.6 s with openpyxl here, the shared safety checks
included (benchmarks/bench_intake.py). Calamine does not expose formulas, so formula cells are found
in the sheet XML itself, the same way for both readers.

The columns naming the measure are titled in the plan's own word (`measure_label`: 事業番号 for a plan
of 事業). The default titles (施策番号, 施策名) are accepted too, so a form written before a plan named
its measures its own way is still read; what the readers say names the columns in the plan's word.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from datetime import date, datetime, time, timedelta
from xml.etree import ElementTree

from openpyxl.utils import column_index_from_string, get_column_letter

from .layout import (
    COLUMNS,
    CSV_DEPARTMENT,
    CSV_YEAR,
    DEFAULT_MEASURE_LABEL,
    FIRST_ROW,
    FORMAT_VERSION,
    HEADER_ROW,
    INPUT_SHEET,
    META_SHEET,
    columns,
    key_title,
)
from .safety import DEFAULT_LIMITS, RESUBMIT, Limits, Refused, check_size, check_workbook_container
from .submission import Form, FormCell, FormRow

READERS = ("calamine", "openpyxl")
DEFAULT_READER = "calamine"
MAX_ROWS = 20_000
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")
_CELL_REF = re.compile(r"^([A-Z]+)(\d+)$")
_NEUTRALISED = re.compile(r"^'(?=[=+\-@\t\r])")  # what tenken.csvsafe adds before a formula-like cell


def cell_text(value: object) -> str:
    """A cell's value as the text a person sees; numbers without a trailing .0."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value).replace("\r\n", "\n").replace("\r", "\n")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> path of its XML part inside the archive."""
    workbook = ElementTree.fromstring(_xml(archive, "xl/workbook.xml"))
    rels = ElementTree.fromstring(_xml(archive, "xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target", "") for r in rels if _local(r.tag) == "Relationship"}
    parts = {}
    for sheet in workbook.iter():
        if _local(sheet.tag) == "sheet":
            target = targets.get(sheet.get(f"{{{_REL_NS}}}id"), "")
            parts[sheet.get("name")] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return parts


def _xml(archive: zipfile.ZipFile, name: str) -> bytes:
    data = archive.read(name)
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise Refused(f"ブックに想定外の定義（DOCTYPE）が含まれているため読み込めません。{RESUBMIT}")
    return data


def formula_cells(xml: bytes) -> dict[str, str]:
    """Cells of a sheet part that hold a formula: reference -> formula text (as written, not computed)."""
    if not _FORMULA_TAG.search(xml):
        return {}
    found: dict[str, str] = {}
    root = ElementTree.fromstring(xml)
    for row in root.iter():
        if _local(row.tag) != "row":
            continue
        row_number = row.get("r")
        column = 0
        for cell in row:
            if _local(cell.tag) != "c":
                continue
            ref = cell.get("r")
            if ref and (match := _CELL_REF.match(ref)):
                column = column_index_from_string(match[1])
                row_number = match[2]
            else:
                column += 1
                ref = f"{get_column_letter(column)}{row_number}"
            formula = next((child for child in cell if _local(child.tag) == "f"), None)
            if formula is not None:
                # A cell sharing another cell's formula carries no text of its own.
                found[ref] = f"={formula.text.strip()}" if formula.text else "=（共有数式）"
    return found


def _read_calamine(data: bytes, names: tuple[str, ...]) -> dict[str, list[list[object]]]:
    from python_calamine import CalamineWorkbook

    with CalamineWorkbook.from_filelike(io.BytesIO(data)) as workbook:
        out = {}
        for name in names:
            if name in workbook.sheet_names:
                sheet = workbook.get_sheet_by_name(name)
                if sheet.height > MAX_ROWS:
                    raise Refused(f"シート「{name}」の行が多すぎます（{sheet.height:,}行）。{RESUBMIT}")
                out[name] = sheet.to_python(skip_empty_area=False)
        return out


def _read_openpyxl(data: bytes, names: tuple[str, ...]) -> dict[str, list[list[object]]]:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
    try:
        out = {}
        for name in names:
            if name in workbook.sheetnames:
                sheet = workbook[name]
                if (sheet.max_row or 0) > MAX_ROWS:
                    raise Refused(f"シート「{name}」の行が多すぎます（{sheet.max_row:,}行）。{RESUBMIT}")
                out[name] = [list(r) for r in sheet.iter_rows(min_row=1, min_col=1, values_only=True)]
        return out
    finally:
        workbook.close()


def _cell(rows: list[list[object]], row: int, column: int) -> str:
    """Text at 1-based (row, column), '' outside the data."""
    if row - 1 < len(rows) and column - 1 < len(rows[row - 1]):
        return cell_text(rows[row - 1][column - 1])
    return ""


def _default_titles() -> dict[str, str]:
    """Column id -> title with the default label: accepted besides the plan's own titles."""
    return {c.id: c.title for c in COLUMNS}


def read_workbook(data: bytes, limits: Limits = DEFAULT_LIMITS, reader: str = DEFAULT_READER,
                  measure_label: str = DEFAULT_MEASURE_LABEL) -> Form:
    """A returned request workbook as a Form. Raises Refused for what cannot be read safely.
    `measure_label` is the plan's word for a measure, which titles the measure's columns."""
    check_workbook_container(data, limits)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        parts = _sheet_parts(archive)
        sheets = (_read_calamine if reader == "calamine" else _read_openpyxl)(data, (INPUT_SHEET, META_SHEET))
        formulas = {name: formula_cells(_xml(archive, parts[name])) for name in sheets if parts.get(name) in
                    archive.namelist()}
    except Refused:
        raise
    except Exception:  # noqa: BLE001 — whatever a parser chokes on in received bytes is the sender's to fix
        raise Refused("Excel ブックを読み込めませんでした（ファイルが壊れているか、形式が違います）。"
                      f"{RESUBMIT}") from None
    if META_SHEET not in sheets:
        raise Refused("このファイルは点検の依頼ファイルではありません（依頼ファイルの識別情報がありません）。"
                      "お送りした依頼ファイルに入力して提出してください。")
    if formulas.get(META_SHEET):
        raise Refused("依頼ファイルの識別情報が変更されています。"
                      "お送りした依頼ファイルに入力し直して提出してください。")
    meta_rows = sheets[META_SHEET]
    meta = {_cell(meta_rows, r, 1): _cell(meta_rows, r, 2) for r in range(1, len(meta_rows) + 1)}
    if meta.get("format") != str(FORMAT_VERSION):
        raise Refused("この依頼ファイルの様式は、このシステムでは読み込めません。"
                      "最新の依頼ファイルに入力して提出してください。")
    department = meta.get("department") or None
    if INPUT_SHEET not in sheets:
        raise Refused(f"シート「{INPUT_SHEET}」がありません。"
                      "お送りした依頼ファイルのシートを削除・改名せずに提出してください。",
                      department)
    rows = sheets[INPUT_SHEET]
    sheet_formulas = formulas.get(INPUT_SHEET, {})
    default_titles = _default_titles()
    for column in columns(measure_label):
        written = _cell(rows, HEADER_ROW, column_index_from_string(column.letter))
        if written not in (column.title, default_titles[column.id]):
            raise Refused(f"シート「{INPUT_SHEET}」のセル {column.letter}{HEADER_ROW} の見出しが「{column.title}」から"
                          f"「{written}」に変わっています。列の挿入・削除・移動をせずに、お送りした依頼ファイルに入力してください。",
                          department)
    form_rows = []
    for number in range(FIRST_ROW, len(rows) + 1):
        cells = {}
        for column in COLUMNS:
            ref = f"{column.letter}{number}"
            text = _cell(rows, number, column_index_from_string(column.letter))
            formula = sheet_formulas.get(ref)
            cells[column.id] = FormCell(ref, formula if formula is not None else text, formula is not None)
        form_rows.append(FormRow(number, cells))
    covered = {cell.ref for row in form_rows for cell in row.cells.values()}
    stray = tuple(FormCell(ref, text, True) for ref, text in sheet_formulas.items() if ref not in covered)
    return Form(kind="xlsx", sheet=INPUT_SHEET, fiscal_year=meta.get("fiscal_year", ""),
                department=meta.get("department", ""), rows=tuple(form_rows), strict=True, stray_formulas=stray)


def decode_csv(data: bytes) -> str:
    """UTF-8 (with or without BOM) or Shift_JIS (cp932, as Excel saves it in Japan)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict")
    for encoding in ("utf-8", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise Refused("CSV の文字コードを判別できません。UTF-8 または Shift_JIS で保存して提出してください。")


def read_csv(data: bytes, limits: Limits = DEFAULT_LIMITS, measure_label: str = DEFAULT_MEASURE_LABEL) -> Form:
    """A form returned as CSV with the workbook's columns plus 年度 and 所属 (header names, any order).
    `measure_label` is the plan's word for a measure, which titles the measure's columns."""
    check_size(len(data), limits)
    try:
        text = decode_csv(data)
    except UnicodeDecodeError:
        raise Refused("CSV の文字コードを判別できません。UTF-8 または Shift_JIS で保存して提出してください。") from None
    if "\x00" in text:
        raise Refused("このファイルは CSV（文字のファイル）ではありません。"
                      "依頼ファイル（.xlsx）か CSV で提出してください。")
    try:
        lines = [row for row in csv.reader(io.StringIO(text, newline=""))]
    except csv.Error:
        raise Refused("CSV の形式が正しくありません（引用符の対応などを確認してください）。") from None
    lines = [(n, row) for n, row in enumerate(lines, 1) if any(v.strip() for v in row)]
    if not lines:
        raise Refused("CSV にデータがありません。")
    header_line, header = lines[0]
    titles = {c.title: c.id for c in columns(measure_label)}
    titles.update({CSV_YEAR: "year", CSV_DEPARTMENT: "department", "所属コード": "department"})
    title_of = {v: k for k, v in titles.items() if k != "所属コード"}
    accepted = {**{title: i for i, title in _default_titles().items()}, **titles}
    ids = []
    for position, title in enumerate(header, 1):
        name = unicodedata.normalize("NFKC", title).strip()
        if name not in accepted:
            raise Refused(f"CSV の{header_line}行目（見出し）の{position}列目「{title}」は不明な列です。"
                          f"見出しは依頼の CSV と同じにしてください（{'、'.join(titles)}）。")
        ids.append(accepted[name])
    missing = [t for t, i in ((CSV_YEAR, "year"), (CSV_DEPARTMENT, "department"), (key_title(measure_label), "key"),
                              ("実績", "actual")) if i not in ids]
    if missing:
        raise Refused(f"CSV に列「{'」「'.join(missing)}」がありません。依頼の CSV と同じ見出しにしてください。")
    rows, years, departments = [], set(), set()
    for number, values in lines[1:]:
        if any(v.strip() for v in values[len(ids):]):
            raise Refused(f"CSV の{number}行目は見出しより列が多くなっています。"
                          "値の中の「,」は \"…\" で囲んでください。")
        cells = {}
        for column_id, raw in zip(ids, values, strict=False):  # trailing empty cells may be left out
            value = _NEUTRALISED.sub("", raw.replace("\r\n", "\n"))
            cells[column_id] = FormCell(f"{number}行目「{title_of[column_id]}」", value, value.startswith("="))
        years.add(cells.get("year", FormCell("", "")).text.strip())
        departments.add(cells.get("department", FormCell("", "")).text.strip())
        rows.append(FormRow(number, cells))
    if len(years) > 1 or len(departments) > 1:
        raise Refused("CSV の「年度」「所属」はすべての行で同じにしてください（1つの所属・1つの年度につき1ファイル）。")
    return Form(kind="csv", sheet=None, fiscal_year=years.pop() if years else "",
                department=departments.pop() if departments else "", rows=tuple(rows), strict=False)

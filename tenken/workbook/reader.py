"""Read a returned form — a workbook or a CSV — into a `Form` of text cells. Nothing is evaluated:
a formula is reported as a formula, never computed, and every value comes back as text.

Two workbook readers are available: python-calamine (the default) and openpyxl. Reading 500 request
workbooks took about 1 s with calamine against 3.6 s with openpyxl here, the shared safety checks
included (benchmarks/bench_intake.py). Calamine does not expose formulas, so formula cells are found
in the sheet XML itself, the same way for both readers.

Before either reader runs, `safety.check_workbook` bounds what it would build (part sizes, XML
elements, each sheet's used range and cells); the readers then take only the rows found there and
the columns the layout needs, so reading any file costs a few seconds and a few hundred MB at most.
A CSV is read record by record and refused as soon as it passes a limit (records, fields, field length).

The columns naming the measure are titled in the plan's own word (`measure_label`: 事業番号 for a plan
of 事業). The default titles (施策番号, 施策名) are accepted too, so a form written before a plan named
its measures its own way is still read; what the readers say names the columns in the plan's word.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from datetime import date, datetime, time, timedelta
from itertools import islice
from xml.etree import ElementTree

from openpyxl.utils import column_index_from_string, get_column_letter

from tenken.csvsafe import needs_guard

from .layout import (
    COLUMNS,
    CSV_DEPARTMENT,
    CSV_TOKEN,
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
from .safety import DEFAULT_LIMITS, RESUBMIT, UNREADABLE, Limits, Refused, SheetExtent, check_size, check_workbook
from .submission import Form, FormCell, FormRow

READERS = ("calamine", "openpyxl")
DEFAULT_READER = "calamine"
MAX_ROWS = DEFAULT_LIMITS.max_rows
EXCEL_MAX_COLUMNS = 16_384  # no CSV that Excel writes has more fields in a line
# The columns read from each sheet: the form's (A..L) and the hidden sheet's key and value (A..B).
WIDTHS = {INPUT_SHEET: max(column_index_from_string(c.letter) for c in COLUMNS), META_SHEET: 2}
_FORMULA_TAG = re.compile(rb"<(?:[^\s<>/!?:=\"']++:)?f[\s>/]")
_CELL_REF = re.compile(r"^([A-Z]+)(\d+)$")
_NEUTRALISED = re.compile(r"^'(?=[=+\-@\t\r])")  # what tenken.csvsafe adds before a formula-like cell


def cell_text(value: object) -> str:
    """A cell's value as the text a person sees; numbers without a trailing .0."""
    if value is None:
        return ""
    if type(value) is str:  # the common case first: most cells of a form are text, many empty
        return value if "\r" not in value else value.replace("\r\n", "\n").replace("\r", "\n")
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


def formula_cells(xml: bytes) -> dict[str, str]:
    """Cells of a sheet part that hold a formula: reference -> formula text (as written, not computed).
    Streams the part and drops each element once read (but a cell's, until the cell is): no tree of
    the sheet is ever built."""
    if not _FORMULA_TAG.search(xml):
        return {}
    found: dict[str, str] = {}
    path: list[ElementTree.Element] = []  # the open elements
    in_cell, row_number, column = 0, 0, 0  # in_cell: depth of the open <c>, 0 outside one
    for event, element in ElementTree.iterparse(io.BytesIO(xml), events=("start", "end")):
        tag = _local(element.tag)
        if event == "start":
            path.append(element)
            if tag == "row" and not in_cell:
                r = element.get("r")
                row_number, column = int(r) if r and r.isdigit() else row_number + 1, 0
            elif tag == "c" and not in_cell and len(path) > 1 and _local(path[-2].tag) == "row":
                in_cell = len(path)
            continue
        if in_cell == len(path):
            in_cell = 0
            ref = element.get("r")
            if ref and (match := _CELL_REF.match(ref)):
                column = column_index_from_string(match[1])
                row_number = int(match[2])
            else:
                column += 1
                ref = f"{get_column_letter(column)}{row_number}"
            formula = next((child for child in element if _local(child.tag) == "f"), None)
            if formula is not None:
                # A cell sharing another cell's formula carries no text of its own.
                found[ref] = f"={formula.text.strip()}" if formula.text else "=（共有数式）"
        path.pop()
        if not in_cell and path:
            path[-1].remove(element)  # (not by position: the parser may have read ahead of the events)
    return found


Bounds = dict[str, tuple[SheetExtent, int]]  # sheet name -> its extent, and the columns to keep


def _read_calamine(data: bytes, bounds: Bounds) -> dict[str, list[list[object]]]:
    from python_calamine import CalamineWorkbook

    try:
        with CalamineWorkbook.from_filelike(io.BytesIO(data)) as workbook:
            out = {}
            for name, (extent, width) in bounds.items():
                if name in workbook.sheet_names:
                    sheet = workbook.get_sheet_by_name(name)
                    end = sheet.end or (-1, -1)
                    if end[0] >= extent.rows or end[1] >= extent.columns:
                        raise Refused(UNREADABLE)  # calamine placed a cell where the checks saw none
                    out[name] = [row[:width] for row in sheet.to_python(skip_empty_area=False)]
            return out
    except BaseException as exc:
        if type(exc).__name__ == "PanicException":  # a Rust panic, which is not an Exception
            raise Refused(UNREADABLE) from None
        raise


def _read_openpyxl(data: bytes, bounds: Bounds) -> dict[str, list[list[object]]]:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
    try:
        out = {}
        for name, (extent, width) in bounds.items():
            if name in workbook.sheetnames:
                # Explicit bounds: openpyxl would otherwise pad every row to the declared <dimension>.
                rows = workbook[name].iter_rows(min_row=1, max_row=extent.rows, min_col=1, max_col=width,
                                                values_only=True) if extent.rows else ()
                out[name] = [list(r) for r in islice(rows, extent.rows)]
        return out
    finally:
        workbook.close()


def _cell(rows: list[list[object]], row: int, column: int) -> str:
    """Text at 1-based (row, column), '' outside the data."""
    if row - 1 < len(rows) and column - 1 < len(rows[row - 1]):
        return cell_text(rows[row - 1][column - 1])
    return ""


def _text(rows: list[list[object]], row: int, column: int, sheet: str, limits: Limits) -> str:
    """`_cell`, refused beyond the length Excel itself allows in a cell."""
    text = _cell(rows, row, column)
    if len(text) > limits.max_cell_chars:
        raise Refused(f"シート「{sheet}」のセル {get_column_letter(column)}{row} の文字が多すぎます（{len(text):,}文字、"
                      f"上限 {limits.max_cell_chars:,}文字）。長い文章は要約して入力し、{RESUBMIT}")
    return text


def _default_titles() -> dict[str, str]:
    """Column id -> title with the default label: accepted besides the plan's own titles."""
    return {c.id: c.title for c in COLUMNS}


def read_workbook(data: bytes, limits: Limits = DEFAULT_LIMITS, reader: str = DEFAULT_READER,
                  measure_label: str = DEFAULT_MEASURE_LABEL) -> Form:
    """A returned request workbook as a Form. Raises Refused for what cannot be read safely.
    `measure_label` is the plan's word for a measure, which titles the measure's columns."""
    checked = check_workbook(data, limits, keep=WIDTHS)
    empty = SheetExtent(0, 0, 0)
    bounds = {name: (checked.extents.get(name, empty), width) for name, width in WIDTHS.items()}
    try:
        sheets = (_read_calamine if reader == "calamine" else _read_openpyxl)(data, bounds)
        formulas = {name: formula_cells(checked.xml[name]) for name in sheets if name in checked.xml}
    except Refused:
        raise
    except Exception:  # noqa: BLE001 — whatever a parser chokes on in received bytes is the sender's to fix
        raise Refused(UNREADABLE) from None
    if META_SHEET not in sheets:
        raise Refused("このファイルは点検の依頼ファイルではありません（依頼ファイルの識別情報がありません）。"
                      "お送りした依頼ファイルに入力して提出してください。")
    if formulas.get(META_SHEET):
        raise Refused("依頼ファイルの識別情報が変更されています。"
                      "お送りした依頼ファイルに入力し直して提出してください。")
    meta_rows = sheets[META_SHEET]
    meta = {_text(meta_rows, r, 1, META_SHEET, limits): _text(meta_rows, r, 2, META_SHEET, limits)
            for r in range(1, len(meta_rows) + 1)}
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
        written = _text(rows, HEADER_ROW, column_index_from_string(column.letter), INPUT_SHEET, limits)
        if written not in (column.title, default_titles[column.id]):
            raise Refused(f"シート「{INPUT_SHEET}」のセル {column.letter}{HEADER_ROW} の見出しが「{column.title}」から"
                          f"「{written}」に変わっています。列の挿入・削除・移動をせずに、お送りした依頼ファイルに入力してください。",
                          department)
    form_rows = []
    positions = [(column.id, column.letter, column_index_from_string(column.letter)) for column in COLUMNS]
    for number in range(FIRST_ROW, len(rows) + 1):
        cells = {}
        values = rows[number - 1]
        for column_id, letter, index in positions:
            ref = f"{letter}{number}"
            text = cell_text(values[index - 1]) if index <= len(values) else ""  # _text, without a call per cell
            if len(text) > limits.max_cell_chars:
                _text(rows, number, index, INPUT_SHEET, limits)  # refused, naming the cell
            formula = sheet_formulas.get(ref)
            cells[column_id] = FormCell(ref, formula if formula is not None else text, formula is not None)
        form_rows.append(FormRow(number, cells))
    covered = {cell.ref for row in form_rows for cell in row.cells.values()}
    stray = tuple(FormCell(ref, text, True) for ref, text in sheet_formulas.items() if ref not in covered)
    return Form(kind="xlsx", sheet=INPUT_SHEET, fiscal_year=meta.get("fiscal_year", ""),
                department=meta.get("department", ""), rows=tuple(form_rows), strict=True, stray_formulas=stray,
                token=meta.get("token", ""), request_version=meta.get("request_version", ""))


def read_form(data: bytes, file_format: str, limits: Limits = DEFAULT_LIMITS, reader: str = DEFAULT_READER,
              measure_label: str = DEFAULT_MEASURE_LABEL) -> Form:
    """A returned form: a request workbook (file_format "xlsx") or its CSV ("csv"). Raises Refused."""
    if file_format == "xlsx":
        return read_workbook(data, limits, reader, measure_label)
    return read_csv(data, limits, measure_label)


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


# Fields as csv.reader reads them (not strict). A quote opens a field only at its start; a field so
# opened runs to the next lone quote, across lines. Only two ways of it stop this expression short: a
# quote left open to the end, and one "closed" by a quote of a later line (then followed by other text).
_FIELD = (r'"(?:[^"]++|"")*+"(?=[,\r\n]|\Z)'  # quoted, and closed where a field ends
          r'|"(?:[^"\r\n]++|"")*+"[^,\r\n]*+'  # quoted on one line, more text after it (read as text)
          r'|[^",\r\n][^,\r\n]*+|')  # not quoted, or empty
_CSV_FIELDS = re.compile(r"(?:(?:" + _FIELD + r")(?:,|\r\n|\r|\n))*+")
_CSV_LAST_FIELD = re.compile(r"(?:" + _FIELD + r")\Z")


def _unclosed_quote(text: str) -> int | None:
    """The record (1-based, as csv counts them) in which a quoted field opens and is never properly
    closed, or None. Such a quote swallows the lines after it: rows would go missing or shift."""
    at = _CSV_FIELDS.match(text).end()
    if at == len(text) or _CSV_LAST_FIELD.match(text, at):
        return None
    before = text[:at]
    records = sum(1 for _ in csv.reader(io.StringIO(before, newline="")))
    return records + 1 if not before or before.endswith(("\n", "\r")) else records


def _csv_records(text: str, limits: Limits) -> list[tuple[int, list[str]]]:
    """(record number, values) of the records with a value, read one by one and refused at the first
    that passes a limit, before anything is built from them."""
    if (record := _unclosed_quote(text)) is not None:
        raise Refused(f'CSV の{record}行目で始まる引用符（"）が閉じられていません。値を "…" で囲むときは最後にも'
                      '「"」を付け、値の中の「"」は「""」と2つ重ねてください。')
    too_long = ("CSV の{}行目に長すぎる値があります（{}上限 " f"{limits.max_cell_chars:,}文字）。"
                "長い文章は要約して入力してください。")
    records, number = [], 0
    try:
        for values in csv.reader(io.StringIO(text, newline="")):
            number += 1
            if number > limits.max_rows:
                raise Refused(f"CSV の行が多すぎます（上限 {limits.max_rows:,}行）。"
                              "依頼の CSV の行だけを残して提出してください。")
            if len(values) > EXCEL_MAX_COLUMNS:
                raise Refused(f"CSV の{number}行目の列が多すぎます（{len(values):,}列）。"
                              "依頼の CSV と同じ列だけにして提出してください。")
            if (longest := max(map(len, values), default=0)) > limits.max_cell_chars:
                raise Refused(too_long.format(number, f"{longest:,}文字、"))
            if any(v.strip() for v in values):
                records.append((number, values))
    except csv.Error as error:  # a field longer than csv's own limit (131,072), or what else csv cannot read
        if "field larger than field limit" in str(error):
            raise Refused(too_long.format(number + 1, "")) from None
        raise Refused(f"CSV の{number + 1}行目の形式が正しくありません（引用符の対応などを確認してください）。"
                      ) from None
    return records


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
    lines = _csv_records(text, limits)
    if not lines:
        raise Refused("CSV にデータがありません。")
    header_line, header = lines[0]
    titles = {c.title: c.id for c in columns(measure_label)}
    titles.update({CSV_YEAR: "year", CSV_DEPARTMENT: "department", "所属コード": "department", CSV_TOKEN: "token"})
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
    rows, years, departments, tokens = [], set(), set(), set()
    for number, values in lines[1:]:
        if any(v.strip() for v in values[len(ids):]):
            raise Refused(f"CSV の{number}行目は見出しより列が多くなっています。"
                          "値の中の「,」は \"…\" で囲んでください。")
        cells = {}
        for column_id, raw in zip(ids, values, strict=False):  # trailing empty cells may be left out
            value, neutralised = _NEUTRALISED.subn("", raw.replace("\r\n", "\n"))
            # What a spreadsheet would run: =…; and, unless written as text ('…), @…, +cmd|…, -2+3+… (not
            # a signed number such as -3件 or +1.6%(※), see tenken.csvsafe).
            formula = value.startswith("=") or (not neutralised and value.startswith(("+", "-", "@"))
                                                and needs_guard(value, keep_values=True))
            cells[column_id] = FormCell(f"{number}行目「{title_of[column_id]}」", value, formula)
        years.add(cells.get("year", FormCell("", "")).text.strip())
        departments.add(cells.get("department", FormCell("", "")).text.strip())
        tokens.add(cells.pop("token", FormCell("", "")).text.strip())
        rows.append(FormRow(number, cells))
    if len(years) > 1 or len(departments) > 1:
        raise Refused("CSV の「年度」「所属」はすべての行で同じにしてください（1つの所属・1つの年度につき1ファイル）。")
    return Form(kind="csv", sheet=None, fiscal_year=years.pop() if years else "",
                department=departments.pop() if departments else "", rows=tuple(rows), strict=False,
                # Rows that disagree carry no one token: checked (and refused) as a wrong one.
                token=tokens.pop() if len(tokens) == 1 else ("\x00differs" if tokens else ""))

"""Write a department's request workbook (and its CSV equivalent) for a cycle.

The workbook identifies its cycle and department in a very hidden, protected sheet, so the file
name does not matter. Every cell but the input cells is locked and the sheet protected; intake
still compares the locked cells with the plan, because protection is a guide, not a guard.

The form is laid out for a clerk who reads it on screen and prints it for the section chief: every cell
wraps within its column, each row is as tall as its longest wrapped cell (spreadsheets do not fit rows
to wrapped text when they open a file, so the heights are estimated here from the text, erring towards
more lines), the header row is frozen and repeated on every printed page, both sheets print on A4
landscape one page wide, each input column says what to type when a cell is selected, and the form
says how to send it back. A lower-is-better target reads 「…（少ないほど良い）」 (shown by a number format,
the value stays the target); a plan without cause tags gets no 要因 input, step or drop-down.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Iterable
from copy import copy
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from unicodedata import east_asian_width
from xml.etree import ElementTree

from openpyxl import Workbook
from openpyxl.cell import Cell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.styles.fonts import DEFAULT_FONT
from openpyxl.utils.exceptions import IllegalCharacterError
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.header_footer import HeaderFooter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

from tenken.core.plan import Department, Plan
from tenken.core.results import MeasureResult
from tenken.core.wareki import wareki_date, wareki_year
from tenken.csvsafe import to_csv
from tenken.identity import REQUEST_VERSION

from .layout import (
    COLUMNS,
    CSV_TOKEN,
    FIRST_ROW,
    FORMAT_VERSION,
    GUIDE_SHEET,
    HEADER_ROW,
    INPUT_SHEET,
    LOWER_IS_BETTER,
    META_SHEET,
    SELF_RATINGS,
    TemplateRow,
    columns,
    csv_header,
    template_rows,
)

INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
CLOSED_FILL = PatternFill("solid", fgColor="EDEDED")
HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
THIN = Side(style="thin", color="999999")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="top")
HEADER_ALIGNMENT = Alignment(wrap_text=True, vertical="center", horizontal="center")
WEEKDAYS = "月火水木金土日"
# Where a department sends the filled form, when the caller does not say (tenken.services.opening does).
DEFAULT_SUBMIT = "記入後、このファイルを受け取ったメッセージ（Slack のスレッドなど）に返信して提出してください。"

# Wrapped text, estimated. Widths are in Excel's column unit, the width of a digit of the default font
# (Calibri 11 pt, about 5.25 pt); a full-width character of 11 pt is about 2.1 of them. Every estimate
# errs towards more lines: a cut cell is the bug, some air below the text is not.
WIDE_UNITS = 2.2  # a full-width character (kanji, kana, full-width marks and digits)
NARROW_UNITS = 1.15  # anything else (the substitute for Calibri may be wider than Calibri)
CELL_PADDING_UNITS = 1.5  # a cell's inner margins
FILL = 0.9  # a wrapped line is not full: it breaks before a word, or a mark that may not begin a line
LINE_POINTS = 16.0  # one line of 11 pt text: Japanese fonts have tall lines
ROW_PADDING_POINTS = 6.0
MAX_ROW_POINTS = 409.0  # Excel's limit
TEXT_SIZES = (11, 10, 9, 8)  # a cell too long for the tallest row at 11 pt is set smaller, down to 8 pt
BOLD = 1.05  # bold type is a little wider
INPUT_MIN_LINES = 3  # room for a reason or a highlight being typed (rows can still be resized)
# The instructions' one column: inside A4 landscape at 100 % even where the default font's digit is wider
# than Calibri's (LibreOffice without Calibri or Carlito: about 7 pt a unit). A single column wider than
# the page is clipped, not shrunk: fit-to-width counts pages, and one column is one page wide.
GUIDE_WIDTH = 100
PROMPT_TITLE_CHARS = 32  # Excel's limits for an input message
PROMPT_CHARS = 255
# A lower-is-better target is shown followed by LOWER_IS_BETTER: a number format for text (Excel, LibreOffice
# and the print show it), so the cell's value is still the plan's target, as intake expects it back.
LOWER_IS_BETTER_FORMAT = f'@"{LOWER_IS_BETTER}"'
LOWER_IS_BETTER_NOTE = (f"目標に「{LOWER_IS_BETTER}」と付いた指標は、値が小さいほど良い指標です"
                        "（実績が目標の値以下であれば達成です）。")


def set_text(cell: Cell, value: str) -> None:
    """Put text in a cell as text: openpyxl would turn a string starting with '=' into a formula."""
    cell.value = value
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"


def deadline_text(deadline: date | None) -> str:
    if deadline is None:
        return "提出期限: 別途お知らせします"
    return f"提出期限: {wareki_date(deadline)}（{WEEKDAYS[deadline.weekday()]}）"


def guide_lines(plan: Plan, fiscal_year: int, department: Department, deadline: date | None,
                submit_to: str | None = None) -> list[str]:
    rows = template_rows(plan, fiscal_year, department.key)
    causes = "、".join(t.label for t in plan.rating.cause_tags)
    actual = ("実績: 目標と同じ単位を付けて入力してください（例: 10,000人、75.3%）。全角の数字でも構いません。"
              "把握できなかった場合は「未把握」と入力してください。(1)(2)…と項目が分かれている指標は、項目の行ごとに入力します。")
    if any(row.lower_is_better for row in rows):
        actual += LOWER_IS_BETTER_NOTE
    steps = [
        ("「実績入力」シートの黄色のセルに入力してください。それ以外のセルは変更できません。"
         "行・列・シートの追加や削除もしないでください（変更されたファイルは受け付けられません）。"
         "セルを選ぶと、入力する内容と例が表示されます。"),
        actual,
        (f"自己評価: 定性的な指標の{plan.measure_label}だけ、{'・'.join(SELF_RATINGS)}から選んでください"
         "（◎ 目標を上回った、○ 達成、△ 未達成）。数値の指標は自動で判定します。"),
        "未達成の理由及び今後の見込み等: 目標に届かなかった場合は必ず入力してください。",
        # A plan without cause tags asks for no 要因 (the cell is closed): no step for it.
        *([f"要因: 未達成の場合は、主な要因を選んでください（{causes}）。"] if causes else []),
        ("主な取組: 報告書の「主な取組」に載せる今年度の成果があれば、1〜2文で入力してください。"
         "段落を分けるときはセル内で改行（Alt+Enter）してください。"),
        "数式は入力しないでください。数式の入ったセルがあるファイルは受け付けられません。値を直接入力してください。",
        ("入力が終わったら、Excel ブック（.xlsx）のまま、上の「提出方法」のとおり提出してください。"
         "問題があった場合は、問題のセルに色とコメントを付けたファイルをお返しします。"),
        ("提出後に修正する場合は、修正したファイルをもう一度提出してください。"
         "最後に受け付けたファイルが有効になります。以前に提出したファイルも記録として保存されます。"),
    ]
    return [
        f"{plan.name} {wareki_year(fiscal_year)}点検 実績入力票の記入方法",
        "",
        f"このファイルは{department.name}の{wareki_year(fiscal_year)}の点検の依頼ファイルです。{deadline_text(deadline)}",
        f"提出方法: {submit_to or DEFAULT_SUBMIT}",
        "所属と年度はファイルの中の情報で確認しますので、ファイル名は変えても構いません。",
        "",
        *(f"{number}. {step}" for number, step in enumerate(steps, 1)),
    ]


def text_units(text: str) -> float:
    """How wide a line of text is, in column width units (full-width characters count about 2)."""
    if text.isascii():
        return len(text) * NARROW_UNITS
    wide = sum(1 for ch in text if east_asian_width(ch) in "WFA")  # A: ◎○△※… are full-width in Japanese fonts
    return wide * WIDE_UNITS + (len(text) - wide) * NARROW_UNITS


def wrapped_lines(text: str, width: float, scale: float = 1.0) -> int:
    """Lines `text` takes wrapped in a column `width` units wide (`scale` for larger or bold type), at least 1."""
    room = max(width - CELL_PADDING_UNITS, 1.0)
    lines = 0
    for paragraph in text.split("\n"):
        units = text_units(paragraph) * scale
        lines += 1 if units <= room else math.ceil(units / (room * FILL))
    return lines


def row_points(lines: int, size: float = 11) -> float:
    """An explicit row height (points) for `lines` lines of `size` pt text; Excel's maximum at most."""
    return min(MAX_ROW_POINTS, lines * LINE_POINTS * size / 11 + ROW_PADDING_POINTS)


def text_points(text: str, width: float, size: float = 11, bold: bool = False) -> float:
    """The row height (points) that shows `text` whole, wrapped in a column `width` units wide."""
    return row_points(wrapped_lines(text, width, size / 11 * (BOLD if bold else 1.0)), size)


@lru_cache(maxsize=1 << 16)  # the same targets, units and kinds recur in every department's form
def fitted(text: str, width: float) -> tuple[float, int]:
    """The row height (points) that shows a form cell's `text` whole, and the type size (points) that lets it:
    11, or less for a text longer than Excel's tallest row holds at 11 pt."""
    for size in TEXT_SIZES:
        lines = wrapped_lines(text, width, size / 11)
        if lines * LINE_POINTS * size / 11 + ROW_PADDING_POINTS <= MAX_ROW_POINTS:
            return row_points(lines, size), size
    return MAX_ROW_POINTS, TEXT_SIZES[-1]


def _header_footer_text(text: str) -> str:
    return text.replace("&", "&&")  # & starts a code in a page header


def _page_setup(ws: Worksheet) -> None:
    """A4 landscape, one page wide and as many tall as needed."""
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.75, bottom=0.6, header=0.3, footer=0.3)
    ws.print_options.horizontalCentered = True


def _page_header(department: Department, deadline: date | None, title: str) -> tuple[str, str, str]:
    """The page header's texts, left to right: the department, the title, the deadline."""
    return f"所属: {department.name}", title, deadline_text(deadline)


def _header_footer(hf: HeaderFooter, texts: tuple[str, str, str]) -> None:
    """The page header's texts (_page_header) on top of every printed page, the page number at the bottom."""
    header = hf.oddHeader
    header.left.text, header.center.text, header.right.text = map(_header_footer_text, texts)
    header.left.size = header.center.size = header.right.size = 9
    hf.oddFooter.center.text = "&P / &N ページ"
    hf.oddFooter.center.size = 9


# ------------------------------------------------------------------------------------------------------------
# What a department's workbook holds, as plain data (_content), then written either by openpyxl
# (build_workbook) or straight into the package of a prototype workbook (request_workbook): the same cells,
# styles, heights, validations and print settings; openpyxl reads both alike.

TITLE_FONT = Font(bold=True, size=14)
HEADING_FONTS = (TITLE_FONT, Font(bold=True, size=12), Font(bold=True, size=12, color="C00000"), Font(),
                 Font(bold=True, color="1F4E79"))  # title, department, deadline, instruction, how to submit
HEADER = ("header",)
WRAPPED = ("wrap",)
FORM_KINDS = ("fixed", "input", "closed")


def _form_style(kind: str, marked: bool = False, size: int = 11) -> tuple:
    """The style of a form cell: fixed, input or closed; a lower-is-better target (marked); its type size."""
    return "form", kind, marked, size


def _style_keys() -> list[tuple]:
    """Every style a request workbook may use (the prototype registers them all, in this order)."""
    return [*(("font", font) for font in HEADING_FONTS), HEADER, WRAPPED,
            *(_form_style(kind, marked, size) for kind in FORM_KINDS for marked in (False, True)
              for size in TEXT_SIZES)]


def _apply_style(cell: Cell, key: tuple | None, styles: dict[tuple, StyleArray]) -> None:
    """Style a cell as `key` says: set once per workbook, then copied (setting each part of a style on every
    cell costs more than all the rest of writing the form)."""
    if key is None:
        return
    if key in styles:
        cell._style = copy(styles[key])
        return
    what = key[0]
    if what == "font":  # the heading lines, the guide's title
        cell.font = key[1]
        cell.alignment = WRAP
    elif what == "header":
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.border = BORDER
        cell.alignment = HEADER_ALIGNMENT
    elif what == "wrap":
        cell.alignment = WRAP
    else:
        _, kind, marked, size = key
        cell.border = BORDER
        cell.alignment = WRAP
        if kind == "input":
            cell.protection = Protection(locked=False)
            cell.fill = INPUT_FILL
            cell.number_format = "@"  # what a department types stays text: 10,000人, 001, 2021-03
        elif kind == "closed":
            cell.fill = CLOSED_FILL
        if marked:
            cell.number_format = LOWER_IS_BETTER_FORMAT
        if size != 11:
            cell.font = Font(name=DEFAULT_FONT.name, sz=size, family=DEFAULT_FONT.family, scheme=DEFAULT_FONT.scheme)
    styles[key] = copy(cell._style)


@dataclass(frozen=True)
class _Row:
    number: int
    height: float | None  # points; None: the default
    cells: tuple[tuple[str, str | int, tuple | None], ...]  # (column letter, value, style key)


@dataclass(frozen=True)
class _Validation:
    """An input message (and drop-down) over some cells of one column."""

    title: str
    prompt: str
    cells: tuple[str, ...]  # coordinates, top to bottom
    more: tuple[tuple[str, object], ...] = ()  # more of the DataValidation (type, formula1, error…)

    def build(self) -> DataValidation:
        return _validation(self.title, self.prompt, list(self.cells), **dict(self.more))


@dataclass(frozen=True)
class _Content:
    """What one department's request workbook holds of its own."""

    department: Department
    deadline: date | None
    title: str
    form: tuple[_Row, ...]  # 実績入力: heading, header row, a row per indicator part
    last_row: int
    validations: tuple[_Validation, ...]
    guide: tuple[_Row, ...]  # 記入方法
    meta: tuple[_Row, ...]  # _tenken
    meta_dimension: str


def _heading(plan: Plan, fiscal_year: int, department: Department, deadline: date | None,
             submit_to: str) -> list[_Row]:
    """Rows 1-5 (title, department, deadline, instruction, how to submit; each merged across the form) and
    the header row."""
    width = sum(c.width for c in COLUMNS)
    lines = [f"{plan.name} {wareki_year(fiscal_year)}点検 実績入力票", f"所属: {department.name}",
             deadline_text(deadline),
             "黄色のセルに入力してください（それ以外は変更できません）。記入方法は「記入方法」シートをご覧ください。",
             submit_to]  # SUBMIT_ROW, above the header row
    rows = [_Row(number, text_points(text, width, font.size or 11, bool(font.bold)), (("A", text, ("font", font)),))
            for number, (text, font) in enumerate(zip(lines, HEADING_FONTS, strict=True), 1)]
    header = columns(plan.measure_label)
    rows.append(_Row(HEADER_ROW, max(text_points(c.title, c.width, bold=True) for c in header),
                     tuple((c.letter, c.title, HEADER) for c in header)))
    return rows


def _meta(plan: Plan, fiscal_year: int, department: Department, deadline: date | None,
          token: str | None) -> tuple[list[_Row], str, str | None]:
    """The very hidden sheet's rows, its dimension, and the range holding the cause labels (for the
    drop-down; None without any). `token` is the department's submission token (tenken.identity)."""
    entries = [("format", FORMAT_VERSION), ("fiscal_year", fiscal_year), ("department", department.key),
               ("department_name", department.name), ("plan", plan.name),
               ("deadline", deadline.isoformat() if deadline else ""),
               ("created_at", datetime.now(UTC).isoformat(timespec="seconds")),
               ("request_version", REQUEST_VERSION), ("token", token or "")]
    labels = [t.label for t in plan.rating.cause_tags]
    rows = []
    for number in range(1, max(len(entries), len(labels)) + 1):
        cells = []
        if number <= len(entries):
            name, value = entries[number - 1]
            cells += [("A", name, None), ("B", value, None)]
        if number <= len(labels):
            cells.append(("D", labels[number - 1], None))
        rows.append(_Row(number, None, tuple(cells)))
    dimension = f"A1:{'D' if labels else 'B'}{len(rows)}"
    # A range, not a quoted list: labels may hold commas, and a quoted list stops at 255 characters.
    return rows, dimension, (f"'{META_SHEET}'!$D$1:$D${len(labels)}" if labels else None)


def _content(plan: Plan, fiscal_year: int, department: str, deadline: date | None = None,
             results: dict[str, MeasureResult] | None = None, token: str | None = None,
             submit_to: str | None = None) -> _Content:
    dept = plan.department(department)
    submit_to = submit_to or DEFAULT_SUBMIT
    results = results or {}
    cause_labels = {t.key: t.label for t in plan.rating.cause_tags}
    rows = _heading(plan, fiscal_year, dept, deadline, submit_to)
    meta, meta_dimension, cause_range = _meta(plan, fiscal_year, dept, deadline, token)
    # One validation per message, over all its cells: the drop-downs first, then the messages alone.
    measure_cells: dict[str, list[str]] = {column_id: [] for column_id in ("self_rating", "cause", "reason",
                                                                           "highlight")}
    actual_cells: dict[tuple[str, str], list[str]] = {}  # (title, text) of the message -> cells
    number = HEADER_ROW
    for offset, row in enumerate(template_rows(plan, fiscal_year, department)):
        number = FIRST_ROW + offset
        values = _row_values(row, results.get(row.measure), cause_labels)
        height = row_points(INPUT_MIN_LINES if row.inputs & {"reason", "highlight"} else 1)
        cells = []
        for column in COLUMNS:
            text = values.get(column.id, "")
            marked = column.id == "target" and row.lower_is_better
            shown = text + LOWER_IS_BETTER if marked else text  # as the number format shows it
            size = 11
            if shown:
                points, size = fitted(shown, column.width)
                height = max(height, points)
            if column.id in row.inputs:
                kind = "input"
                (actual_cells.setdefault(actual_prompt(row), []) if column.id == "actual"
                 else measure_cells[column.id]).append(f"{column.letter}{number}")
            else:
                kind = "closed" if column.input else "fixed"
            cells.append((column.letter, text, _form_style(kind, marked, size)))
        rows.append(_Row(number, height, tuple(cells)))
    messages = _measure_input_messages(cause_range)
    validations = []
    for column_id, cells in measure_cells.items():
        if cells and column_id in messages:
            message_title, text, more = messages[column_id]
            validations.append(_Validation(message_title, text, tuple(cells), tuple(more.items())))
    for (message_title, text), cells in actual_cells.items():
        validations.append(_Validation(message_title, text, tuple(cells)))
    guide = tuple(_Row(row, text_points(text, GUIDE_WIDTH, *((14, True) if row == 1 else ())),
                       (("A", text, ("font", TITLE_FONT) if row == 1 else WRAPPED),))
                  for row, text in enumerate(guide_lines(plan, fiscal_year, dept, deadline, submit_to), 1))
    return _Content(dept, deadline, f"{plan.name} {wareki_year(fiscal_year)}点検 実績入力票", tuple(rows), number,
                    tuple(validations), guide, tuple(meta), meta_dimension)


def _row_values(row: TemplateRow, result: MeasureResult | None, cause_labels: dict[str, str]) -> dict[str, str]:
    values = dict(row.fixed)
    if result is None:
        return values
    if "actual" in row.inputs and row.part <= len(result.actual):
        values["actual"] = result.actual[row.part - 1]
    if "self_rating" in row.inputs and result.self_rating is not None:
        values["self_rating"] = result.self_rating.value
    if "reason" in row.inputs:
        values["reason"] = result.reason
    if "cause" in row.inputs and result.cause:
        values["cause"] = cause_labels.get(result.cause, result.cause)
    if "highlight" in row.inputs:
        values["highlight"] = "\n".join(result.highlight)
    return values


def _validation(title: str, prompt: str, cells: list[str], **kwargs) -> DataValidation:
    """A validation of `cells` that shows what to type when one is selected (Excel and LibreOffice)."""
    return DataValidation(sqref=" ".join(cells), showInputMessage=True, promptTitle=title[:PROMPT_TITLE_CHARS],
                          prompt=prompt[:PROMPT_CHARS], allow_blank=True, **kwargs)


def actual_prompt(row: TemplateRow) -> tuple[str, str]:
    """The input message (title, text) of a row's 実績 cell: what to type, with an example in the unit of
    the row's indicator."""
    part = row.fixed.get("part", "") if row.parts > 1 else ""
    unknown = "把握できなかった場合は「未把握」と入力してください。"
    if row.fixed.get("kind") == "定性":
        return f"実績{part}（定性）", f"取組の実績を文章で入力してください（例: 実施、一部実施）。{unknown}"
    lower = "少ないほど良い指標です（目標の値以下で達成）。" if row.lower_is_better else ""
    unit = row.fixed.get("unit", "")
    if unit:
        return (f"実績{part}（単位: {unit}）",
                (f"{lower}実績値を数値で、単位（{unit}）を付けて入力してください（例: 12{unit}）。"
                 f"全角の数字でも構いません。{unknown}"))
    return f"実績{part}", f"{lower}実績値を数値で入力してください（例: 1,200）。全角の数字でも構いません。{unknown}"


def _measure_input_messages(cause_range: str | None) -> dict[str, tuple[str, str, dict]]:
    """The per-measure inputs' messages (title, text, more of the validation): drop-downs where there is a list.
    Without a cause list (a plan without cause tags) there is no 要因 input, and no message for it."""
    ratings = "、".join(f"{mark} {meaning}" for mark, meaning in zip(SELF_RATINGS, ("目標を上回った", "達成", "未達成"),
                                                                    strict=True))
    return {
        # ◎○△ hold no comma and stay short: a quoted list works in Excel and LibreOffice alike.
        "self_rating": ("自己評価", f"一覧から選んでください（{ratings}）。定性的な指標だけ入力します。",
                        {"type": "list", "formula1": '"' + ",".join(SELF_RATINGS) + '"', "showErrorMessage": True,
                         "errorTitle": "自己評価", "error": "◎・○・△のいずれかを選んでください。"}),
        **({"cause": ("要因", "未達成の場合は、主な要因を一覧から選んでください。",
                      {"type": "list", "formula1": cause_range, "showErrorMessage": True, "errorTitle": "要因",
                       "error": "一覧から選んでください。"})} if cause_range else {}),
        "reason": ("未達成の理由及び今後の見込み等",
                   ("目標に届かなかった場合は必ず入力してください（例: 感染症の影響で説明会を2回中止した。"
                    "来年度はオンラインでも開催する。）。セル内の改行は Alt+Enter です。"), {}),
        "highlight": ("主な取組",
                      ("報告書の「主な取組」に載せる今年度の成果があれば、1〜2文で入力してください"
                       "（例: 県内3会場で説明会を開催し、延べ250人が参加した。）。段落を分けるときは Alt+Enter です。"), {}),
    }


# ---------------------------------------------------------------------------------------- the three sheets


def _setup_form_sheet(ws: Worksheet) -> None:
    """実績入力 as every department gets it: the heading merged across the form, the columns' widths, the
    header row frozen and repeated on every printed page, A4 landscape, protected."""
    last = COLUMNS[-1].letter
    for row in range(1, HEADER_ROW):
        ws.merge_cells(f"A{row}:{last}{row}")
    for column in COLUMNS:
        ws.column_dimensions[column.letter].width = column.width
    ws.freeze_panes = f"C{FIRST_ROW}"
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    _page_setup(ws)
    # Resizing rows and columns stays allowed: long reasons need room.
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False


def _setup_guide_sheet(guide: Worksheet) -> None:
    guide.column_dimensions["A"].width = GUIDE_WIDTH
    _page_setup(guide)
    guide.protection.sheet = True


def _setup_meta_sheet(meta: Worksheet) -> None:
    meta.sheet_state = "veryHidden"
    meta.protection.sheet = True


def _sheets(wb: Workbook) -> tuple[Worksheet, Worksheet, Worksheet]:
    """The workbook's three sheets, set up, in order: 実績入力, 記入方法, _tenken."""
    ws = wb.active
    ws.title = INPUT_SHEET
    _setup_form_sheet(ws)
    guide = wb.create_sheet(GUIDE_SHEET)
    _setup_guide_sheet(guide)
    meta = wb.create_sheet(META_SHEET)
    _setup_meta_sheet(meta)
    wb.active = 0
    wb.security = WorkbookProtection(lockStructure=True)
    return ws, guide, meta


def _fill(ws: Worksheet, rows: Iterable[_Row], styles: dict[tuple, StyleArray]) -> None:
    for row in rows:
        for letter, value, key in row.cells:
            cell = ws[f"{letter}{row.number}"]
            set_text(cell, value)
            _apply_style(cell, key, styles)
        if row.height is not None:
            ws.row_dimensions[row.number].height = row.height


def build_workbook(plan: Plan, fiscal_year: int, department: str, deadline: date | None = None,
                   results: dict[str, MeasureResult] | None = None, token: str | None = None,
                   submit_to: str | None = None) -> Workbook:
    """The request workbook of one department, as an openpyxl Workbook; `results` fill the input cells (the
    example does); `token` is the department's submission token (see tenken.identity); `submit_to` says how to
    send the filled form back (a sentence; DEFAULT_SUBMIT without one). request_workbook writes the same
    workbook without building it cell by cell."""
    content = _content(plan, fiscal_year, department, deadline, results, token, submit_to)
    wb = Workbook()
    ws, guide, meta = _sheets(wb)
    styles: dict[tuple, StyleArray] = {}
    _fill(ws, content.form, styles)
    for validation in content.validations:
        ws.add_data_validation(validation.build())
    ws.print_area = f"A1:{COLUMNS[-1].letter}{content.last_row}"
    _header_footer(ws.HeaderFooter, _page_header(content.department, deadline, content.title))
    _fill(guide, content.guide, styles)
    guide.print_area = f"A1:A{len(content.guide)}"
    _header_footer(guide.HeaderFooter, _page_header(content.department, deadline, f"{content.title}の記入方法"))
    _fill(meta, content.meta, styles)
    return wb


def workbook_bytes(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# ------------------------------------------------------------------------------- writing without openpyxl
# Opening a cycle writes a workbook per department (2,000 in a big plan): openpyxl builds an object per cell
# and serialises each through an XML tree, about 40 ms a workbook. Everything but the department's own cells
# is the same in every workbook, so openpyxl writes it once, into a prototype package whose parts are kept;
# each workbook then takes the prototype's parts with its own sheet data, validations, page headers, print
# areas and timestamps spliced in, written as openpyxl writes them (the same elements and attributes).

_SLOT = "\x00"  # marks a place in a prototype part where each workbook puts its own XML
_LAST_FORM_ROW = 999_999  # the prototype's print areas, replaced by each workbook's
_LAST_GUIDE_ROW = 999_998
_W3CDTF = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class _Package:
    parts: tuple[tuple[str, bytes | tuple[str, ...]], ...]  # name -> bytes, or text alternating with slot names
    style_ids: dict[tuple, int]


def _slotted(text: str, patterns: dict[str, str]) -> tuple[str, ...]:
    """`text` with each pattern's one match replaced by a slot: literal text and slot names, alternating."""
    for name, pattern in patterns.items():
        text, found = re.subn(pattern, f"{_SLOT}{name}{_SLOT}", text, flags=re.DOTALL)
        if found != 1:
            raise RuntimeError(f"the request workbook prototype has {found} matches of {name} (openpyxl changed?)")
    return tuple(text.split(_SLOT))


@lru_cache(maxsize=1)
def _package() -> _Package:
    """The prototype: openpyxl writes a workbook with the three sheets set up, no department's content, and
    every style a form may use; its parts are kept, with slots where each workbook's own XML goes."""
    wb = Workbook()
    ws, guide, _ = _sheets(wb)
    ws.add_data_validation(DataValidation(sqref="A1"))  # where the validations go (after the merged cells)
    ws.print_area = f"A1:{COLUMNS[-1].letter}{_LAST_FORM_ROW}"
    guide.print_area = f"A1:A{_LAST_GUIDE_ROW}"
    for sheet in (ws, guide):
        sheet.oddFooter.center.text = "-"  # where the page header and footer go
    scratch = wb.create_sheet("scratch")
    styles: dict[tuple, StyleArray] = {}
    style_ids = {}
    for row, key in enumerate(_style_keys(), 1):
        cell = scratch.cell(row, 1)
        _apply_style(cell, key, styles)
        style_ids[key] = wb._cell_styles.add(cell._style)
    wb.remove(scratch)
    sheet_data = r"<sheetData\s*/>|<sheetData>.*?</sheetData>"
    dimension = r'<dimension ref="[^"]*"\s*/>'
    slots = {
        "xl/worksheets/sheet1.xml": {"dimension": dimension, "sheet_data": sheet_data,
                                     "validations": r"<dataValidations\b.*?</dataValidations>",
                                     "header_footer": r"<headerFooter\b.*?</headerFooter>"},
        "xl/worksheets/sheet2.xml": {"dimension": dimension, "sheet_data": sheet_data,
                                     "header_footer": r"<headerFooter\b.*?</headerFooter>"},
        "xl/worksheets/sheet3.xml": {"dimension": dimension, "sheet_data": sheet_data},
        "xl/workbook.xml": {"last_form_row": re.escape(f"${_LAST_FORM_ROW}<"),
                            "last_guide_row": re.escape(f"${_LAST_GUIDE_ROW}<")},
        "docProps/core.xml": {"created": r"(?<=<dcterms:created xsi:type=\"dcterms:W3CDTF\">)[^<]*",
                              "modified": r"(?<=<dcterms:modified xsi:type=\"dcterms:W3CDTF\">)[^<]*"},
    }
    with zipfile.ZipFile(io.BytesIO(workbook_bytes(wb))) as archive:
        parts = tuple((name, _slotted(archive.read(name).decode("utf-8"), slots.pop(name)) if name in slots
                       else archive.read(name)) for name in archive.namelist())
    if slots:
        raise RuntimeError(f"the request workbook prototype has no {', '.join(slots)} (openpyxl changed?)")
    return _Package(parts, style_ids)


def _checked(value: str) -> str:
    """A string as openpyxl would take it into a cell: at most 32,767 characters, no illegal characters."""
    value = value[:32767]
    if ILLEGAL_CHARACTERS_RE.search(value):
        raise IllegalCharacterError(f"{value} cannot be used in worksheets.")
    return value


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cell_xml(reference: str, value: str | int, style: int) -> str:
    """One cell, as openpyxl writes it (set_text: a string is always text, never a formula)."""
    s = f' s="{style}"' if style else ""
    if not isinstance(value, str):
        return f'<c r="{reference}"{s} t="n"><v>{"%.16g" % value}</v></c>'
    value = _checked(value)
    if not value:
        return f'<c r="{reference}"{s} t="inlineStr" />'
    if value in ERROR_CODES:
        return f'<c r="{reference}"{s} t="e"><v>{_escape(value)}</v></c>'
    stripped = value.strip()
    space = ' xml:space="preserve"' if stripped and stripped != value else ""
    return f'<c r="{reference}"{s} t="inlineStr"><is><t{space}>{_escape(value)}</t></is></c>'


def _sheet_data(rows: Iterable[_Row], style_ids: dict[tuple, int]) -> str:
    out = ["<sheetData>"]
    for row in rows:
        number = row.number
        out.append(f'<row r="{number}">' if row.height is None
                   else f'<row r="{number}" ht="{"%.16g" % row.height}" customHeight="1">')
        out.extend(_cell_xml(f"{letter}{number}", value, style_ids[key] if key is not None else 0)
                   for letter, value, key in row.cells)
        out.append("</row>")
    out.append("</sheetData>")
    return "".join(out)


def _element(tree) -> str:
    return ElementTree.tostring(tree, encoding="unicode")


@lru_cache(maxsize=256)
def _validation_xml(title: str, prompt: str, more: tuple[tuple[str, object], ...]) -> tuple[str, str]:
    """A validation as openpyxl writes it, around its cells: (before, after)."""
    xml = _element(_validation(title, prompt, ["A1"], **dict(more)).to_tree())
    before, sep, after = xml.partition(' sqref="A1"')
    if not sep:
        raise RuntimeError("openpyxl writes a data validation without sqref (openpyxl changed?)")
    return f'{before} sqref="', f'"{after}'


def _validations_xml(validations: tuple[_Validation, ...]) -> str:
    """<dataValidations>, as openpyxl writes it (the cells of each in openpyxl's order: by column, then row)."""
    if not validations:
        return ""
    items = []
    for validation in validations:
        before, after = _validation_xml(validation.title, validation.prompt, validation.more)
        items.append(f"{before}{' '.join(sorted(set(validation.cells), key=_cell_order))}{after}")
    return f'<dataValidations count="{len(items)}">{"".join(items)}</dataValidations>'


def _cell_order(coordinate: str) -> tuple[int, int]:
    column, row = coordinate_from_string(coordinate)
    return column_index_from_string(column), row


_PLACES = ("\ue000", "\ue001", "\ue002")  # left, centre, right of the page header, in the template


@lru_cache(maxsize=1)
def _header_footer_template() -> tuple[str, ...]:
    """<headerFooter> as openpyxl writes it, with places for the three texts of the page header."""
    hf = HeaderFooter()
    _header_footer(hf, _PLACES)
    xml = _element(hf.to_tree())
    if any(xml.count(place) != 1 for place in _PLACES):
        raise RuntimeError("the page header template lost a place (openpyxl changed?)")
    return tuple(re.split(f"({'|'.join(_PLACES)})", xml))


def _header_footer_xml(department: Department, deadline: date | None, title: str) -> str:
    texts = dict(zip(_PLACES, _page_header(department, deadline, title), strict=True))
    return "".join(_escape(_header_footer_text(texts[piece])) if piece in texts else piece
                   for piece in _header_footer_template())


def _package_bytes(content: _Content) -> bytes:
    package = _package()
    ids = package.style_ids
    now = datetime.now(UTC).strftime(_W3CDTF)
    values = {
        "xl/worksheets/sheet1.xml": {
            "dimension": f'<dimension ref="A1:{COLUMNS[-1].letter}{content.last_row}" />',
            "sheet_data": _sheet_data(content.form, ids),
            "validations": _validations_xml(content.validations),
            "header_footer": _header_footer_xml(content.department, content.deadline, content.title)},
        "xl/worksheets/sheet2.xml": {
            "dimension": f'<dimension ref="A1:A{len(content.guide)}" />',
            "sheet_data": _sheet_data(content.guide, ids),
            "header_footer": _header_footer_xml(content.department, content.deadline, f"{content.title}の記入方法")},
        "xl/worksheets/sheet3.xml": {
            "dimension": f'<dimension ref="{content.meta_dimension}" />',
            "sheet_data": _sheet_data(content.meta, ids)},
        "xl/workbook.xml": {"last_form_row": f"${content.last_row}<", "last_guide_row": f"${len(content.guide)}<"},
        "docProps/core.xml": {"created": now, "modified": now},
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for name, part in package.parts:
            if isinstance(part, tuple):
                mine = values[name]
                part = "".join(mine[piece] if i % 2 else piece for i, piece in enumerate(part)).encode("utf-8")
            archive.writestr(name, part)
    return buffer.getvalue()


def request_workbook(plan: Plan, fiscal_year: int, department: str, deadline: date | None = None,
                     results: dict[str, MeasureResult] | None = None, token: str | None = None,
                     submit_to: str | None = None) -> bytes:
    """The bytes of a department's request workbook (see build_workbook)."""
    return _package_bytes(_content(plan, fiscal_year, department, deadline, results, token, submit_to))


def request_csv(plan: Plan, fiscal_year: int, department: str, results: dict[str, MeasureResult] | None = None,
                bom: bool = True, token: str | None = None) -> str:
    """The same form as CSV (for departments that fill it from their own systems); cells neutralised.
    With a submission token, a 提出コード column carries it on every row."""
    results = results or {}
    cause_labels = {t.key: t.label for t in plan.rating.cause_tags}
    rows = []
    for row in template_rows(plan, fiscal_year, department):
        values = _row_values(row, results.get(row.measure), cause_labels)
        rows.append([fiscal_year, department, *(values.get(c.id, "") for c in COLUMNS), *([token] if token else [])])
    header = [*csv_header(plan.measure_label), *([CSV_TOKEN] if token else [])]
    return to_csv(header, rows, bom=bom)


def request_file_name(fiscal_year: int, department: str, suffix: str = ".xlsx") -> str:
    return f"tenken-{fiscal_year}-{department}{suffix}"

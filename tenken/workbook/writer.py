"""Write a department's request workbook (and its CSV equivalent) for a cycle.

The workbook identifies its cycle and department in a very hidden, protected sheet, so the file
name does not matter. Every cell but the input cells is locked and the sheet protected; intake
still compares the locked cells with the plan, because protection is a guide, not a guard.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

from openpyxl import Workbook
from openpyxl.cell import Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from tenken.core.plan import Department, Plan
from tenken.core.results import MeasureResult
from tenken.core.wareki import wareki_date, wareki_year
from tenken.csvsafe import to_csv
from tenken.identity import REQUEST_VERSION

from .layout import (
    COLUMN,
    COLUMNS,
    FIRST_ROW,
    FORMAT_VERSION,
    GUIDE_SHEET,
    HEADER_ROW,
    INPUT_SHEET,
    CSV_TOKEN,
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
WEEKDAYS = "月火水木金土日"


def set_text(cell: Cell, value: str) -> None:
    """Put text in a cell as text: openpyxl would turn a string starting with '=' into a formula."""
    cell.value = value
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"


def deadline_text(deadline: date | None) -> str:
    if deadline is None:
        return "提出期限: 別途お知らせします"
    return f"提出期限: {wareki_date(deadline)}（{WEEKDAYS[deadline.weekday()]}）"


def guide_lines(plan: Plan, fiscal_year: int, department: Department, deadline: date | None) -> list[str]:
    causes = "、".join(t.label for t in plan.rating.cause_tags)
    return [
        f"{plan.name} {wareki_year(fiscal_year)}点検 実績入力票の記入方法",
        "",
        f"このファイルは{department.name}の{wareki_year(fiscal_year)}の点検の依頼ファイルです。{deadline_text(deadline)}",
        "所属と年度はファイルの中の情報で確認しますので、ファイル名は変えても構いません。",
        "",
        ("1. 「実績入力」シートの黄色のセルに入力してください。それ以外のセルは変更できません。"
         "行・列・シートの追加や削除もしないでください（変更されたファイルは受け付けられません）。"),
        ("2. 実績: 目標と同じ単位を付けて入力してください（例: 10,000人、75.3%）。全角の数字でも構いません。"
         "把握できなかった場合は「未把握」と入力してください。(1)(2)…と項目が分かれている指標は、項目の行ごとに入力します。"),
        (f"3. 自己評価: 定性的な指標の{plan.measure_label}だけ、{'・'.join(SELF_RATINGS)}から選んでください"
         "（◎ 目標を上回った、○ 達成、△ 未達成）。数値の指標は自動で判定します。"),
        "4. 未達成の理由及び今後の見込み等: 目標に届かなかった場合は必ず入力してください。",
        f"5. 要因: 未達成の場合は、主な要因を選んでください（{causes}）。",
        ("6. 主な取組: 報告書の「主な取組」に載せる今年度の成果があれば、1〜2文で入力してください。"
         "段落を分けるときはセル内で改行（Alt+Enter）してください。"),
        "7. 数式は入力しないでください。数式の入ったセルがあるファイルは受け付けられません。値を直接入力してください。",
        ("8. 入力が終わったら、Excel ブック（.xlsx）のまま提出してください。"
         "問題があった場合は、問題のセルに色とコメントを付けたファイルをお返しします。"),
        ("9. 提出後に修正する場合は、修正したファイルをもう一度提出してください。"
         "最後に受け付けたファイルが有効になります。以前に提出したファイルも記録として保存されます。"),
    ]


def _write_meta(wb: Workbook, plan: Plan, fiscal_year: int, department: Department, deadline: date | None,
                token: str | None = None) -> str:
    """Fill the meta sheet; return the range holding the cause labels (for the drop-down).
    `token` is the department's submission token (tenken.identity), when the workbook is a real request."""
    meta = wb.create_sheet(META_SHEET)
    entries = [("format", FORMAT_VERSION), ("fiscal_year", fiscal_year), ("department", department.key),
               ("department_name", department.name), ("plan", plan.name),
               ("deadline", deadline.isoformat() if deadline else ""),
               ("created_at", datetime.now(UTC).isoformat(timespec="seconds")),
               ("request_version", REQUEST_VERSION), ("token", token or "")]
    for row, (name, value) in enumerate(entries, 1):
        meta.cell(row, 1, name)
        set_text(meta.cell(row, 2), value)
    labels = [t.label for t in plan.rating.cause_tags]
    for row, text in enumerate(labels, 1):
        set_text(meta.cell(row, 4), text)
    meta.sheet_state = "veryHidden"
    meta.protection.sheet = True
    return f"'{META_SHEET}'!$D$1:$D${max(len(labels), 1)}"


def _heading(ws: Worksheet, plan: Plan, fiscal_year: int, department: Department, deadline: date | None) -> None:
    last = COLUMNS[-1].letter
    lines = [
        (f"{plan.name} {wareki_year(fiscal_year)}点検 実績入力票", Font(bold=True, size=14)),
        (f"所属: {department.name}", Font(bold=True, size=12)),
        (deadline_text(deadline), Font(bold=True, size=12, color="C00000")),
        ("黄色のセルに入力してください（それ以外は変更できません）。"
         "記入方法は「記入方法」シートをご覧ください。", Font()),
    ]
    for row, (text, font) in enumerate(lines, 1):
        ws.merge_cells(f"A{row}:{last}{row}")
        cell = ws.cell(row, 1, text)
        cell.font = font
    for column in columns(plan.measure_label):
        cell = ws[f"{column.letter}{HEADER_ROW}"]
        cell.value = column.title
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.border = BORDER
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        ws.column_dimensions[column.letter].width = column.width
    ws.row_dimensions[HEADER_ROW].height = 32


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


def build_workbook(plan: Plan, fiscal_year: int, department: str, deadline: date | None = None,
                   results: dict[str, MeasureResult] | None = None, token: str | None = None) -> Workbook:
    """The request workbook of one department; `results` fill the input cells (the example does);
    `token` is the department's submission token (see tenken.identity)."""
    dept = plan.department(department)
    results = results or {}
    cause_labels = {t.key: t.label for t in plan.rating.cause_tags}
    wb = Workbook()
    ws = wb.active
    ws.title = INPUT_SHEET
    _heading(ws, plan, fiscal_year, dept, deadline)
    rating_list = DataValidation(type="list", formula1='"' + ",".join(SELF_RATINGS) + '"', allow_blank=True,
                                 showErrorMessage=True, errorTitle="自己評価",
                                 error="◎・○・△のいずれかを選んでください。")
    cause_range = _write_meta(wb, plan, fiscal_year, dept, deadline, token)
    cause_list = DataValidation(type="list", formula1=cause_range, allow_blank=True, showErrorMessage=True,
                                errorTitle="要因", error="一覧から選んでください。")
    ws.add_data_validation(rating_list)
    ws.add_data_validation(cause_list)
    for offset, row in enumerate(template_rows(plan, fiscal_year, department)):
        number = FIRST_ROW + offset
        values = _row_values(row, results.get(row.measure), cause_labels)
        for column in COLUMNS:
            cell = ws[f"{column.letter}{number}"]
            set_text(cell, values.get(column.id, ""))
            cell.border = BORDER
            cell.alignment = WRAP
            if column.id in row.inputs:
                cell.protection = Protection(locked=False)
                cell.fill = INPUT_FILL
                cell.number_format = "@"  # what a department types stays text: 10,000人, 001, 2021-03
            elif column.input:
                cell.fill = CLOSED_FILL
        if "self_rating" in row.inputs:
            rating_list.add(f"{COLUMN['self_rating'].letter}{number}")
        if "cause" in row.inputs:
            cause_list.add(f"{COLUMN['cause'].letter}{number}")
    ws.freeze_panes = f"C{FIRST_ROW}"
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    # Resizing rows and columns stays allowed: long reasons need room.
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False

    guide = wb.create_sheet(GUIDE_SHEET, 1)
    guide.column_dimensions["A"].width = 120
    for row, text in enumerate(guide_lines(plan, fiscal_year, dept, deadline), 1):
        cell = guide.cell(row, 1, text)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    guide["A1"].font = Font(bold=True, size=14)
    guide.protection.sheet = True

    wb.active = 0
    wb.security = WorkbookProtection(lockStructure=True)
    return wb


def workbook_bytes(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def request_workbook(plan: Plan, fiscal_year: int, department: str, deadline: date | None = None,
                     results: dict[str, MeasureResult] | None = None, token: str | None = None) -> bytes:
    return workbook_bytes(build_workbook(plan, fiscal_year, department, deadline, results, token))


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

"""The answer to a refused submission: a letter (text) listing every problem by cell, and a copy of
the department's own workbook with the problem cells coloured and commented."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import PatternFill

from .layout import DEFAULT_MEASURE_LABEL, HEADER_ROW, INPUT_SHEET
from tenken.core.errors import CellProblem
from tenken.files import shown_name
from .writer import set_text, workbook_bytes

PROBLEM_FILL = PatternFill("solid", fgColor="F8CBAD")
LISTED = 50  # a letter lists this many problems and counts the rest; the marked workbook has them all
COMMENTED = 500  # problem cells commented in the marked workbook; with more, a list sheet holds them all
LIST_SHEET = "確認結果一覧"
OFFICE = "点検事務局"
LOCAL_TIME = ZoneInfo("Asia/Tokyo")


def where(problem: CellProblem, measure_label: str = DEFAULT_MEASURE_LABEL) -> str:
    """Where a problem is, for a person; a measure is named in the plan's word (`Plan.measure_label`)."""
    if problem.cell is None:
        if problem.measure is None:
            return "ファイル全体"
        return f"{measure_label} {problem.measure} の行（ファイルにありません。依頼ファイルの行は削除しないでください）"
    if problem.sheet:
        return f"シート「{problem.sheet}」のセル {problem.cell}"
    return problem.cell


def answer_text(file_name: str, problems: Sequence[CellProblem], department_name: str | None = None,
                received_at: datetime | None = None, marked_copy: str | None = None,
                reference: str | None = None, measure_label: str = DEFAULT_MEASURE_LABEL) -> str:
    """The letter to the department: what was received, each problem where it is, what to do.
    `measure_label` is the plan's word for a measure (施策, 事業 …)."""
    received = f"（{received_at.astimezone(LOCAL_TIME):%Y年%m月%d日 %H:%M} 受付）" if received_at else ""
    lines = [f"{department_name or '提出者'} ご担当者様", "",
             (f"提出いただいたファイル「{shown_name(file_name)}」{received}を確認したところ、"
              f"次の{len(problems)}件の問題があったため、受け付けられませんでした。"),
             "該当箇所を修正して、もう一度提出してください。これまでに受け付けたファイルはそのまま有効です。"]
    if marked_copy:
        lines.append(f"問題のセルに色とコメントを付けたファイル（{marked_copy}）をお返しします。修正して、そのまま提出できます。")
    lines.append("")
    for number, problem in enumerate(problems[:LISTED], 1):
        lines.append(f"{number}. {where(problem, measure_label)}")
        lines.append(f"   {problem.message}")
    if len(problems) > LISTED:
        rest = "印を付けたファイルで、すべての問題のセルを確認できます。" if marked_copy else ""
        lines.append(f"ほか{len(problems) - LISTED}件の問題があります（ここでは最初の{LISTED}件を示しました）。{rest}")
    if reference:
        lines += ["", f"受付番号: {reference}"]
    return "\n".join(lines) + "\n"


def marked_workbook(data: bytes, problems: Sequence[CellProblem]) -> bytes | None:
    """The department's workbook with each problem cell filled and commented, formulas turned into
    inert text. None when the file cannot be opened as a workbook (then the letter is the answer)."""
    try:
        workbook = load_workbook(io.BytesIO(data), data_only=False, keep_links=False, keep_vba=False)
    except Exception:  # noqa: BLE001 — a file that cannot be reopened gets the letter only
        return None
    if INPUT_SHEET not in workbook.sheetnames:
        return None
    sheet = workbook[INPUT_SHEET]
    for row in sheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                formula = getattr(cell.value, "text", cell.value)  # ArrayFormula keeps its text apart
                set_text(cell, str(formula if str(formula).startswith("=") else f"={formula}"))
    by_cell: dict[str, list[str]] = {}
    for problem in problems:
        if problem.sheet == INPUT_SHEET and problem.cell:
            by_cell.setdefault(problem.cell, []).append(problem.message)
    for number, (ref, messages) in enumerate(by_cell.items()):
        cell = sheet[ref]
        cell.fill = PROBLEM_FILL
        if number < COMMENTED:
            comment = Comment("\n".join(messages), OFFICE)
            comment.width, comment.height = 320, 160
            cell.comment = comment
    listed = len(by_cell) > COMMENTED
    if listed:
        # Comments cost Excel and openpyxl dearly by the thousand: beyond the first ones every problem
        # is in a list sheet (and every problem cell is still coloured).
        overview = workbook.create_sheet(LIST_SHEET, 0)
        overview.append(["セル", "内容"])
        for problem in problems:
            overview.append([problem.cell or "", problem.message])
    if by_cell or problems:
        first = sheet.cell(HEADER_ROW - 1, 1)
        where_to_look = f"色の付いたセルと、シート「{LIST_SHEET}」" if listed else "色の付いたセルのコメント"
        set_text(first, f"確認結果: {len(problems)}件の問題があります。{where_to_look}を確認して修正してください。")
        first.fill = PROBLEM_FILL
    return workbook_bytes(workbook)

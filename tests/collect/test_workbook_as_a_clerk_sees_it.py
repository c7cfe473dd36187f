"""The request workbook as a clerk sees it: opened in LibreOffice Calc and printed to PDF for the section
chief's approval, every cell of the form reads whole, the instructions fit the page, the pages are A4
landscape and the table fills their width; in the file, the header is frozen and repeated on each page,
every input cell says what to type, the drop-downs take their lists from cells, and the form says how
to send it back.

All 34 filled workbooks of the bundled FY2020 example are converted by one LibreOffice process (it is
slow to start), with a private profile so parallel workers do not collide. Two spoiled copies go with
them, each cut the way the form used to be (text not wrapped; a column narrower than its rows were
made for): the same checks must find the cut values there, or they would not find them anywhere.

How "whole" is checked: in the PDF (pdftotext -bbox) each word is put in the column whose printed span
holds its middle, the columns' spans found from where the header titles are printed; a column's words,
read top to bottom and left to right with all white space removed, must contain every value of that
column in row order. A value cut at the cell's edge or bottom is missing there.

A PDF and a PNG of its first page are kept in test-artifacts/workbook/ for a person to look at.
"""

from __future__ import annotations

import io
import re
import shutil
import statistics
import subprocess
import unicodedata
from dataclasses import dataclass
from datetime import date
from html import unescape
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.styles import Alignment

from tenken.config import load_directory, load_plan, load_results
from tenken.resources import EXAMPLE_CONFIG
from tenken.services.opening import submit_instruction, write_request_files
from tenken.workbook.layout import (
    COLUMNS,
    FIRST_ROW,
    GUIDE_SHEET,
    HEADER_ROW,
    INPUT_SHEET,
    META_SHEET,
    SELF_RATINGS,
    SUBMIT_ROW,
    columns,
    departments_on_form,
)
from tenken.workbook.writer import deadline_text, guide_lines, request_file_name
from tests.conftest import ROOT, test_signer

pytestmark = pytest.mark.slow

YEAR = 2020
DEADLINE = date(2021, 5, 31)
ARTIFACTS = ROOT / "test-artifacts" / "workbook"
SHOWN = "digital-strategy"  # the largest form (24 rows, several pages): kept as an artifact
A4_LANDSCAPE = (841.89, 595.28)  # points
SPOILED_UNWRAPPED = "spoiled-unwrapped"
SPOILED_NARROW = "spoiled-narrow"
NARROWED = ("C", 6)  # 施策名 at 6 instead of its width, the rows left as tall as they were


def tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:  # never skipped: a missing tool fails, saying how to install it
        pytest.fail(f"{name} is not installed: run `make {package}` (Debian: "
                    f"{'libreoffice-calc-nogui' if name == 'soffice' else 'poppler-utils'}).", pytrace=False)
    return found


@pytest.fixture(scope="module")
def plan():
    return load_plan(EXAMPLE_CONFIG)


@pytest.fixture(scope="module")
def workbooks(plan, tmp_path_factory) -> dict[str, Path]:
    """Department key (and the two spoiled copies) -> the filled request workbook, as departments get it."""
    folder = tmp_path_factory.mktemp("workbooks")
    written = write_request_files(plan, YEAR, folder, DEADLINE, filled=load_results(EXAMPLE_CONFIG, YEAR),
                                  signer=test_signer(plan.name), directory=load_directory(EXAMPLE_CONFIG))
    assert sorted(written) == sorted(departments_on_form(plan, YEAR)) and len(written) == 34
    book = load_workbook(written[SHOWN])
    for row in book[INPUT_SHEET].iter_rows(min_row=FIRST_ROW):
        for cell in row:
            cell.alignment = Alignment(wrap_text=False)  # as the form was before it wrapped
    book.save(folder / f"{SPOILED_UNWRAPPED}.xlsx")
    book = load_workbook(written[SHOWN])
    book[INPUT_SHEET].column_dimensions[NARROWED[0]].width = NARROWED[1]
    book.save(folder / f"{SPOILED_NARROW}.xlsx")
    return {**written, SPOILED_UNWRAPPED: folder / f"{SPOILED_UNWRAPPED}.xlsx",
            SPOILED_NARROW: folder / f"{SPOILED_NARROW}.xlsx"}


@pytest.fixture(scope="module")
def pdfs(workbooks, tmp_path_factory) -> dict[str, Path]:
    """Each workbook printed to PDF by LibreOffice, all in one process."""
    soffice = tool("soffice", "office-packages")
    tool("pdftotext", "system-packages")
    out = tmp_path_factory.mktemp("pdf")
    profile = tmp_path_factory.mktemp("lo-profile")
    done = subprocess.run([soffice, "--headless", "--norestore", f"-env:UserInstallation={profile.as_uri()}",
                           "--convert-to", "pdf", "--outdir", str(out), *map(str, workbooks.values())],
                          check=False, capture_output=True, text=True, timeout=600)
    converted = {key: out / f"{path.stem}.pdf" for key, path in workbooks.items()}
    missing = [key for key, pdf in converted.items() if not pdf.is_file()]
    assert done.returncode == 0 and not missing, (done.returncode, missing, done.stdout[-2000:], done.stderr[-2000:])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shown = ARTIFACTS / request_file_name(YEAR, SHOWN, ".pdf")
    shutil.copyfile(converted[SHOWN], shown)
    subprocess.run([tool("pdftoppm", "system-packages"), "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile",
                    str(shown), str(shown.with_suffix(""))], check=True, timeout=60)
    return converted


# --- reading the PDF ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Word:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def middle(self) -> float:
        return (self.x0 + self.x1) / 2


@dataclass(frozen=True)
class Page:
    width: float
    height: float
    words: tuple[Word, ...]


_PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.DOTALL)
_WORD = re.compile(r'<word xMin="([-\d.]+)" yMin="([-\d.]+)" xMax="([-\d.]+)" yMax="([-\d.]+)">(.*?)</word>')


def pages_of(pdf: Path) -> list[Page]:
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True,
                          timeout=60).stdout
    return [Page(float(w), float(h), tuple(Word(unescape(t), float(a), float(b), float(c), float(d))
                                           for a, b, c, d, t in _WORD.findall(body)))
            for w, h, body in _PAGE.findall(html)]


def squeezed(text: str) -> str:
    """Text without any white space (wrapping breaks lines where it likes), in NFKC form."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def reading_order(words: list[Word]) -> list[Word]:
    """Words top to bottom, and left to right within a printed line (words of one line may differ in top)."""
    lines: list[list[Word]] = []
    for word in sorted(words, key=lambda w: (w.y0 + w.y1) / 2):
        middle = (word.y0 + word.y1) / 2
        if lines and abs(middle - (lines[-1][0].y0 + lines[-1][0].y1) / 2) < (word.y1 - word.y0) / 2:
            lines[-1].append(word)
        else:
            lines.append([word])
    return [word for line in lines for word in sorted(line, key=lambda w: w.x0)]


def contains_in_order(text: str, values: list[str]) -> list[str]:
    """The values not found in `text` one after another (each after the one before it)."""
    missing, at = [], 0
    for value in values:
        found = text.find(squeezed(value), at)
        if found < 0:
            missing.append(value)
        else:
            at = found + len(squeezed(value))
    return missing


def column_spans(page: Page, titles: list[str], widths: list[float]) -> list[tuple[float, float]]:
    """Where each column is printed: fitted (least squares) from the middles of the header titles."""
    starts = [sum(widths[:i]) for i in range(len(widths))]
    points = []
    for title, start, width in zip(titles, starts, widths, strict=True):
        found = [w for w in page.words if w.text == title]
        if found:
            points.append((start + width / 2, min(found, key=lambda w: w.y0).middle))
    assert len(points) >= 6, f"the header row is not printed whole: {points}"
    n = len(points)
    mean_u, mean_x = sum(u for u, _ in points) / n, sum(x for _, x in points) / n
    scale = (sum((u - mean_u) * (x - mean_x) for u, x in points) / sum((u - mean_u) ** 2 for u, _ in points))
    left = mean_x - scale * mean_u
    return [(left + scale * start, left + scale * (start + width)) for start, width in zip(starts, widths, strict=True)]


def form_pages(pages: list[Page], titles: list[str]) -> list[Page]:
    return [p for p in pages if sum(w.text in titles for w in p.words) >= 6]


def cut_cells(pdf: Path, workbook: Path) -> list[str]:
    """The form's cells whose text is not printed whole ('C9: …'), every column of every row."""
    sheet = load_workbook(workbook)[INPUT_SHEET]
    titles = [sheet[f"{c.letter}{HEADER_ROW}"].value for c in COLUMNS]
    widths = [sheet.column_dimensions[c.letter].width for c in COLUMNS]
    pages = form_pages(pages_of(pdf), titles)
    assert pages, f"{pdf.name}: no page of the form"
    printed: dict[str, list[Word]] = {c.letter: [] for c in COLUMNS}
    for page in pages:
        spans = column_spans(page, titles, widths)
        header = min((w for w in page.words if w.text in titles), key=lambda w: w.y0)
        for word in page.words:
            if word.y0 < header.y0:
                continue  # the page header and the heading above the table
            for column, (x0, x1) in zip(COLUMNS, spans, strict=True):
                if x0 <= word.middle < x1:
                    # pages are stacked so that reading order runs on from one page to the next
                    printed[column.letter].append(Word(word.text, word.x0, word.y0 + 10_000 * pages.index(page),
                                                       word.x1, word.y1 + 10_000 * pages.index(page)))
                    break
    cut = []
    for column in COLUMNS:
        text = squeezed("".join(w.text for w in reading_order(printed[column.letter])))
        cells = [c for c in sheet[column.letter][FIRST_ROW - 1:] if c.value not in (None, "")]
        wanted = [str(c.value) for c in cells]
        missing = set(contains_in_order(text, wanted))
        cut += [f"{c.coordinate}: {c.value}" for c in cells if str(c.value) in missing]
    return cut


# --- the print ------------------------------------------------------------------------------------------


def test_every_cell_of_every_form_prints_whole(pdfs, workbooks):
    cut = {key: cells for key in workbooks if not key.startswith("spoiled")
           if (cells := cut_cells(pdfs[key], workbooks[key]))}
    assert not cut, f"cells cut in the printed form: {cut}"


def test_the_check_finds_a_form_cut_at_the_column_edge_or_below_the_row(pdfs, workbooks):
    """The spoiled copies: unwrapped text runs into the next column's cell and is cut there (the bug);
    in a narrowed column the text wraps into more lines than the row holds and is cut at the bottom."""
    unwrapped = cut_cells(pdfs[SPOILED_UNWRAPPED], workbooks[SPOILED_UNWRAPPED])
    assert any(cell.startswith("C") and "市町村との連携によるオープンデータ推進" in cell for cell in unwrapped), unwrapped
    narrow = cut_cells(pdfs[SPOILED_NARROW], workbooks[SPOILED_NARROW])
    assert narrow and all(cell.startswith(NARROWED[0]) for cell in narrow), narrow


def test_the_instructions_print_whole_inside_the_page(pdfs, plan):
    directory = load_directory(EXAMPLE_CONFIG)
    for key, pdf in pdfs.items():
        if key.startswith("spoiled"):
            continue
        pages = pages_of(pdf)
        titles = [c.title for c in columns(plan.measure_label)]
        guide = [p for p in pages if p not in form_pages(pages, titles)]
        assert guide, f"{key}: the instructions are not printed"
        text = squeezed("".join(w.text for i, p in enumerate(guide)
                                for w in reading_order([Word(w.text, w.x0, w.y0 + 10_000 * i, w.x1, w.y1 + 10_000 * i)
                                                        for w in p.words])))
        submit_to = submit_instruction(directory.department(key))
        lines = [line for line in guide_lines(plan, YEAR, plan.department(key), DEADLINE, submit_to) if line]
        assert not contains_in_order(text, lines), (key, contains_in_order(text, lines))


def test_every_page_is_a4_landscape_inside_its_edges_with_department_and_deadline_on_top(pdfs, plan):
    for key, pdf in pdfs.items():
        if key.startswith("spoiled"):
            continue
        department = squeezed(plan.department(key).name)
        for number, page in enumerate(pages_of(pdf), 1):
            assert (round(page.width), round(page.height)) == tuple(map(round, A4_LANDSCAPE)), (key, number)
            outside = [w.text for w in page.words if w.x0 < 0 or w.x1 > page.width or w.y0 < 0 or w.y1 > page.height]
            assert not outside, (key, number, outside)
            top = squeezed("".join(w.text for w in reading_order([w for w in page.words if w.y1 < 50])))
            assert department in top and squeezed(deadline_text(DEADLINE)) in top, (key, number, top)


def test_the_form_fills_the_width_of_the_page_in_legible_type(pdfs, plan):
    """Not shrunk onto a corner: the table spans the page's width, and its type is printed at least 55 % of
    the size of the instructions' (which print at 100 %, 11 pt): 6 pt and more."""
    titles = [c.title for c in columns(plan.measure_label)]
    widths = [c.width for c in COLUMNS]
    for key, pdf in pdfs.items():
        if key.startswith("spoiled"):
            continue
        pages = pages_of(pdf)
        form = form_pages(pages, titles)
        page = form[0]
        spans = column_spans(page, titles, widths)
        assert spans[-1][1] - spans[0][0] > 0.85 * page.width, (key, spans[0][0], spans[-1][1])
        header = min((w for w in page.words if w.text == titles[2]), key=lambda w: w.y0)
        names = [w for w in page.words if spans[2][0] <= w.middle < spans[2][1] and w.y0 > header.y1]
        instructions = [w for p in pages if p not in form for w in p.words if w.y0 > 50]  # below the page header
        form_type = statistics.median(w.y1 - w.y0 for w in names)
        guide_type = statistics.median(w.y1 - w.y0 for w in instructions)
        assert form_type > 0.55 * guide_type, (key, form_type, guide_type)


# --- the file -------------------------------------------------------------------------------------------


def test_the_header_is_frozen_and_both_sheets_print_a4_landscape_one_page_wide(workbooks):
    book = load_workbook(workbooks["tourism"])
    sheet = book[INPUT_SHEET]
    assert sheet.freeze_panes == f"C{FIRST_ROW}"  # below the header row (and right of the key)
    assert sheet.print_title_rows == f"${HEADER_ROW}:${HEADER_ROW}"
    assert sheet.print_area == f"'{INPUT_SHEET}'!$A$1:$L${sheet.max_row}"  # the whole form, nothing beside it
    for ws in (sheet, book[GUIDE_SHEET]):
        setup = ws.page_setup
        assert (setup.orientation, int(setup.paperSize)) == ("landscape", int(ws.PAPERSIZE_A4)), ws.title
        assert (ws.sheet_properties.pageSetUpPr.fitToPage, setup.fitToWidth, setup.fitToHeight) == (True, 1, 0)
        assert "観光課" in ws.oddHeader.left.text and "令和3年5月31日" in ws.oddHeader.right.text
        assert "&P" in ws.oddFooter.center.text and "&N" in ws.oddFooter.center.text
    for row in sheet.iter_rows(min_row=FIRST_ROW):
        assert sheet.row_dimensions[row[0].row].height, row[0].row  # explicit: spreadsheets do not fit on opening
        assert all(cell.alignment.wrap_text and cell.alignment.vertical == "top" for cell in row), row[0].row


def test_every_input_cell_says_what_to_type_with_an_example_in_its_unit(workbooks, plan):
    for key in ("tourism", "digital-strategy", "fire-safety"):
        sheet = load_workbook(workbooks[key])[INPUT_SHEET]
        message = {}
        for validation in sheet.data_validations.dataValidation:
            assert validation.showInputMessage and validation.prompt and validation.promptTitle
            assert len(validation.prompt) <= 255 and len(validation.promptTitle) <= 32
            for cells in validation.sqref.ranges:
                for ref in cells.cells:
                    assert ref not in message, f"{key}: two validations on one cell"
                    message[sheet.cell(*ref).coordinate] = validation
        inputs = {c.coordinate for row in sheet.iter_rows(min_row=FIRST_ROW) for c in row if not c.protection.locked}
        assert inputs and inputs <= set(message), (key, sorted(inputs - set(message)))
    tourism = load_workbook(workbooks["tourism"])[INPUT_SHEET]
    prompts = {ref: v for v in tourism.data_validations.dataValidation for ref in str(v.sqref).split()}
    assert "例: 12PV" in prompts["H7"].prompt and "例: 12件" in prompts["H9"].prompt  # 400,000PV / 120件
    assert "文章" in prompts["H10"].prompt  # a qualitative indicator


def test_the_drop_downs_take_their_lists_from_cells(workbooks, plan):
    book = load_workbook(workbooks["tourism"])
    sheet = book[INPUT_SHEET]
    lists = [v for v in sheet.data_validations.dataValidation if v.type == "list"]
    assert {c for v in lists for c in str(v.sqref).split()} >= {"I10", "K7", "K9", "K10", "K11"}
    for validation in lists:
        if validation.formula1.startswith('"'):  # only a list that can never hold a comma or grow long
            assert validation.formula1 == '"' + ",".join(SELF_RATINGS) + '"'
            continue
        match = re.fullmatch(r"'?([^'!]+)'?!\$([A-Z])\$(\d+):\$([A-Z])\$(\d+)", validation.formula1)
        assert match and match[1] == META_SHEET, validation.formula1
        labels = [book[META_SHEET][f"{match[2]}{r}"].value for r in range(int(match[3]), int(match[5]) + 1)]
        assert labels == [t.label for t in plan.rating.cause_tags]


def test_the_form_says_how_to_send_it_back_to_the_departments_channel(workbooks):
    book = load_workbook(workbooks["tourism"])
    submit = book[INPUT_SHEET][f"A{SUBMIT_ROW}"].value
    assert submit == "記入後、このファイルを受け取った Slack のスレッドに返信して提出してください（#tenken-tourism）。"
    assert any(submit in str(c.value) for c in book[GUIDE_SHEET]["A"])
    meta = book[META_SHEET]
    assert {meta.cell(r, 1).value for r in range(1, 10)} >= {"token", "request_version"}


def test_a_form_written_without_a_directory_says_to_answer_where_it_came_from(plan):
    from tenken.workbook.writer import DEFAULT_SUBMIT, request_workbook

    sheet = load_workbook(io.BytesIO(request_workbook(plan, YEAR, "tourism", DEADLINE)))[INPUT_SHEET]
    assert sheet[f"A{SUBMIT_ROW}"].value == DEFAULT_SUBMIT

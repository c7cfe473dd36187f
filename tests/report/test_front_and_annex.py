"""A report whose annex is one chunk (FY2020: 76 measures) laid out by two processes: the front matter in
one, the annex in the other, assembled into the PDF one WeasyPrint pass makes, page for page.

The front matter's chunk keeps a stub of the annex (its section and heading, no table) so that the
contents find the annex's page number and link target; that page is dropped once laid out. Everything a
reader meets is compared with one pass of the same markup: each page's text (page numbers, running
header and footer, the contents' page numbers), the outline with its nesting, the named destinations and
links, the tag tree, the fonts.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader
from pypdf.generic import IndirectObject

from tenken.command import renders_a_report
from tenken.report import parallel
from tenken.report.context import build_context
from tenken.report.render import print_markup, render_html, render_pdf, write_pdf
from tests.report.conftest import pages, poppler

ANNEX_TITLE = "【別紙】施策別成果指標達成状況一覧（令和2年度）"


@pytest.fixture(scope="module", params=[False, True], ids=["final", "draft"])
def markup(request, fy2020) -> str:
    assessment, summary = fy2020
    return print_markup(render_html(build_context(assessment, summary, draft=request.param)))


@pytest.fixture(scope="module")
def split(markup) -> parallel.Split:
    cut = parallel.split(markup)
    assert cut is not None
    return cut


@pytest.fixture(scope="module")
def rendered(split, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("front-and-annex") / "report.pdf"
    path.write_bytes(parallel.render_chunks(split, workers=2))
    return path


@pytest.fixture(scope="module")
def one_pass(markup, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("one-pass") / "report.pdf"
    path.write_bytes(write_pdf(markup))
    return path


def test_the_front_matter_and_the_annex_are_the_two_chunks(fy2020, split, markup):
    assessment, _ = fy2020
    front, annex = split.chunks
    assert split.front_and_annex and split.markup == markup
    assert '<header class="cover">' in front.markup and 'id="annex-title"' in front.markup
    assert '<tr class="measure' not in front.markup and "<table class=\"annex-table\"" not in front.markup
    assert front.cut_at == "annex" and not front.stylesheet
    assert '<header class="cover">' not in annex.markup and annex.markup.count('id="annex-title"') == 1
    assert annex.markup.count('<tr class="measure') == len(assessment.plan.measures) == 76
    assert "@top-left" not in annex.stylesheet  # the annex's heading sets its running title itself
    assert ('class="watermark"' in annex.markup) == ('class="watermark"' in markup)


def test_two_processes_one_process_and_render_pdf_write_the_same_bytes(split, rendered, markup):
    assert parallel.render_chunks(split, workers=1) == rendered.read_bytes()
    assert render_pdf(markup) == rendered.read_bytes()


def test_every_page_reads_as_in_one_pass(rendered, one_pass):
    """Page numbers, running header and footer, the contents' page numbers, the watermark: all per page."""
    assert pages(rendered, "-layout") == pages(one_pass, "-layout")
    texts = pages(rendered, "-layout")
    assert len(texts) == 15 and ANNEX_TITLE in texts[8] and ANNEX_TITLE not in texts[7]


def _outline(pdf: PdfReader, items) -> list:
    return [_outline(pdf, item) if isinstance(item, list) else
            (item.title, pdf.get_destination_page_number(item), round(float(item.left), 3), round(float(item.top), 3))
            for item in items]


def _destinations(pdf: PdfReader) -> dict:
    return {name: (pdf.get_destination_page_number(dest), round(float(dest.left), 3), round(float(dest.top), 3))
            for name, dest in pdf.named_destinations.items()}


def _links(pdf: PdfReader) -> list:
    return [(page.page_number, str(link["/Dest"]), [round(float(v), 3) for v in link["/Rect"]])
            for page in pdf.pages for link in (a.get_object() for a in page.get("/Annots", []))]


def test_the_outline_destinations_and_links_are_those_of_one_pass(rendered, one_pass):
    mine, other = PdfReader(rendered), PdfReader(one_pass)
    assert _outline(mine, mine.outline) == _outline(other, other.outline)
    assert len(mine.outline) == 2 and mine.outline[1][-1].title == ANNEX_TITLE  # nested under the title
    assert _destinations(mine) == _destinations(other)
    assert _destinations(mine)["annex"][0] == 8
    links = _links(mine)
    assert links == _links(other) and ("annex" in (dest for _, dest, _ in links))


def _structure(pdf: PdfReader) -> list:
    out = []

    def walk(element, depth: int) -> None:
        element = element.get_object() if isinstance(element, IndirectObject) else element
        if not isinstance(element, dict) or element.get("/Type") != "/StructElem":
            return
        page = pdf.get_page_number(element["/Pg"]) if "/Pg" in element else None
        out.append((depth, str(element["/S"]), page))
        kids = element.get("/K", [])
        for kid in kids if isinstance(kids, list) else [kids]:
            walk(kid, depth + 1)

    walk(pdf.trailer["/Root"]["/StructTreeRoot"]["/K"][0], 0)
    return out


def test_the_tag_tree_is_that_of_one_pass(rendered, one_pass):
    mine = PdfReader(rendered)
    structure = _structure(mine)
    assert structure == _structure(PdfReader(one_pass))
    assert ("/H2" in {kind for _, kind, page in structure if page == 8})
    nums = mine.trailer["/Root"]["/StructTreeRoot"]["/ParentTree"]["/Nums"]
    parents = dict(zip(nums[::2], nums[1::2]))
    for page in mine.pages:
        mcids = {int(m) for m in re.findall(rb"/MCID (\d+)", page.get_contents().get_data())}
        assert mcids and len(parents[page["/StructParents"]].get_object()) == max(mcids) + 1, page.page_number


def test_each_font_is_embedded_once_as_in_one_pass(rendered, one_pass):
    def fonts(path: Path) -> list[tuple[str, str]]:
        rows = [row.split() for row in poppler("pdffonts", path).splitlines()[2:]]
        return sorted((row[0].split("+")[1], row[-5]) for row in rows)

    assert fonts(rendered) == fonts(one_pass)
    assert len(fonts(rendered)) == len({name for name, _ in fonts(rendered)}) and all(
        embedded == "yes" for _, embedded in fonts(rendered))


def test_processes_are_started_by_default_only_where_they_fork_from_this_one(split, monkeypatch):
    counts = []
    monkeypatch.setattr(parallel, "_run_in_processes", lambda chunks, count: counts.append(count) or
                        parallel._run_here(chunks))
    monkeypatch.setattr(parallel, "forks_here", lambda: False)
    alone = parallel.render_chunks(split)
    assert counts == []  # in this process: a fork server would first load WeasyPrint
    monkeypatch.setattr(parallel, "forks_here", lambda: True)
    monkeypatch.setattr(parallel, "usable_cpus", lambda: 4)
    assert parallel.render_chunks(split) == alone
    assert counts == [2]
    large = dataclasses.replace(split, front_and_annex=False)
    monkeypatch.setattr(parallel, "forks_here", lambda: False)
    parallel.render_chunks(large)
    assert counts == [2, 2]  # a large report's chunks go to processes wherever they start


def test_a_front_matter_without_the_anchor_to_cut_at_gives_the_one_pass_pdf(split, markup, one_pass, caplog):
    front, annex = split.chunks
    lost = dataclasses.replace(split, chunks=(dataclasses.replace(front, cut_at="no-such-section"), annex))
    with caplog.at_level(logging.WARNING, logger=parallel.__name__):
        assert parallel.render_chunks(lost, workers=1) == one_pass.read_bytes()
    assert "report rendered in one pass: no page of the front matter before #no-such-section" in caplog.text


def test_markup_without_an_annex_table_is_not_cut(markup):
    table = re.search(r'<table class="annex-table".*?</table>', markup, flags=re.DOTALL)
    assert parallel.split(markup[:table.start()] + markup[table.end():]) is None


@pytest.mark.parametrize(("args", "renders"), [
    (["report", "--year", "2020", "--out", "out"], True),
    (["report", "--year", "2020", "--draft"], True),
    (["report", "--help"], False),
    (["report", "--year", "2020", "-h"], False),
    (["summary", "--year", "2020"], False),
    (["--help"], False),
    ([], False),
])
def test_the_console_script_starts_the_pdf_process_first_only_for_a_report(args, renders):
    assert renders_a_report(args) is renders


def test_pypdf_strictly_and_poppler_read_the_assembled_file_without_complaint(rendered):
    reader = PdfReader(rendered, strict=True)
    assert len(reader.pages) == 15
    completed = subprocess.run(["pdftotext", str(rendered), "-"], capture_output=True, text=True, check=False)
    assert completed.returncode == 0 and completed.stderr == ""


def test_a_report_with_anything_after_the_annex_is_not_cut_and_keeps_it(markup, tmp_path):
    """report.html ends with the annex; were a section added after it, no chunk would hold it in its
    place (the front's chunk drops its pages from the annex on, a chunk of rows ends with the table)."""
    after = markup.replace("</section>\n</main>", '</section>\n<section id="after"><h2>あとがき</h2>'
                           "<p>別紙の後の節</p></section>\n</main>")
    assert after != markup
    assert parallel.split(after) is None and parallel.split(after, 25) is None
    path = tmp_path / "after.pdf"
    path.write_bytes(render_pdf(after))
    assert "別紙の後の節" in pages(path)[-1]

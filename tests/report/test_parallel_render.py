"""A large report rendered in chunks by several processes: one PDF with the properties of a single pass.

The plan is Kanagawa's FY2020 plan with each field's measures repeated three times (228 measures, each
name told apart by its copy number); chunks of about 60 measures make five chunks, so every check
crosses chunk boundaries. PDFs are read back with pypdf and poppler.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from pathlib import Path

import pytest
import yaml
from pypdf import PdfReader
from pypdf.generic import IndirectObject

from tenken.config import DEFAULT_CONFIG, plan_from_mapping
from tenken.core.aggregate import summarize
from tenken.core.assessment import assess
from tenken.core.results import ResultSet
from tenken.report import parallel
from tenken.report.context import build_context
from tenken.report.render import print_markup, render_html, render_pdf, write_pdf
from tests.report.conftest import _Collect, flat, pages, pdftotext, poppler

ROWS_PER_CHUNK = 60
COPIES = 3
TITLE = "かながわICT・データ利活用推進計画 令和2年度点検報告書"
ANNEX_TITLE = "【別紙】施策別成果指標達成状況一覧（令和2年度）"


def enlarged_assessment(copies: int):
    """Kanagawa's plan with every field's measures repeated `copies` times, names numbered by copy."""
    raw = yaml.safe_load((DEFAULT_CONFIG / "plan.yaml").read_text(encoding="utf-8"))
    departments = yaml.safe_load((DEFAULT_CONFIG / "departments.yaml").read_text(encoding="utf-8"))["departments"]
    raw_results = yaml.safe_load((DEFAULT_CONFIG / "results" / "2020.yaml").read_text(encoding="utf-8"))
    original = plan_from_mapping(raw, departments)
    by_key = {r["measure"]: r for r in raw_results["results"]}
    field_keys = list(dict.fromkeys(m.key.rsplit("-", 1)[0] for m in original.measures))
    rows = []
    for node, field_key in zip(_leaves(raw["tree"]), field_keys):
        base = node["measures"]
        node["measures"] = [{**measure, "name": f"{measure['name']}（写{copy}）"}
                            for copy in range(1, copies + 1) for measure in base]
        for copy in range(copies):
            for n in range(1, len(base) + 1):
                if f"{field_key}-{n}" in by_key:
                    rows.append({**by_key[f"{field_key}-{n}"], "measure": f"{field_key}-{copy * len(base) + n}"})
    plan = plan_from_mapping(raw, departments)
    return assess(plan, ResultSet.model_validate({**raw_results, "results": rows}))


def _leaves(tree: list) -> list[dict]:
    out = []
    for node in tree:
        out.extend(_leaves(node["children"]) if node.get("children") else [node])
    return out


@pytest.fixture(scope="module")
def big():
    assessment = enlarged_assessment(COPIES)
    return assessment, summarize(assessment)


def _markup(big, draft: bool = False) -> str:
    assessment, summary = big
    return print_markup(render_html(build_context(assessment, summary, draft=draft)))


@pytest.fixture(scope="module")
def chunks(big) -> parallel.Split:
    split = parallel.split(_markup(big), ROWS_PER_CHUNK)
    assert split is not None
    return split


@pytest.fixture(scope="module")
def rendered_and_warnings(chunks, tmp_path_factory) -> tuple[Path, list[str]]:
    """Rendered by two worker processes, and what WeasyPrint warned of."""
    path = tmp_path_factory.mktemp("parallel") / "report.pdf"
    collect = _Collect()
    logging.getLogger("weasyprint").addHandler(collect)
    try:
        path.write_bytes(parallel.render_chunks(chunks, workers=2))
    finally:
        logging.getLogger("weasyprint").removeHandler(collect)
    return path, collect.messages


@pytest.fixture(scope="module")
def rendered(rendered_and_warnings) -> Path:
    return rendered_and_warnings[0]


@pytest.fixture(scope="module")
def one_pass(big, tmp_path_factory) -> Path:
    """The same report in one WeasyPrint pass, for what must not differ."""
    path = tmp_path_factory.mktemp("one-pass") / "report.pdf"
    path.write_bytes(write_pdf(_markup(big)))
    return path


@pytest.fixture(scope="module")
def reader(rendered) -> PdfReader:
    return PdfReader(rendered)


def _rows(big) -> list[dict]:
    assessment, summary = big
    bodies = build_context(assessment, summary, draft=False)["annex"]["bodies"]
    return [row for body in bodies for row in body if row["kind"] == "measure"]


def test_the_annex_is_cut_into_chunks_of_whole_row_groups_each_row_once(big, chunks):
    assert len(chunks.chunks) >= 4
    rows = [re.findall(r'<tr class="measure[^>]*>\s*<td class="number">(\d+)</td>\s*<th scope="row" class="name">'
                       r"([^<]*)</th>", chunk.markup) for chunk in chunks.chunks]
    names = [name for chunk_rows in rows for _, name in chunk_rows]
    assert names == [row["name"] for row in _rows(big)]
    sizes = [len(chunk_rows) for chunk_rows in rows]
    assert all(sizes) and sizes[-1] < sizes[1]  # smaller towards the end, so that the processes end together
    first, *rest = chunks.chunks
    assert '<header class="cover">' in first.markup and "<thead>" in first.markup
    for chunk in rest:
        assert '<header class="cover">' not in chunk.markup and 'id="annex-title"' not in chunk.markup
        assert chunk.markup.count("<thead>") == 1 and chunk.markup.startswith("<!DOCTYPE html>")


def test_the_chunks_render_without_a_warning(rendered_and_warnings):
    assert rendered_and_warnings[1] == []


def test_what_weasyprint_warns_of_in_a_worker_is_logged_here(fy2020, caplog):
    assessment, summary = fy2020
    split = parallel.split(print_markup(render_html(build_context(assessment, summary, draft=False))), 25)
    odd = dataclasses.replace(split.chunks[1], stylesheet=split.chunks[1].stylesheet + "p { colour: red }")
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        parallel.render_chunks(dataclasses.replace(split, chunks=(split.chunks[0], odd, *split.chunks[2:])), workers=2)
    assert [r.name for r in caplog.records if "colour" in r.getMessage()] == ["weasyprint"]


def test_two_renders_and_a_render_in_one_process_give_the_same_bytes(chunks, rendered):
    again = parallel.render_chunks(chunks, workers=2)
    alone = parallel.render_chunks(chunks, workers=1)
    assert again == rendered.read_bytes()
    assert alone == rendered.read_bytes()


def test_render_pdf_gives_a_large_report_to_its_chunks_and_a_small_one_to_front_and_annex(big, fy2020, monkeypatch):
    taken = []
    monkeypatch.setattr(parallel, "ROWS_PER_CHUNK", ROWS_PER_CHUNK)
    monkeypatch.setattr(parallel, "render_chunks", lambda split, workers: taken.append(split) or b"%PDF chunks")
    assessment, summary = big
    assert render_pdf(render_html(build_context(assessment, summary, draft=False)), workers=2) == b"%PDF chunks"
    assert len(taken) == 1 and len(taken[0].chunks) >= 4 and not taken[0].front_and_annex
    assessment, summary = fy2020
    monkeypatch.setattr(parallel, "ROWS_PER_CHUNK", 400)
    assert render_pdf(render_html(build_context(assessment, summary, draft=False))) == b"%PDF chunks"
    assert len(taken) == 2 and len(taken[1].chunks) == 2 and taken[1].front_and_annex
    assert render_pdf("<html><body><p>点検</p></body></html>").startswith(b"%PDF-1.7")  # not the report: one pass
    assert len(taken) == 2


def test_the_pdf_is_tagged_pdf_ua_with_one_structure_tree(rendered, reader):
    info = poppler("pdfinfo", rendered)
    assert re.search(r"^Tagged:\s+yes$", info, flags=re.MULTILINE)
    assert re.search(rf"^Title:\s+{TITLE}$", info, flags=re.MULTILINE)
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "ja" and root["/MarkInfo"]["/Marked"]
    assert b"pdfuaid:part" in root["/Metadata"].get_object().get_data()
    tree = root["/StructTreeRoot"]
    assert len(tree["/K"]) == 1
    document = tree["/K"][0].get_object()
    assert document["/S"] == "/Document"
    assert all(child.get_object().raw_get("/P").idnum == tree["/K"][0].idnum for child in document["/K"])


def test_every_marked_content_maps_to_a_structure_element_of_its_page(reader):
    """The parent tree, renumbered across chunks: each page's MCIDs point to elements on that page."""
    nums = reader.trailer["/Root"]["/StructTreeRoot"]["/ParentTree"]["/Nums"]
    parents = dict(zip(nums[::2], nums[1::2]))
    assert sorted(page["/StructParents"] for page in reader.pages) == list(range(len(reader.pages)))
    for page in reader.pages:
        mcids = [int(m) for m in re.findall(rb"/MCID (\d+)", page.get_contents().get_data())]
        assert mcids, page.page_number
        elements = parents[page["/StructParents"]].get_object()
        assert len(elements) == max(mcids) + 1
        for mcid in mcids:
            element = elements[mcid].get_object()
            assert element.raw_get("/Pg").idnum == page.indirect_reference.idnum
            kids = element["/K"] if isinstance(element["/K"], list) else [element["/K"]]
            assert mcid in kids


def test_table_header_ids_are_unique_and_every_cell_names_existing_headers(reader):
    ids, headers = [], []
    todo = [reader.trailer["/Root"]["/StructTreeRoot"]["/K"][0]]
    while todo:
        element = todo.pop()
        element = element.get_object() if isinstance(element, IndirectObject) else element
        if not isinstance(element, dict) or element.get("/Type") != "/StructElem":
            continue
        if "/ID" in element:
            ids.append(str(element["/ID"]))
        if "/A" in element and "/Headers" in element["/A"]:
            headers += [str(h) for h in element["/A"]["/Headers"]]
        kids = element.get("/K", [])
        todo += kids if isinstance(kids, list) else [kids]
    assert ids and len(ids) == len(set(ids))
    assert headers and set(headers) <= set(ids)


def test_each_font_is_embedded_once(rendered, reader, one_pass):
    """One font dictionary for every page of every chunk, one font file per font: the fonts of one pass."""
    rows = poppler("pdffonts", rendered).splitlines()[2:]
    names = [row.split()[0] for row in rows]
    assert names and len(names) == len(set(names))
    assert {name.split("+")[1] for name in names} == {
        row.split()[0].split("+")[1] for row in poppler("pdffonts", one_pass).splitlines()[2:]}
    assert len({page["/Resources"].raw_get("/Font").idnum for page in reader.pages}) == 1
    files = {}
    for font in reader.pages[0]["/Resources"]["/Font"].values():
        descriptor = font.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"]
        files[str(descriptor["/FontName"])] = (descriptor.raw_get("/FontFile3") or descriptor.raw_get("/FontFile2")).idnum
    assert sorted(files) == sorted(f"/{name}" for name in names)
    assert len(set(files.values())) == len(names)


def test_every_measure_reads_in_order_with_its_reasons(big, rendered):
    text = flat(pdftotext(rendered, "-raw"))
    position = 0
    for row in _rows(big):
        found = text.find(flat(row["number"] + row["name"] + row["department"]), position)
        assert found >= 0, row["key"]
        position = found
        for line in row["notes"]:
            assert flat(line) in text, row["key"]


def test_the_text_is_the_one_pass_text_but_for_the_pages_between_chunks(rendered, one_pass):
    """The same words in the same order; only what repeats on every page (running header and footer,
    the table's legend and column headings) comes as often as there are pages."""
    repeated = ["令和3年7月", TITLE, ANNEX_TITLE, "【「評価」欄の凡例】◎目標を上回った○達成△未達成—指標未設定",
                "番号施策名所属成果指標令和2年度未達成の理由及び今後の見込み等目標実績評価"]
    strip = re.compile("|".join(re.escape(flat(text)) for text in repeated) + r"|\d+")
    assert strip.sub("", flat(pdftotext(rendered, "-raw"))) == strip.sub("", flat(pdftotext(one_pass, "-raw")))


def test_page_numbers_continue_across_chunks_with_the_running_footer(rendered):
    texts = pages(rendered, "-layout")
    body = texts[2:]
    for number, text in enumerate(body, 1):
        footer = text.strip().splitlines()[-1]
        assert re.match(rf"令和3年7月\s+{number}\s+{TITLE}$", footer), (number, footer)


def test_the_annex_title_heads_every_annex_page_but_its_first(rendered):
    texts = [flat(t) for t in pages(rendered, "-layout")]
    first = next(i for i, t in enumerate(texts) if t.startswith(ANNEX_TITLE) or ANNEX_TITLE in t)
    for i, text in enumerate(texts[first:], first):
        assert text.count(ANNEX_TITLE) == 1, i
        assert "【「評価」欄の凡例】" in text, i


def test_every_annex_page_number_sits_at_the_same_place(rendered):
    """A continuation page's number is laid out by WeasyPrint with report.css's rules: same line, same
    centre as on the first chunk's annex pages."""
    places = []
    for page in re.findall(r"<page .*?</page>", pdftotext(rendered, "-bbox"), flags=re.DOTALL):
        height = float(re.search(r'height="([\d.]+)"', page).group(1))
        numbers = [(float(x0), float(y), float(x1)) for x0, y, x1, text in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">(\d+)</word>', page)
            if float(y) > height - 40]
        if numbers:
            x0, y, x1 = numbers[0]
            places.append(((x0 + x1) / 2, y))
    annex = places[-20:]
    assert len(annex) == 20
    for centre, line in annex:
        assert centre == pytest.approx(annex[0][0], abs=0.5) and line == pytest.approx(annex[0][1], abs=0.01)


def test_bookmarks_and_contents_links_are_those_of_one_pass(reader, one_pass):
    other = PdfReader(one_pass)

    def outline(pdf: PdfReader, items) -> list:
        out = []
        for item in items:
            if isinstance(item, list):
                out.append(outline(pdf, item))
            else:
                out.append((item.title, pdf.get_destination_page_number(item)))
        return out

    assert outline(reader, reader.outline) == outline(other, other.outline)
    assert len(reader.outline) > 1
    links = [annotation.get_object() for page in reader.pages for annotation in page.get("/Annots", [])]
    names = reader.named_destinations
    assert links and all(str(link["/Dest"]) in names for link in links)
    assert {name: reader.get_destination_page_number(dest) for name, dest in names.items()} == {
        name: other.get_destination_page_number(dest) for name, dest in other.named_destinations.items()}


def test_a_draft_in_chunks_has_the_watermark_on_every_page(fy2020, tmp_path):
    assessment, summary = fy2020
    split = parallel.split(print_markup(render_html(build_context(assessment, summary, draft=True))), 25)
    assert split is not None and len(split.chunks) >= 3
    path = tmp_path / "draft.pdf"
    path.write_bytes(parallel.render_chunks(split, workers=1))
    for i, text in enumerate(pages(path)):
        assert "案" in text, i


def test_chunks_that_cannot_be_assembled_give_the_one_pass_pdf(chunks, monkeypatch, caplog):
    def refuse(chunks):
        raise parallel.Unassemblable("for the test")

    monkeypatch.setattr(parallel, "_run_here", refuse)
    monkeypatch.setattr(parallel, "write_pdf", lambda markup: b"%PDF one pass of " + markup.encode()[:15])
    assert parallel.render_chunks(chunks, workers=1) == b"%PDF one pass of <!DOCTYPE html>"
    assert "report rendered in one pass: for the test" in caplog.text


def test_pypdf_and_poppler_read_the_assembled_file_without_complaint(rendered):
    reader = PdfReader(rendered, strict=True)
    assert len(reader.pages) == len(pages(rendered))
    completed = __import__("subprocess").run(["pdftotext", str(rendered), "-"], capture_output=True, text=True)
    assert completed.returncode == 0 and completed.stderr == ""


def test_running_strings_are_read_as_string_set_reads_them_and_quoted_for_css():
    markup = ('<header class="cover"><h1>\n  <span>計画 &amp; "A"</span>\n  <span>報告書</span>\n</h1>'
              '<p class="cover-date"><time>令和3年7月</time></p></header><h2 id="annex-title">'
              '<span class="number">【別紙】</span>一覧\\</h2>')
    strings = parallel.running_strings(markup)
    assert strings == parallel.RunningStrings("令和3年7月", '計画 & "A" 報告書', "【別紙】一覧\\")
    assert parallel.css_string(strings.report_title) == '"計画 & \\"A\\" 報告書"'
    assert parallel.css_string(strings.annex_title) == '"【別紙】一覧\\\\"'

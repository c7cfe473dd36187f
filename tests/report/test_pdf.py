"""The FY2020 report read back from the PDF: content, figures, structure and PDF quality."""

from __future__ import annotations

import re

import pytest
from pypdf import PdfReader

from tenken.report import write_report
from tenken.report.context import build_context
from tests.report.conftest import flat, pages, pdftotext, poppler

A4 = (595.28, 841.89)
LEGEND = "【「評価」欄の凡例】◎目標を上回った○達成△未達成—指標未設定"
ANNEX_TITLE = "【別紙】施策別成果指標達成状況一覧（令和2年度）"

# SPEC §3, read row by row off the summary table: 施策数 上回った 達成 未達成 per sub-pillar,
# then 達成率 施策数 達成(◎+○) 未達成 for each 小計 and the 合計.
SUMMARY_FIGURES = [
    "27", "6", "11", "10", "7", "3", "4", "0", "10", "1", "7", "2", "72.7%", "44", "32", "12",
    "8", "2", "3", "3", "4", "0", "3", "1", "5", "1", "3", "1", "2", "0", "0", "2", "63.2%", "19", "12", "7",
    "69.8%", "63", "44", "19",
]

NARRATIVE = [
    "計画には21分野76施策が位置付けられており、そのうち令和元年度で取組の終了した3施策を除いた73施策に取り組みました。",
    "令和2年度に成果指標が設定されている63施策のうち、44施策（69.8%）で成果指標を達成又は上回りました。",
    "柱Ⅰ「くらしの情報化」では44施策中32施策（72.7%）、柱Ⅱ「行政の情報化」では19施策中12施策（63.2%）"
    "で成果指標を達成又は上回っています。",
    "前回の成果指標の達成率（全体81.6%、柱Ⅰ81.2%、柱Ⅱ82.6%）と比較して、今回の達成率はいずれも低い値となって"
    "いますが、達成できなかった19施策のうち、13施策が新型コロナウイルス感染症や国の動向の影響等によるものと"
    "なっています。",
]


@pytest.fixture(scope="module")
def annex_pages(final) -> list[int]:
    """Indexes of the annex pages (they carry the annex title, in the flow or the running header)."""
    texts = pages(final["pdf"])
    return [i for i, text in enumerate(texts) if ANNEX_TITLE in flat(text)]


def test_the_pdf_holds_all_76_measure_names(fy2020, final_raw_text):
    assessment, _ = fy2020
    text = flat(final_raw_text)
    names = list(assessment.measures["name"])
    assert len(names) == 76
    assert [n for n in names if flat(n) not in text] == []


def test_every_reason_line_is_printed(fy2020, final_raw_text):
    assessment, _ = fy2020
    text = flat(final_raw_text)
    lines = [line for r in assessment.results.results
             for line in (r.reason + "\n" + (r.adjustment.justification if r.adjustment else "")).splitlines()
             if line.strip()]
    assert lines and [line for line in lines if flat(line) not in text] == []


@pytest.mark.parametrize("mark", ["◎", "○", "△", "—"])
def test_every_rating_is_printed_once_in_its_row(fy2020, final, annex_pages, mark):
    """Count each mark on the annex pages: one per legend, plus what the annex rows print."""
    assessment, summary = fy2020
    rows = [row for body in build_context(assessment, summary, draft=False)["annex"]["bodies"] for row in body]
    printed = 0
    for row in rows:
        if row["kind"] == "group":
            printed += row["heading"].count(mark)
            continue
        cells = [row["number"], row["name"], row["department"], *row["indicator"], *row["notes"]]
        cells += [row["finished"]] if row["finished"] else [*row["target"], *row["actual"], row["rating"]]
        printed += sum(cell.count(mark) for cell in cells)
    texts = pages(final["pdf"])
    on_annex_pages = sum(texts[i].count(mark) for i in annex_pages)
    assert on_annex_pages == printed + len(annex_pages)
    rated = int((assessment.measures["rating"] == mark).sum())
    assert printed >= rated > 0


def test_the_summary_table_prints_every_spec_figure_row_by_row(final):
    page = next(p for p in pages(final["pdf"], "-layout") if re.search(r"小\s*計", p))
    table = page[page.index("上回った"):page.index("※ 内訳")]
    assert re.findall(r"\d+(?:\.\d)?%?", table, flags=re.ASCII) == SUMMARY_FIGURES


def test_the_narrative_sentences_carry_the_computed_figures(final_raw_text):
    text = flat(final_raw_text)
    for sentence in NARRATIVE:
        assert flat(sentence) in text


def test_the_legend_and_column_headers_are_on_every_annex_page(final, annex_pages):
    texts = pages(final["pdf"], "-raw")
    assert len(annex_pages) >= 3
    for i in annex_pages:
        text = flat(texts[i])
        assert LEGEND in text
        for header in ("番号", "施策名", "所属", "成果指標", "令和2年度", "目標", "実績", "評価",
                       "未達成の理由及び今後の見込み等"):
            assert header in text, (i, header)


def test_finished_and_unset_measures_read_as_such(final_raw_text):
    text = flat(final_raw_text)
    assert text.count("(令和元年度で取組完了)") == 3


def test_the_contents_page_numbers_match_the_running_footers(final):
    texts = pages(final["pdf"], "-layout")
    at = next(i for i, t in enumerate(texts) if re.search(r"目\s*次", t))
    entry = re.search(r"今後の取組[ .]*?(\d+)\s*$", texts[at], flags=re.M)
    future_page = next(t for t in texts[at + 1:] if re.search(r"^\s*3\s+今後の取組", t, flags=re.M))
    footer = future_page.strip().splitlines()[-1]
    assert entry and re.search(rf"\s{entry[1]}\s", footer)


def test_weasyprint_renders_the_report_without_a_warning(final_render):
    assert final_render[1] == []


def test_the_pdf_is_tagged_with_title_and_japanese_language(final):
    info = poppler("pdfinfo", final["pdf"])
    assert re.search(r"^Tagged:\s+yes$", info, flags=re.M)
    assert re.search(r"^Title:\s+かながわICT・データ利活用推進計画 令和2年度点検報告書$", info, flags=re.M)
    assert re.search(r"^Author:\s+神奈川県$", info, flags=re.M)
    reader = PdfReader(final["pdf"])
    assert reader.trailer["/Root"]["/Lang"] == "ja"
    assert b"pdfuaid:part" in reader.trailer["/Root"]["/Metadata"].get_object().get_data()


def test_every_font_is_embedded_noto_cjk(final):
    rows = poppler("pdffonts", final["pdf"]).splitlines()[2:]
    assert rows
    for row in rows:
        name, emb = row.split()[0], row.split()[-5]
        assert "Noto" in name and "CJK" in name, row
        assert emb == "yes", row


def test_pages_are_a4_and_the_annex_is_landscape(final, annex_pages):
    reader = PdfReader(final["pdf"])
    for i, page in enumerate(reader.pages):
        size = (float(page.mediabox.width), float(page.mediabox.height))
        expected = tuple(reversed(A4)) if i in annex_pages else A4
        assert size == pytest.approx(expected, abs=0.5), i
    assert annex_pages == list(range(annex_pages[0], len(reader.pages)))


def test_the_final_copy_has_no_watermark_and_the_draft_has_one_on_every_page(final, cli_draft):
    out, _ = cli_draft
    final_pages, draft_pages = pages(final["pdf"]), pages(out / "report-2020-draft.pdf")
    assert len(final_pages) == len(draft_pages)
    assert "案" not in final_pages[0]
    for final_text, draft_text in zip(final_pages, draft_pages):
        assert draft_text.count("案") == final_text.count("案") + 1


def test_rendering_twice_gives_the_same_text_and_the_same_bytes(fy2020, final, tmp_path):
    assessment, summary = fy2020
    again = write_report(assessment, summary, tmp_path, draft=False)
    assert pdftotext(again["pdf"]) == pdftotext(final["pdf"])
    assert again["pdf"].read_bytes() == final["pdf"].read_bytes()
    assert again["html"].read_bytes() == final["html"].read_bytes()
    info = poppler("pdfinfo", again["pdf"])
    assert re.search(r"^CreationDate:.*2021", info, flags=re.M)


def test_the_running_footer_carries_the_page_number_the_date_and_the_title(final, annex_pages):
    texts = pages(final["pdf"], "-layout")
    body = texts[2:]
    for number, text in enumerate(body, 1):
        footer = text.strip().splitlines()[-1]
        assert re.match(rf"令和3年7月\s+{number}\s+かながわICT・データ利活用推進計画 令和2年度点検報告書$", footer), footer
    assert "令和3年7月" not in texts[1]


def test_no_measure_row_is_split_across_annex_pages(fy2020, final, annex_pages):
    assessment, summary = fy2020
    texts = [flat(t) for t in pages(final["pdf"], "-raw")]
    rows = [row for body in build_context(assessment, summary, draft=False)["annex"]["bodies"] for row in body
            if row["kind"] == "measure"]
    for row in rows:
        whole = flat(row["name"] + row["department"]), flat("".join(row["notes"]))
        assert any(whole[0] in texts[i] and whole[1] in texts[i] for i in annex_pages), row["key"]

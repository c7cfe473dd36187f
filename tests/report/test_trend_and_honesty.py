"""The report says only what its data supports, and shows the trend when several years are on record.

- No previous rate: no comparison sentence, no 「前回との比較」 in the caption, no 前回 bar or legend.
- The date: the results' `report.published`, else the date the caller gives; never a guessed July.
- Lower-is-better targets are marked in the annex.
- With two or more years on record (a hand-built History), section 2(1) shows their trend: a table
  and a chart, read back from the PDF.

The no-previous plan is a copy of tests/fixtures/city_plan without its `previous_rates` (and without
its results' `report.published`).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import shutil
from datetime import date
from xml.etree import ElementTree as ET

import pytest
import yaml
from pypdf import PdfReader

from tenken.core.aggregate import summarize
from tenken.core.history import LEDGER, PLAN, History, YearRates
from tenken.report import write_report
from tenken.report.chart import chart_svg, trend, trend_svg
from tenken.report.context import LOWER_IS_BETTER, build_context, comparison_sentence, report_date_of, trend_context
from tenken.report.render import print_markup, render_html
from tenken.services import assess_cycle
from tests.conftest import ROOT
from tests.report.conftest import flat, pages, pdftotext, poppler

CITY = ROOT / "tests" / "fixtures" / "city_plan"
SVG = "{http://www.w3.org/2000/svg}"
REPORT_DATE = date(2025, 5, 20)
EARLIER = (YearRates(2022, 55.0, {"1": 50.0}, source=PLAN),  # no rate of 基本目標2 that year
           YearRates(2023, 70.0, {"1": 60.0, "2": 80.0}, source=LEDGER))


def _without_previous(tmp_path_factory):
    """The city plan with no previous rates and results that give no publication date."""
    folder = tmp_path_factory.mktemp("city-no-previous") / "city_plan"
    shutil.copytree(CITY, folder)
    plan = yaml.safe_load((folder / "plan.yaml").read_text(encoding="utf-8"))
    plan.pop("previous_rates")
    (folder / "plan.yaml").write_text(yaml.safe_dump(plan, allow_unicode=True, sort_keys=False), encoding="utf-8")
    results = yaml.safe_load((folder / "results" / "2024.yaml").read_text(encoding="utf-8"))
    results["report"].pop("published")
    (folder / "results" / "2024.yaml").write_text(yaml.safe_dump(results, allow_unicode=True, sort_keys=False),
                                                  encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def bare(tmp_path_factory):
    """The city plan's FY2024 with no previous rate on record: assessment and summary."""
    assessment = assess_cycle(2024, _without_previous(tmp_path_factory))
    summary = summarize(assessment)
    assert summary.previous_rate is None and all(p.previous_rate is None for p in summary.pillars)
    assert assessment.results.report.published is None
    return assessment, summary


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _render(bare, tmp_path_factory, name: str, **options):
    assessment, summary = bare
    collect = _Warnings()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(collect)
    try:
        paths = write_report(assessment, summary, tmp_path_factory.mktemp(name), draft=False, **options)
    finally:
        logger.removeHandler(collect)
    return paths, collect.messages


@pytest.fixture(scope="module")
def bare_report(bare, tmp_path_factory):
    return _render(bare, tmp_path_factory, "bare", report_date=REPORT_DATE)[0]


@pytest.fixture(scope="module")
def trend_render(bare, tmp_path_factory):
    """The same year with the two earlier years of EARLIER on record: the files and WeasyPrint's warnings."""
    return _render(bare, tmp_path_factory, "trend", report_date=REPORT_DATE, history=History(earlier=EARLIER))


@pytest.fixture(scope="module")
def trend_report(trend_render):
    return trend_render[0]


def _svgs(html: str) -> list[ET.Element]:
    return [ET.fromstring(m) for m in re.findall(r"<svg .*?</svg>", html, flags=re.DOTALL)]


def _texts(svg: ET.Element) -> list[str]:
    return [t.text for t in svg.iter(f"{SVG}text")]


# ---------------------------------------------------------------- A: no previous rate, no comparison


def test_without_a_previous_rate_the_report_neither_compares_nor_captions_nor_draws_one(bare_report):
    text = flat(pdftotext(bare_report["pdf"], "-raw"))
    assert "前回" not in text and "比較" not in text
    assert "図基本目標・政策別の成果指標の達成率（令和6年度）" in text
    assert "達成できなかった2事業のうち、1事業が天候の影響によるものとなっています。" in text
    assert "計画期間の達成率の推移" not in text  # no history given: no trend
    chart, = _svgs(bare_report["html"].read_text(encoding="utf-8"))
    assert "前回" not in "".join(_texts(chart)) + chart.find(f"{SVG}desc").text
    assert chart.find(f"{SVG}title").text == "基本目標・政策別の成果指標の達成率（令和6年度）"
    assert len(list(chart.iter(f"{SVG}rect"))) == 1 + 6  # the legend's 令和6年度, one bar per row


def test_a_previous_rate_of_one_pillar_alone_brings_the_legend_and_that_pillars_bar(bare):
    assessment, summary = bare
    one = dataclasses.replace(summary, pillars=(dataclasses.replace(summary.pillars[0], previous_rate=60.0),
                                                *summary.pillars[1:]))
    svg = ET.fromstring(str(chart_svg(assessment.plan, one)))
    assert "前回（令和5年度）" in _texts(svg) and "60.0%" in _texts(svg)
    assert len(list(svg.iter(f"{SVG}rect"))) == 2 + 6 + 1  # legend, one bar per row, 基本目標1's previous
    assert svg.find(f"{SVG}title").text.endswith("（令和6年度、前回との比較）")
    context = build_context(assessment, one, draft=False, report_date=REPORT_DATE)
    assert context["overall"]["chart_caption"] == "基本目標・政策別の成果指標の達成率（令和6年度、前回との比較）"
    assert "前回の成果指標の達成率（基本目標1 60.0%）と比較して、今回の達成率はいずれも高い値" in \
        comparison_sentence(assessment.plan, one)


def test_kanagawa_keeps_its_comparison_caption_and_legend(fy2020, final):
    html = final["html"].read_text(encoding="utf-8")
    chart, = _svgs(html)
    assert "前回（令和元年度）" in _texts(chart)
    assert "<figcaption>図　柱・中柱別の成果指標の達成率（令和2年度、前回との比較）</figcaption>" in html
    assert "計画期間の達成率の推移" not in html and "table.trend" not in html  # no history: no trend, no its CSS


# ---------------------------------------------------------------- A: the report's date


def test_the_report_date_is_the_callers_when_the_results_give_none(bare_report):
    cover = flat(pages(bare_report["pdf"])[0])
    assert "令和7年5月" in cover and "令和7年7月" not in cover
    html = bare_report["html"].read_text(encoding="utf-8")
    assert '<meta name="dcterms.created" content="2025-05-20T00:00:00+09:00">' in html
    assert '<time datetime="2025-05">令和7年5月</time>' in html
    assert re.search(r"^CreationDate:.*2025", poppler("pdfinfo", bare_report["pdf"]), flags=re.MULTILINE)


def test_the_results_publication_date_comes_before_the_callers():
    assessment = assess_cycle(2024, CITY)
    assert assessment.results.report.published == "2025-06"
    cover = build_context(assessment, summarize(assessment), draft=False, report_date=date(2030, 1, 2))["cover"]
    assert (cover["published"], cover["published_iso"]) == ("令和7年6月", "2025-06")
    assert report_date_of("2021-07", date(2030, 1, 2)) == date(2021, 7, 1)
    assert report_date_of(None, date(2030, 1, 2)) == date(2030, 1, 2)


# ---------------------------------------------------------------- C: lower is better, in the annex


def test_lower_is_better_targets_are_marked_in_the_annex(bare, bare_report):
    assessment, summary = bare
    rows = {r["key"]: r for body in build_context(assessment, summary, draft=False)["annex"]["bodies"]
            for r in body if r["kind"] == "measure"}
    assert rows["1-A-1-2"]["target"] == ["8.0分（少ないほど良い）"]
    assert rows["1-B-1-1"]["target"] == ["10人（少ないほど良い）"]
    assert rows["1-A-1-1"]["target"] == ["5,000人"]
    assert rows["1-B-1-2"]["target"] == ["(1)実施", "(2)300人"]
    assert sum(LOWER_IS_BETTER in t for r in rows.values() for t in r["target"]) == 3
    text = flat(pdftotext(bare_report["pdf"], "-raw"))
    for target in ("8.0分（少ないほど良い）", "10人（少ないほど良い）", "15分（少ないほど良い）"):
        assert target in text


def test_kanagawas_one_lower_is_better_target_is_marked(fy2020):
    assessment, summary = fy2020
    rows = [r for body in build_context(assessment, summary, draft=False)["annex"]["bodies"] for r in body
            if r["kind"] == "measure" and any(LOWER_IS_BETTER in t for t in r["target"])]
    assert [(r["name"], r["target"]) for r in rows] == [
        ("川崎図書館における公衆無線LANのセキュリティ確保", ["0件（少ないほど良い）"])]


# ---------------------------------------------------------------- B: the trend across the plan period


def test_the_trend_table_prints_every_year_on_record_with_a_dash_where_there_is_no_rate(trend_report):
    page = next(p for p in pages(trend_report["pdf"], "-layout") if "計画期間の達成率の推移" in p)
    table = page[page.index("成果指標の達成率の推移（令和4年度～令和6年度）"):]
    assert re.search(r"区分\s+令和4年度\s+令和5年度\s+令和6年度", table)
    assert re.search(r"^\s*全体\s+55\.0%\s+70\.0%\s+66\.7%\s*$", table, flags=re.MULTILINE)
    assert re.search(r"^\s*基本目標1 安全なまち\s+50\.0%\s+60\.0%\s+75\.0%\s*$", table, flags=re.MULTILINE)
    assert re.search(r"^\s*基本目標2 便利な市役所\s+—\s+80\.0%\s+50\.0%\s*$", table, flags=re.MULTILINE)
    text = flat(pdftotext(trend_report["pdf"], "-raw"))
    assert "令和4年度から令和6年度までの成果指標の達成率の推移は、次のとおりです。" in text


def test_the_trend_chart_draws_the_same_figures_with_readable_labels(trend_report):
    html = trend_report["html"].read_text(encoding="utf-8")
    _, chart = _svgs(html)
    assert chart.get("role") == "img" and chart.get("aria-labelledby") == "trend-title trend-desc"
    assert chart.find(f"{SVG}title").text == "全体・基本目標別の成果指標の達成率の推移（令和4年度～令和6年度）"
    texts = _texts(chart)
    for label in ("全体", "基本目標1 安全なまち", "基本目標2 便利な市役所", "令和4年度", "令和5年度", "令和6年度",
                  "55.0%", "70.0%", "66.7%", "50.0%", "60.0%", "75.0%", "80.0%"):
        assert label in texts, label
    assert texts.count("50.0%") == 2  # 基本目標1 in 令和4年度, 基本目標2 in 令和6年度
    assert "基本目標2 便利な市役所 令和4年度 記録なし" in chart.find(f"{SVG}desc").text
    # 全体 and 基本目標1 have a line through three years, 基本目標2 through two.
    lines = [p.get("points").count(",") for p in chart.iter(f"{SVG}polyline")]
    assert lines == [3, 3, 2]
    text = flat(pdftotext(trend_report["pdf"], "-raw"))
    assert "図全体・基本目標別の成果指標の達成率の推移（令和4年度～令和6年度）" in text
    for label in ("全体", "基本目標1安全なまち", "基本目標2便利な市役所", "令和4年度", "55.0%", "80.0%"):
        assert label in text


def test_the_previous_rates_compared_with_come_from_the_history(trend_report):
    text = flat(pdftotext(trend_report["pdf"], "-raw"))
    assert flat("前回の成果指標の達成率（全体70.0%、基本目標1 60.0%、基本目標2 80.0%）と比較して、今回の達成率は"
                "全体及び基本目標2では低い値、基本目標1では高い値となっていますが、") in text
    assert "図基本目標・政策別の成果指標の達成率（令和6年度、前回との比較）" in text
    html = trend_report["html"].read_text(encoding="utf-8")
    chart, _ = _svgs(html)
    assert "前回（令和5年度）" in _texts(chart) and "80.0%" in _texts(chart)


def test_the_history_wins_over_the_plans_previous_rates():
    assessment = assess_cycle(2024, CITY)
    summary = summarize(assessment)  # plan.yaml: 2023 total 70.0, 1: 60.0, 2: 80.0
    history = History(earlier=(YearRates(2023, 65.0, {"1": 62.5}, source=LEDGER),))
    sentences = build_context(assessment, summary, draft=False, history=history)["overall"]["sentences"]
    assert "前回の成果指標の達成率（全体65.0%、基本目標1 62.5%）と比較して" in sentences[-1]
    plan_only = build_context(assessment, summary, draft=False)["overall"]["sentences"]
    assert "前回の成果指標の達成率（全体70.0%、基本目標1 60.0%、基本目標2 80.0%）と比較して" in plan_only[-1]


def test_a_year_missing_between_two_on_record_is_a_column_of_dashes_and_breaks_the_lines(bare):
    assessment, summary = bare
    history = History(earlier=(YearRates(2021, 40.0, {"1": 45.0, "2": 35.0}), YearRates(2023, 70.0, {"1": 60.0})))
    context = trend_context(assessment.plan, summary, history)
    assert context["years"] == ["令和3年度", "令和4年度", "令和5年度", "令和6年度"]
    assert [row["cells"] for row in context["rows"]] == [
        ["40.0%", "—", "70.0%", "66.7%"], ["45.0%", "—", "60.0%", "75.0%"], ["35.0%", "—", "—", "50.0%"]]
    svg = ET.fromstring(str(context["chart"]))
    assert [p.get("points").count(",") for p in svg.iter(f"{SVG}polyline")] == [2, 2]  # 2023–2024 only
    again = trend_svg(assessment.plan, trend(assessment.plan, history.with_current(
        YearRates(2024, 66.7, {"1": 75.0, "2": 50.0}))))
    assert str(again) == str(context["chart"])  # the same figures draw the same bytes


def test_one_year_on_record_or_no_history_is_no_trend_and_changes_nothing(fy2020):
    assessment, summary = fy2020
    plain = render_html(build_context(assessment, summary, draft=False))
    for history in (History(), History(earlier=(YearRates(2018, None, {"I": 50.0}),))):
        assert render_html(build_context(assessment, summary, draft=False, history=history)) == plain
    assert trend_context(assessment.plan, summary, None) is None


def test_the_trend_is_tagged_embedded_and_screen_markup_stays_out_of_the_pdf(trend_render):
    paths, warnings = trend_render
    assert warnings == []
    assert re.search(r"^Tagged:\s+yes$", poppler("pdfinfo", paths["pdf"]), flags=re.MULTILINE)
    assert PdfReader(paths["pdf"]).trailer["/Root"]["/Lang"] == "ja"
    for row in poppler("pdffonts", paths["pdf"]).splitlines()[2:]:
        assert "Noto" in row and row.split()[-5] == "yes", row
    html = paths["html"].read_text(encoding="utf-8")
    region = 'aria-label="表　成果指標の達成率の推移（令和4年度～令和6年度）"'
    assert region in html and region not in print_markup(html)
    assert "table.trend" in html and " style=" not in html

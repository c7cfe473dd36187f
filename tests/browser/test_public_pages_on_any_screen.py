"""The published pages on a phone and a desktop (JIS X 8341-3:2016 AA, i.e. WCAG 2.0 AA; checked against
WCAG 2.1 A/AA by axe-core): the FY2020 report's HTML page, the site index (two plans and a year published
before plans had folders) and Kanagawa's own index, published into a temporary folder and served over
HTTP; no Prefect stack.

The page never scrolls sideways from 320 px up; the annex keeps every measure in a table that scrolls in
its own keyboard-focusable box, its name column fixed at the left; printing the page gives no scroll
boxes and nothing wider than the paper. Screenshots go to test-artifacts/browser/ for a person to look at.
"""

from __future__ import annotations

import functools
import threading
from datetime import datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser]

PHONE, DESKTOP = 390, 1280
WCAG_TAGS = {"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}
REPORT, INDEX, PLAN_INDEX = "kanagawa/2020/report-2020.html", "index.html", "kanagawa/index.html"
SHOT_NAMES = {REPORT: "report-2020", INDEX: "index", PLAN_INDEX: "plan-index"}
KANAGAWA = {"plan_id": "kanagawa", "plan_name": "かながわICT・データ利活用推進計画", "organisation": "神奈川県"}
HEADLINE = "達成率 69.8%（63施策中44施策が目標を達成）"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Kanagawa's FY2020 published as the office would (figures from the summary), beside its FY2019
    published before plans had folders (<site>/2019/, a meta.json without figures or plan id) and a second
    plan's year; served on a free port. Yields (base URL, the FY2020 measure names)."""
    import json
    import shutil

    from tenken.core.aggregate import summarize
    from tenken.files import sha256_file
    from tenken.report import write_report
    from tenken.services import assess_cycle
    from tenken.website import Headline, publish

    assessment = assess_cycle(2020)
    summary = summarize(assessment)
    files = write_report(assessment, summary, tmp_path_factory.mktemp("final"), draft=False)
    root = tmp_path_factory.mktemp("site")
    legacy = root / "2019"  # an older publication: no plan folder, no headline in its meta.json
    legacy.mkdir()
    shutil.copy(files["pdf"], legacy / "report-2019.pdf")
    (legacy / "meta.json").write_text(json.dumps({
        "fiscal_year": 2019, "title": f"{KANAGAWA['plan_name']} 令和元年度点検報告書", "organisation": "神奈川県",
        "published": "2020-07-30T00:00:00+09:00",
        "files": [{"kind": "pdf", "name": "report-2019.pdf", "sha256": sha256_file(files["pdf"])}]},
        ensure_ascii=False), encoding="utf-8")
    publish(files, fiscal_year=2024, plan_id="minato", plan_name="みなと市デジタル推進計画（架空）",
            organisation="みなと市（架空）", target=str(root), published_on=datetime(2025, 7, 30).astimezone(),
            headline=Headline(rate=62.5, rated=8, met=5, measure_label="事業"))
    publish(files, fiscal_year=2020, **KANAGAWA, target=str(root), published_on=datetime(2021, 7, 30).astimezone(),
            headline=Headline(rate=summary.rate, rated=summary.rated, met=summary.met, measure_label="施策"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", list(assessment.measures["name"])
    finally:
        server.shutdown()
        server.server_close()


def open_at(page, url: str, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 844})
    page.goto(url)


def page_width(page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


@pytest.mark.parametrize("width", [320, PHONE, DESKTOP])
@pytest.mark.parametrize("path", [REPORT, INDEX, PLAN_INDEX])
def test_the_page_never_scrolls_sideways(site, page, path, width):
    base, _ = site
    open_at(page, f"{base}/{path}", width)
    scroll_width, inner_width = page_width(page)
    height = page.evaluate("document.documentElement.scrollHeight")
    shot = screenshot(page, f"public-{SHOT_NAMES[path]}-{width}")
    print(f"{path} at {width}px: {scroll_width}x{height} ({shot.name})")
    assert scroll_width <= inner_width, f"{path} is {scroll_width}px wide on a {inner_width}px screen"
    if path == REPORT:
        assert height < 20_000, f"the report is {height}px tall at {width}px: a squeezed column?"


def test_the_annex_holds_every_measure_in_a_box_that_scrolls_by_keyboard(site, page):
    base, names = site
    open_at(page, f"{base}/{REPORT}", PHONE)
    box = page.locator("#annex .table-scroll")
    assert box.get_attribute("role") == "region" and box.get_attribute("aria-label")
    assert box.evaluate("e => [e.tabIndex, getComputedStyle(e).overflowX]") == [0, "auto"]
    shown = box.locator("tr.measure th.name").all_text_contents()
    assert len(shown) == len(names) == 76 and sorted(shown) == sorted(names)

    for _ in range(200):  # from the top of the page, Tab as a keyboard user would
        page.keyboard.press("Tab")
        if box.evaluate("e => e === document.activeElement"):
            break
    else:
        pytest.fail("Tab never reaches the annex's scroll box")
    assert box.evaluate("e => e.scrollWidth > e.clientWidth"), "on a phone the annex scrolls in its box"
    page.keyboard.press("End")
    for _ in range(40):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("e => e.scrollLeft + e.clientWidth >= e.scrollWidth - 1", arg=box.element_handle())
    screenshot(page, f"public-report-{PHONE}-annex-scrolled")

    # Scrolled to its end, a row reads: the name (fixed at the left), the rating, the reason, all in view.
    row = box.locator("tr.measure").nth(1)
    edges = row.evaluate("""r => ['th.name', 'td.rating', 'td.notes'].map(s => r.querySelector(s).getBoundingClientRect())
                                 .map(b => [b.left, b.right])""")
    (name_left, name_right), (rating_left, _), (_, notes_right) = edges
    box_left, box_right = box.evaluate("e => { const b = e.getBoundingClientRect(); return [b.left, b.right]; }")
    assert abs(name_left - box_left) <= 2, "the name column stays at the box's left edge"
    assert rating_left >= name_right - 2, "the name column does not cover the rating"
    assert notes_right <= box_right + 2, "the reason column fits beside them"


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
@pytest.mark.parametrize("path", [REPORT, INDEX, PLAN_INDEX])
def test_axe_finds_no_wcag_a_or_aa_violation(site, page, path, width):
    from axe_playwright_python.sync_playwright import Axe

    base, _ = site
    open_at(page, f"{base}/{path}", width)
    violations = [v for v in Axe().run(page).response["violations"] if WCAG_TAGS & set(v["tags"])]
    assert violations == [], "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:5]}" for v in violations)


def test_printing_the_report_page_gives_no_scroll_box_and_nothing_wider_than_the_paper(site, page):
    base, _ = site
    open_at(page, f"{base}/{REPORT}", 794)  # A4 portrait's width in CSS pixels
    page.emulate_media(media="print")
    assert page.locator(".scroll-hint").first.is_hidden()
    assert set(page.locator(".table-scroll").evaluate_all("es => es.map(e => getComputedStyle(e).overflowX)")) \
        == {"visible"}
    wider = page.evaluate("""() => [...document.body.querySelectorAll('*')]
        .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
        .map(e => e.tagName + '.' + e.className)""")
    assert wider == []
    assert page_width(page)[0] <= 794


def test_the_index_shows_each_plans_years_with_their_headline_figures_beside_their_links(site, page):
    base, _ = site
    open_at(page, f"{base}/{INDEX}", PHONE)
    kanagawa, minato = page.locator("section.plan").all()
    assert kanagawa.locator("h2").text_content() == KANAGAWA["plan_name"]
    assert kanagawa.locator("a", has_text="年度別一覧").get_attribute("href") == "kanagawa/"
    newest, older = kanagawa.locator("section.year").all()
    assert HEADLINE in newest.locator(".figures").text_content()
    assert newest.locator("a", has_text="報告書（HTML）").get_attribute("href") == REPORT
    assert older.locator(".figures").count() == 0 and "令和元年度" in older.locator("h3").text_content()
    assert older.locator("a", has_text="報告書（PDF）").get_attribute("href") == "2019/report-2019.pdf"
    assert "みなと市（架空）" in minato.text_content()
    assert "達成率 62.5%（8事業中5事業が目標を達成）" in minato.locator(".figures").text_content()

    open_at(page, f"{base}/{PLAN_INDEX}", PHONE)
    newest, older = page.locator("section.year").all()
    assert HEADLINE in newest.locator(".figures").text_content()
    assert newest.locator("a", has_text="報告書（HTML）").get_attribute("href") == f"../{REPORT}"
    assert older.locator("a", has_text="報告書（PDF）").get_attribute("href") == "../2019/report-2019.pdf"
    assert "みなと市" not in page.locator("main").text_content()

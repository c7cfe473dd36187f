"""The published pages on a phone and a desktop (JIS X 8341-3:2016 AA, i.e. WCAG 2.0 AA; checked against
WCAG 2.1 A/AA by axe-core): the FY2020 report's HTML page and the site index, published into a temporary
folder and served over HTTP; no Prefect stack.

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
REPORT, INDEX = "2020/report-2020.html", "index.html"
HEADLINE = "達成率 69.8%（63施策中44施策が目標を達成）"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """FY2020 published as the office would (figures from the summary), beside an older year whose
    meta.json predates the figures; served on a free port. Yields (base URL, the FY2020 measure names)."""
    from tenken.core.aggregate import summarize
    from tenken.report import write_report
    from tenken.services import assess_cycle
    from tenken.website import Headline, publish

    assessment = assess_cycle(2020)
    summary = summarize(assessment)
    files = write_report(assessment, summary, tmp_path_factory.mktemp("final"), draft=False)
    root = tmp_path_factory.mktemp("site")
    common = {"plan_name": "かながわICT・データ利活用推進計画", "organisation": "神奈川県", "target": str(root),
              "published_on": datetime(2021, 7, 30).astimezone()}
    publish(files, fiscal_year=2019, **common)  # an older publication: no headline in its meta.json
    publish(files, fiscal_year=2020, **common,
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
@pytest.mark.parametrize("path", [REPORT, INDEX])
def test_the_page_never_scrolls_sideways(site, page, path, width):
    base, _ = site
    open_at(page, f"{base}/{path}", width)
    scroll_width, inner_width = page_width(page)
    height = page.evaluate("document.documentElement.scrollHeight")
    shot = screenshot(page, f"public-{path.rsplit('/', 1)[-1].split('.')[0]}-{width}")
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
@pytest.mark.parametrize("path", [REPORT, INDEX])
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


def test_the_index_shows_each_years_headline_figures_beside_its_links(site, page):
    base, _ = site
    open_at(page, f"{base}/{INDEX}", PHONE)
    newest, older = page.locator("section.year").all()
    assert HEADLINE in newest.locator(".figures").text_content()
    assert newest.locator("a", has_text="報告書（HTML）").get_attribute("href") == REPORT
    assert older.locator(".figures").count() == 0 and "令和元年度" in older.locator("h2").text_content()
    assert older.locator("a", has_text="報告書（PDF）").count() == 1

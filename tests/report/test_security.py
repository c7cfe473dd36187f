"""Free text prints literally, and WeasyPrint fetches nothing but the report's own assets."""

from __future__ import annotations

import pytest
from pypdf import PdfReader

from tenken.core.aggregate import summarize
from tenken.core.assessment import assess
from tenken.core.results import Adjustment, ReportText
from tenken.report import write_report
from tenken.report.render import TEMPLATES, AssetFetcher, FetchRefused, render_pdf
from tests.factories import make_plan, measure, numeric, qualitative, result, results
from tests.report.conftest import flat, pdftotext


def payloads(server_url: str) -> dict[str, str]:
    return {
        "file_image": '<img src="file:///etc/passwd">',
        "attachment": f'<link rel=attachment href="{server_url}/attachment.txt">',
        "template": "{{ 7*7 }}",
        "url": f"{server_url}/pixel.png",
        "remote_image": f'<img src="{server_url}/remote.png">',
    }


def hostile_report(server_url: str, tmp_path):
    """A small plan whose every free text field carries one of the payloads."""
    p = payloads(server_url)
    plan = make_plan(
        measure(f"施策{p['file_image']}", numeric("10件", "件")),
        measure("施策{{ 7*7 }}", qualitative("実施")),
        measure("施策C", numeric("5件", "件")),
    )
    rows = results(
        result("I-1-ア-1", "2件", reason=f"理由 {p['file_image']}\n二行目 {p['attachment']}", cause="covid",
               highlight=(f"取組 {p['template']} {p['url']}",)),
        result("I-1-ア-2", "実施", self_rating="○", highlight=(f"画像 {p['remote_image']}",)),
        result("I-1-ア-3", "4件", adjustment=Adjustment(rating="○", justification=f"調整 {p['url']}", by="点検担当")),
    ).model_copy(update={"report": ReportText(published="2021-07", future=(f"今後 {p['attachment']}",))})
    assessment = assess(plan, rows)
    return write_report(assessment, summarize(assessment), tmp_path, draft=False)


def test_hostile_free_text_prints_literally_and_nothing_is_fetched(http_server, tmp_path):
    paths = hostile_report(http_server.url, tmp_path)
    text = flat(pdftotext(paths["pdf"], "-raw"))
    for payload in payloads(http_server.url).values():
        assert flat(payload) in text, payload
    assert http_server.requests == []
    assert "/EmbeddedFiles" not in str(PdfReader(paths["pdf"]).trailer["/Root"].get("/Names", {}))


def test_hostile_free_text_is_escaped_in_the_html(http_server, tmp_path):
    html = hostile_report(http_server.url, tmp_path)["html"].read_text(encoding="utf-8")
    assert "<img" not in html and "<link" not in html
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in html
    assert "{{ 7*7 }}" in html and "49" not in html.split("<body", 1)[1].split("<svg", 1)[0]


def test_markup_that_reached_weasyprint_still_fetches_nothing(http_server):
    """Defence in depth: even unescaped tags only reach the fetcher, which refuses them."""
    fetcher = AssetFetcher()
    html = (f'<html lang="ja"><head><link rel="stylesheet" href="{http_server.url}/style.css">'
            f'<link rel="attachment" href="{http_server.url}/attachment.txt"></head><body>'
            f'<img src="{http_server.url}/image.png"><img src="file:///etc/passwd">'
            f'<p style="background: url({http_server.url}/background.png)">本文</p></body></html>')
    pdf = render_pdf(html, fetcher)
    assert pdf.startswith(b"%PDF")
    assert http_server.requests == []
    assert f"{http_server.url}/image.png" in fetcher.refused
    assert "file:///etc/passwd" in fetcher.refused


def test_the_fetcher_serves_only_files_under_the_templates_folder(http_server):
    fetcher = AssetFetcher()
    css = fetcher.fetch((TEMPLATES / "report.css").as_uri())
    assert b"@page" in css.read()
    for url in ("file:///etc/passwd", TEMPLATES.as_uri() + "/../../pyproject.toml", f"{http_server.url}/x",
                "data:text/plain,hello", "file://example.org" + str(TEMPLATES / "report.css")):
        with pytest.raises(FetchRefused):
            fetcher.fetch(url)
    assert http_server.requests == []

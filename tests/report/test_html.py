"""The HTML page: the same content as the PDF, accessible on its own."""

from __future__ import annotations

import tinyhtml5

NS = "{http://www.w3.org/1999/xhtml}"


def test_the_html_page_is_japanese_titled_and_self_contained(final):
    html = final["html"].read_text(encoding="utf-8")
    root = tinyhtml5.parse(html)
    assert root.get("lang") == "ja"
    assert root.find(f"{NS}head/{NS}title").text == "かながわICT・データ利活用推進計画 令和2年度点検報告書"
    assert [e.tag for e in root.iter() if e.tag in (f"{NS}link", f"{NS}script", f"{NS}img")] == []
    assert " style=" not in html


def test_headings_tables_and_chart_carry_their_structure(final):
    root = tinyhtml5.parse(final["html"].read_text(encoding="utf-8"))
    assert len(list(root.iter(f"{NS}h1"))) == 1
    for table in root.iter(f"{NS}table"):
        headers = list(table.iter(f"{NS}th"))
        assert headers and all(th.get("scope") for th in headers)
    annex = next(t for t in root.iter(f"{NS}table") if t.get("class") == "annex-table")
    assert len([tr for tr in annex.iter(f"{NS}tr") if "measure" in (tr.get("class") or "")]) == 76
    svg = next(root.iter("{http://www.w3.org/2000/svg}svg"))
    assert svg.get("role") == "img" and svg.find("{http://www.w3.org/2000/svg}title") is not None

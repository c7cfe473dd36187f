"""One website target for several plans: <target>/<plan_id>/<year>/, an index per plan and a site index that
lists every plan with its years; years published before plans had folders (<target>/<year>/) stay listed."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from pathlib import Path

import pytest

from tenken.website import Headline, publish

KANAGAWA = {"plan_id": "kanagawa", "plan_name": "かながわICT・データ利活用推進計画", "organisation": "神奈川県"}
MINATO = {"plan_id": "minato", "plan_name": "みなと市デジタル推進計画（架空）", "organisation": "みなと市（架空）"}
FIGURES = {("kanagawa", 2020): Headline(rate=69.84, rated=63, met=44, measure_label="施策"),
           ("minato", 2023): Headline(rate=50.0, rated=8, met=4, measure_label="事業"),
           ("minato", 2024): Headline(rate=62.5, rated=8, met=5, measure_label="事業")}


def report_files(folder: Path, plan_id: str, year: int, edition: str = "") -> dict[str, Path]:
    folder = folder / f"out-{plan_id}-{year}{edition}"
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for kind, name in (("pdf", f"report-{year}.pdf"), ("html", f"report-{year}.html"), ("csv", f"annex-{year}.csv")):
        (folder / name).write_text(f"{plan_id} {year} {kind}{edition}", encoding="utf-8")
        files[kind] = folder / name
    return files


def publish_year(tmp_path: Path, site: Path, plan: dict, year: int, edition: str = ""):
    return publish(report_files(tmp_path, plan["plan_id"], year, edition), fiscal_year=year, target=str(site),
                   published_on=datetime(year + 1, 7, 30).astimezone(), headline=FIGURES[plan["plan_id"], year],
                   **plan)


def write_legacy_year(site: Path, year: int, title: str, organisation: str) -> None:
    """A year as published before plans had folders: <target>/<year>/, a meta.json without plan_id."""
    folder = site / str(year)
    folder.mkdir(parents=True)
    (folder / f"report-{year}.pdf").write_bytes(b"%PDF-1.7 legacy")
    digest = hashlib.sha256(b"%PDF-1.7 legacy").hexdigest()
    (folder / "SHA256SUMS").write_text(f"{digest}  report-{year}.pdf\n", encoding="utf-8")
    meta = {"fiscal_year": year, "title": title, "organisation": organisation, "published": f"{year + 1}-07-30T00:00:00+09:00",
            "files": [{"kind": "pdf", "name": f"report-{year}.pdf", "sha256": digest}]}
    (folder / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")


def plan_sections(index: str) -> dict[str, str]:
    """The site index's plan sections by id (plan-<plan_id>, or earlier-N for legacy years of no plan folder)."""
    chunks = index.split('<section class="plan"')[1:]
    return {re.search(r'aria-labelledby="([^"]+)"', chunk).group(1): chunk for chunk in chunks}


def year_headings(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", h) for h in re.findall(r'class="year-title"[^>]*>(.*?)</h[23]>', html)]


def hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


def files_under(folder: Path) -> dict[str, tuple[str, int]]:
    return {str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def site(tmp_path):
    """Kanagawa FY2020 and Minato FY2023–2024 in one target, beside two legacy years: Kanagawa's FY2019
    (its meta.json names the plan) and FY2018 of a plan that has no folder."""
    site = tmp_path / "site"
    write_legacy_year(site, 2019, f"{KANAGAWA['plan_name']} 令和元年度点検報告書", "神奈川県")
    write_legacy_year(site, 2018, "かながわICT推進計画 平成30年度点検報告書", "神奈川県")
    publish_year(tmp_path, site, KANAGAWA, 2020)
    publish_year(tmp_path, site, MINATO, 2023)
    publish_year(tmp_path, site, MINATO, 2024)
    return site


def test_each_plans_years_are_published_in_its_own_folder_with_plan_in_meta(site, tmp_path):
    assert sorted(p.name for p in site.iterdir()) == ["2018", "2019", "index.html", "kanagawa", "minato"]
    assert sorted(p.name for p in (site / "minato").iterdir()) == ["2023", "2024", "index.html"]
    meta = json.loads((site / "minato" / "2024" / "meta.json").read_text(encoding="utf-8"))
    assert (meta["plan_id"], meta["plan_name"], meta["organisation"]) == (
        "minato", MINATO["plan_name"], MINATO["organisation"])
    assert meta["title"] == f"{MINATO['plan_name']} 令和6年度点検報告書"
    assert sorted((site / "minato" / "2024" / "SHA256SUMS").read_text().split()[1::2]) == [
        "annex-2024.csv", "report-2024.html", "report-2024.pdf"]

    published = publish_year(tmp_path, site, KANAGAWA, 2020, edition="-again")
    assert published.target == str(site / "kanagawa" / "2020")
    assert (published.plan_id, published.path) == ("kanagawa", "kanagawa/2020")
    assert published.index == str(site / "index.html")
    assert published.plan_index == str(site / "kanagawa" / "index.html")
    assert published.files["pdf"] == str(site / "kanagawa" / "2020" / "report-2020.pdf")


def test_the_site_index_lists_every_plan_with_its_years_figures_and_links(site):
    index = (site / "index.html").read_text(encoding="utf-8")
    sections = plan_sections(index)
    assert list(sections) == ["plan-kanagawa", "plan-minato", "earlier-3"]
    kanagawa, minato, earlier = sections.values()

    assert KANAGAWA["plan_name"] in kanagawa and "神奈川県" in kanagawa
    assert year_headings(kanagawa) == ["令和2年度点検報告書", "令和元年度点検報告書"]
    assert "69.8%" in kanagawa and "（63施策中44施策が目標を達成）" in kanagawa
    assert {"kanagawa/", "kanagawa/2020/report-2020.pdf", "kanagawa/2020/report-2020.html",
            "kanagawa/2020/annex-2020.csv", "kanagawa/2020/SHA256SUMS",
            "2019/report-2019.pdf", "2019/SHA256SUMS"} <= set(hrefs(kanagawa)), "the legacy FY2019 under its plan"

    assert MINATO["plan_name"] in minato and MINATO["organisation"] in minato
    assert year_headings(minato) == ["令和6年度点検報告書", "令和5年度点検報告書"], "newest first"
    assert "62.5%" in minato and "（8事業中5事業が目標を達成）" in minato
    assert "50.0%" in minato and "（8事業中4事業が目標を達成）" in minato
    assert {"minato/", "minato/2024/report-2024.pdf", "minato/2023/report-2023.pdf"} <= set(hrefs(minato))
    assert not any(h.startswith(("kanagawa", "20")) for h in hrefs(minato))

    assert "かながわICT推進計画" in earlier and year_headings(earlier) == ["平成30年度点検報告書"]
    assert "2018/report-2018.pdf" in hrefs(earlier), "a legacy year of no plan folder: a section of its own"

    toc = index.split("<main>")[0]
    assert all(f'href="#{anchor}"' in toc for anchor in sections), "several plans: a list of them first"
    assert "<p>神奈川県</p>" not in toc, "two organisations: each plan names its own"


def test_each_plans_index_lists_only_its_own_years(site):
    kanagawa = (site / "kanagawa" / "index.html").read_text(encoding="utf-8")
    minato = (site / "minato" / "index.html").read_text(encoding="utf-8")

    assert year_headings(minato) == ["令和6年度点検報告書", "令和5年度点検報告書"]
    assert MINATO["plan_name"] in minato and KANAGAWA["plan_name"] not in minato
    assert {"../minato/2024/report-2024.pdf", "../minato/2023/SHA256SUMS", "../"} <= set(hrefs(minato))
    assert not any("kanagawa" in h or h.startswith(("../2019", "../2018")) for h in hrefs(minato))
    assert "62.5%" in minato and "69.8%" not in minato

    assert year_headings(kanagawa) == ["令和2年度点検報告書", "令和元年度点検報告書"]
    assert {"../kanagawa/2020/report-2020.pdf", "../2019/report-2019.pdf"} <= set(hrefs(kanagawa))
    assert not any("minato" in h or "2018" in h for h in hrefs(kanagawa))


def test_republishing_one_plan_touches_none_of_the_others_files(site, tmp_path):
    kanagawa, legacy = files_under(site / "kanagawa"), files_under(site / "2019")
    minato_2023 = files_under(site / "minato" / "2023")

    published = publish_year(tmp_path, site, MINATO, 2024, edition="-second")

    assert files_under(site / "kanagawa") == kanagawa, "checksums and modification times unchanged"
    assert files_under(site / "2019") == legacy and files_under(site / "minato" / "2023") == minato_2023
    assert published.checksums["report-2024.pdf"] == hashlib.sha256(b"minato 2024 pdf-second").hexdigest()
    assert (site / "minato" / "2024" / "report-2024.pdf").read_text(encoding="utf-8") == "minato 2024 pdf-second"
    sections = plan_sections((site / "index.html").read_text(encoding="utf-8"))
    assert year_headings(sections["plan-kanagawa"]) == ["令和2年度点検報告書", "令和元年度点検報告書"]


def test_with_one_plan_the_site_index_reads_as_that_plans_list_of_years(tmp_path):
    site = tmp_path / "site"
    publish_year(tmp_path, site, KANAGAWA, 2020)
    index = (site / "index.html").read_text(encoding="utf-8")

    assert 'class="toc"' not in index, "no list of plans for one plan"
    assert "<title>点検報告書 一覧 | 神奈川県</title>" in index and "<p>神奈川県</p>" in index
    assert list(plan_sections(index)) == ["plan-kanagawa"]
    assert index.count("神奈川県") == 2, "the organisation once in the title and once on the page"
    assert year_headings(index) == ["令和2年度点検報告書"] and "69.8%" in index


def test_a_legacy_year_republished_in_the_plans_folder_keeps_both_listed(tmp_path):
    site = tmp_path / "site"
    write_legacy_year(site, 2020, f"{KANAGAWA['plan_name']} 令和2年度点検報告書", "神奈川県")
    publish_year(tmp_path, site, KANAGAWA, 2020)

    own = (site / "kanagawa" / "index.html").read_text(encoding="utf-8")
    assert year_headings(own) == ["令和2年度点検報告書", "令和2年度点検報告書（以前に公開した版）"]
    assert hrefs(own).index("../kanagawa/2020/report-2020.pdf") < hrefs(own).index("../2020/report-2020.pdf")
    assert len(set(re.findall(r'id="([^"]+)"', own))) == len(re.findall(r'id="([^"]+)"', own)), "unique ids"


@pytest.mark.parametrize("plan_id", ["2020", "Kanagawa", "../x", ""])
def test_a_plan_id_that_cannot_name_a_plan_folder_is_refused(tmp_path, plan_id):
    with pytest.raises(ValueError, match="plan id"):
        publish(report_files(tmp_path, "x", 2020), fiscal_year=2020, plan_name="計画", organisation="県",
                target=str(tmp_path / "site"), plan_id=plan_id)
    assert not (tmp_path / "site").exists()

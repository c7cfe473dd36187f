"""The report context: narrative phrased from the figures, labels and numbering from the plan."""

from __future__ import annotations

import dataclasses

import pytest

from tenken.core.aggregate import Summary, summarize
from tenken.report import write_report
from tenken.report.context import build_context, cause_phrase, comparison_sentence, summary_table
from tenken.services import assess_cycle
from tests.conftest import ROOT
from tests.report.conftest import flat, pdftotext

CITY = ROOT / "tests" / "fixtures" / "city_plan"


def with_previous(summary: Summary, total: float, *pillars: float) -> Summary:
    assert len(pillars) == len(summary.pillars)
    return dataclasses.replace(summary, previous_rate=total, pillars=tuple(
        dataclasses.replace(pillar, previous_rate=rate) for pillar, rate in zip(summary.pillars, pillars)))


def test_rates_below_the_previous_cycle_read_as_lower_and_lead_into_the_causes(fy2020):
    assessment, summary = fy2020
    sentence = comparison_sentence(assessment.plan, summary)
    assert "今回の達成率はいずれも低い値となっていますが、達成できなかった19施策のうち、13施策が" in sentence


def test_rates_above_the_previous_cycle_read_as_higher(fy2020):
    assessment, summary = fy2020
    sentence = comparison_sentence(assessment.plan, with_previous(summary, 50.0, 60.0, 55.5))
    assert "（全体50.0%、柱Ⅰ 60.0%、柱Ⅱ 55.5%）" in sentence
    assert "いずれも高い値となっています。なお、達成できなかった19施策のうち" in sentence
    assert "低い" not in sentence


def test_mixed_changes_name_which_rate_went_which_way(fy2020):
    assessment, summary = fy2020
    sentence = comparison_sentence(assessment.plan, with_previous(summary, 80.0, 70.0, 63.2))
    assert "今回の達成率は全体では低い値、柱Ⅰでは高い値、柱Ⅱでは同じ値となっています" in sentence


def test_the_summary_table_is_laid_out_from_the_shared_rows_walk(fy2020):
    _, summary = fy2020
    table = summary_table(summary)
    rows = list(summary.rows())
    assert [g["label"] for g in table["groups"]] == [r.label for r in rows if r.kind == "pillar"]
    assert [row["label"] for g in table["groups"] for row in g["rows"]] == [
        r.label for r in rows if r.kind == "sub_pillar"]
    assert [g["rowspan"] for g in table["groups"]] == ["4", "5"]  # the sub-pillars and the 小計 row
    assert [g["subtotal"]["rate"] for g in table["groups"]] == ["72.7%", "63.2%"]
    assert table["total"] == {"rate": "69.8%", "rated": "63", "met": "44", "not_achieved": "19"}

    class Relabelled(Summary):
        def rows(self):
            for row in Summary.rows(self):
                yield dataclasses.replace(row, label=f"<{row.label}>", rated=row.rated + 1000)

    relabelled = Relabelled(**{f.name: getattr(summary, f.name) for f in dataclasses.fields(summary)})
    table = summary_table(relabelled)
    assert all(g["label"].startswith("<") for g in table["groups"])
    assert all(row["label"].startswith("<") and int(row["rated"]) > 1000 for g in table["groups"] for row in g["rows"])
    assert table["total"]["rated"] == "1063"


def test_the_cause_phrase_is_built_from_the_configured_labels():
    assert cause_phrase(["新型コロナウイルス感染症の影響", "国の動向の影響"]) == "新型コロナウイルス感染症や国の動向の影響等"
    assert cause_phrase(["天候の影響"]) == "天候の影響"
    assert cause_phrase(["大雨", "停電"]) == "大雨や停電等"


def test_the_annex_keeps_reason_lines_apart_and_marks_finished_and_unset_measures(fy2020):
    assessment, summary = fy2020
    bodies = build_context(assessment, summary, draft=False)["annex"]["bodies"]
    assert len(bodies) == 21  # one row group per field
    rows = {r["key"]: r for body in bodies for r in body if r["kind"] == "measure"}
    assert len(rows) == 76
    assert len(rows["I-1-ア-2"]["notes"]) == 2
    assert rows["I-1-ウ-3"]["finished"] == "(令和元年度で取組完了)"
    assert (rows["I-1-オ-3"]["target"], rows["I-1-オ-3"]["actual"], rows["I-1-オ-3"]["rating"]) == (["—"], ["—"], "—")
    assert rows["I-1-イ-1"]["target"] == ["(1)400,000PV", "(2)100,000PV"]
    assert rows["I-1-カ-1"]["notes"][0].startswith("再編・統合により")  # the adjustment's justification
    assert rows["I-1-ア-1"]["department"] == "デジタル戦略本部室"


@pytest.fixture(scope="module")
def city_report(tmp_path_factory):
    assessment = assess_cycle(2024, CITY)
    paths = write_report(assessment, summarize(assessment), tmp_path_factory.mktemp("city"), draft=False)
    return flat(pdftotext(paths["pdf"], "-raw"))


def test_another_plan_prints_its_own_level_labels_and_numbering(city_report):
    assert "基本目標1「安全なまち」の主な取組" in city_report
    assert "基本目標1安全なまち" in city_report and "A防災" in city_report
    assert "事業名" in city_report and "事業数" in city_report and "事業別成果指標達成状況一覧（令和6年度）" in city_report
    assert "令和6年度点検報告書" in city_report and "令和7年6月" in city_report
    assert "柱" not in city_report


def test_another_plan_phrases_its_narrative_from_its_own_figures(city_report):
    assert "計画には4施策8事業が位置付けられており" in city_report
    assert "天候の影響によるもの" in city_report

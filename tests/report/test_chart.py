"""The achievement-rate chart: one bar per sub-pillar and pillar, the previous cycle beside."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from tenken.core.aggregate import summarize
from tenken.core.assessment import assess
from tenken.report.chart import chart_svg
from tests.factories import make_plan, measure, numeric, result, results


def test_the_chart_draws_current_and_previous_rates_with_their_labels(fy2020):
    assessment, summary = fy2020
    svg = ET.fromstring(str(chart_svg(assessment.plan, summary)))
    texts = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert "全体" in texts and "柱Ⅰ くらしの情報化" in texts and "④ 情報化人材の確保" in texts
    for figure in ("69.8%", "81.6%", "72.7%", "81.2%", "63.2%", "82.6%", "100.0%", "0.0%"):
        assert figure in texts
    bars = [r for r in svg.iter("{http://www.w3.org/2000/svg}rect")]
    assert len(bars) == 2 + 10 + 3  # legend, one per row, previous for total and each pillar
    assert svg.get("role") == "img" and svg.find("{http://www.w3.org/2000/svg}title").text.startswith("柱・中柱別")


def test_titles_in_the_chart_are_escaped():
    plan = make_plan(measure("施策", numeric("1件", "件")))
    plan = plan.model_copy(update={"tree": tuple(
        node.model_copy(update={"title": '<script>alert("x")</script>'}) for node in plan.tree)})
    assessment = assess(plan, results(result("I-1-ア-1", "1件")))
    svg = str(chart_svg(plan, summarize(assessment)))
    assert "<script>" not in svg and "&lt;script&gt;" in svg

from tenken.core.assessment import assess
from tenken.core.discrepancies import discrepancies
from tenken.core.plan import Rating, RatingPolicy

from tests.factories import make_plan, measure, numeric, qualitative, result, results

PLAN = make_plan(measure("公開", qualitative("一般公開")), measure("研修", numeric("20回", "回")),
                 measure("台数", numeric("100台", "台")))


def kinds(*rows, previous=None) -> dict[str, list[str]]:
    found = discrepancies(assess(PLAN, results(*rows)), previous)
    out: dict[str, list[str]] = {}
    for item in found:
        out.setdefault(item["key"], []).append(item["kind"])
    return out


def test_a_self_rating_against_the_suggestion_a_miss_without_cause_and_an_adjustment_are_flagged():
    found = kinds(result("I-1-ア-1", "未実施", self_rating=Rating.ACHIEVED),
                  result("I-1-ア-2", "8回", reason="中止"),
                  result("I-1-ア-3", "90台", adjustment={"rating": "○", "justification": "統合", "by": "事務局"}))
    assert found == {"I-1-ア-1": ["self_rating"], "I-1-ア-2": ["no_cause"], "I-1-ア-3": ["adjusted"]}


def test_a_reason_copied_from_last_year_is_flagged():
    last_year = results(result("I-1-ア-2", "5回", reason="感染症のため中止した。"), year=2019)
    found = kinds(result("I-1-ア-1", "一般公開", self_rating=Rating.ACHIEVED),
                  result("I-1-ア-2", "8回", reason="感染症のため中止した。", cause="covid"),
                  result("I-1-ア-3", "100台"), previous=last_year)
    assert found == {"I-1-ア-2": ["same_reason"]}


def test_the_kanagawa_example_shows_its_two_adjustments_to_reviewers():
    from tenken.services import assess_cycle
    from tenken.config import DEFAULT_CONFIG

    found = discrepancies(assess_cycle(2020, DEFAULT_CONFIG))
    assert sorted(f["name"] for f in found if f["kind"] == "adjusted") == ["モバイルPCの導入", "学習用コンピュータの整備"]


def _plan_with_multiple(multiple=None, direction="higher"):
    """One measure, target 100件; `rating.plausible_multiple` as plan.yaml would set it."""
    plan = make_plan(measure("件数", numeric("100件", "件", direction)))
    if multiple is None:
        return plan
    policy = RatingPolicy.model_validate({**plan.rating.model_dump(), "plausible_multiple": multiple})
    return plan.model_copy(update={"rating": policy})


def implausible_of(plan, *written, **fields):
    found = discrepancies(assess(plan, results(result("I-1-ア-1", *written, **fields))))
    return [f for f in found if f["kind"] == "implausible"]


def test_an_actual_150_times_the_target_is_a_point_for_reviewers_and_still_rated_by_the_rules():
    plan = _plan_with_multiple()
    assessment = assess(plan, results(result("I-1-ア-1", "15,000件")))
    assert assessment.measures.iloc[0]["rating"] == Rating.EXCEEDED.value  # rated as the rules say
    found = [f for f in discrepancies(assessment) if f["kind"] == "implausible"]
    assert len(found) == 1 and found[0]["key"] == "I-1-ア-1"
    assert "実績「15,000件」が目標「100件」の100倍を超えています（約150倍）" in found[0]["detail"]
    assert "桁や単位の誤りがないか" in found[0]["detail"] and "「◎」" in found[0]["detail"]


def test_an_actual_50_times_the_target_is_not_a_point():
    assert implausible_of(_plan_with_multiple(), "5,000件") == []
    assert implausible_of(_plan_with_multiple(), "10,000件") == []  # exactly 100× is not beyond it


def test_the_plausible_multiple_is_configurable():
    assert implausible_of(_plan_with_multiple(10), "5,000件")  # 50× is beyond 10×
    assert implausible_of(_plan_with_multiple(1000), "15,000件") == []
    assert "10倍を超えています" in implausible_of(_plan_with_multiple(10), "5,000件")[0]["detail"]


def test_the_plausible_multiple_comes_from_plan_yaml_and_must_exceed_one():
    import pytest
    from pydantic import ValidationError

    from tenken.config import ConfigError, plan_from_mapping
    from tests.factories import DEPARTMENTS

    def raw(multiple):
        return {"plan": {"name": "計画", "organisation": "県", "period": [2019, 2022]},
                "levels": [{"key": "field", "label": "分野", "numbering": "katakana"}],
                "rating": {"plausible_multiple": multiple},
                "tree": [{"title": "分野", "measures": [measure("件数", numeric("100件", "件"))]}]}

    assert plan_from_mapping(raw(20), DEPARTMENTS).rating.plausible_multiple == 20
    assert make_plan(measure("件数", numeric("100件", "件"))).rating.plausible_multiple == 100
    with pytest.raises((ConfigError, ValidationError)):
        plan_from_mapping(raw(1), DEPARTMENTS)


def test_for_lower_is_better_a_positive_actual_below_target_over_the_multiple_is_a_point_but_zero_is_not():
    plan = _plan_with_multiple(direction="lower")
    found = implausible_of(plan, "0.5件")
    assert len(found) == 1 and "100分の1を下回っています" in found[0]["detail"]
    assert implausible_of(plan, "0件") == []
    assert implausible_of(plan, "2件") == []
    assert implausible_of(plan, "15,000件", reason="増加", cause="other") == []  # rated △, needs a reason anyway


def test_each_part_of_a_multi_part_measure_is_checked_and_named():
    plan = make_plan(measure("閲覧", {"parts": [
        {"label": "PV", "kind": "numeric", "target": "1,000PV", "unit": "PV"},
        {"label": "件数", "kind": "numeric", "target": "10件", "unit": "件"}]}))
    found = implausible_of(plan, "1,200PV", "2,000件")
    assert len(found) == 1 and found[0]["detail"].startswith("(2)実績「2,000件」")

import pytest
from hypothesis import given, strategies as st

from tenken.core.assessment import assess
from tenken.core.plan import Rating, RatingPolicy
from tenken.core.rating import rate_numeric, suggest_qualitative

from tests.factories import make_plan, measure, numeric, qualitative, result, results

THRESHOLD = 1.25


def rating_of(year_entry: dict, *actual: str, **fields) -> tuple[str, str]:
    plan = make_plan(measure("施策", year_entry))
    row = assess(plan, results(result("I-1-ア-1", *actual, **fields))).measures.iloc[0]
    return row["rule_rating"], row["rating"]


def test_unmet_numeric_target_is_rated_not_achieved():
    assert rating_of(numeric("20回", "回"), "8回", reason="感染症のため") == ("△", "△")


def test_met_numeric_target_is_rated_achieved():
    assert rating_of(numeric("100%", "%"), "100%") == ("○", "○")


def test_a_ratio_at_the_threshold_is_rated_exceeded():
    assert rating_of(numeric("60%", "%"), "75.3%") == ("◎", "◎")


def test_a_small_margin_over_the_target_is_only_achieved():
    assert rating_of(numeric("57,000", ""), "61,000") == ("○", "○")


def test_lower_is_better_zero_against_zero_is_achieved():
    assert rating_of(numeric("0件", "件", "lower"), "0件") == ("○", "○")


def test_lower_is_better_above_target_is_not_achieved():
    assert rating_of(numeric("0件", "件", "lower"), "2件", reason="対策を強化する") == ("△", "△")


def test_a_multi_part_measure_takes_its_worst_part():
    entry = {"parts": [{"label": "PV数", **numeric("400,000PV", "PV")}, {"label": "月平均", **numeric("100,000PV", "PV")}]}
    assert rating_of(entry, "841,586PV", "83,640PV", reason="訪日客の減少") == ("△", "△")


def test_a_negative_word_on_a_numeric_indicator_is_not_achieved():
    assert rating_of(numeric("10,000人", "人"), "未把握", reason="理由", cause="covid") == ("△", "△")


def test_qualitative_indicators_take_the_departments_self_rating():
    assert rating_of(qualitative("計画策定"), "一般公開", self_rating=Rating.ACHIEVED) == ("○", "○")


def test_an_adjusted_rating_keeps_the_rules_rating_beside_it():
    adjustment = {"rating": "○", "justification": "学校の再編による", "by": "点検担当"}
    assert rating_of(numeric("23,142台", "台"), "22,960台", adjustment=adjustment) == ("△", "○")


@pytest.mark.parametrize(("target", "actual", "expected"), [
    ("実施", "実施", Rating.ACHIEVED),
    ("対象順次拡大", "対象順次拡大(※)", Rating.ACHIEVED),
    ("一般公開", "未実施", Rating.NOT_ACHIEVED),
    ("計画策定", "国の指針に基づいて検討中", Rating.NOT_ACHIEVED),
    ("開発完了", "開発中", Rating.NOT_ACHIEVED),
    ("計画策定", "一般公開", None),
])
def test_the_system_suggests_a_rating_for_qualitative_results(target, actual, expected):
    assert suggest_qualitative(target, actual, RatingPolicy()) is expected


def test_changing_the_threshold_in_configuration_changes_the_rating():
    plan = make_plan(measure("施策", numeric("60%", "%")), exceeded_ratio=1.3)
    row = assess(plan, results(result("I-1-ア-1", "75.3%"))).measures.iloc[0]
    assert row["rating"] == "○"


positive = st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False)


@given(target=positive, a=positive, b=positive, threshold=st.floats(min_value=1.0, max_value=3.0))
def test_for_higher_is_better_the_rating_never_falls_as_the_actual_rises(target, a, b, threshold):
    low, high = sorted((a, b))
    assert rate_numeric(target, high, False, threshold).rank >= rate_numeric(target, low, False, threshold).rank


@given(target=positive, a=positive, b=positive)
def test_for_lower_is_better_the_rating_never_rises_as_the_actual_rises(target, a, b):
    low, high = sorted((a, b))
    assert rate_numeric(target, high, True, THRESHOLD).rank <= rate_numeric(target, low, True, THRESHOLD).rank

from tenken.core.assessment import assess
from tenken.core.discrepancies import discrepancies
from tenken.core.plan import Rating

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

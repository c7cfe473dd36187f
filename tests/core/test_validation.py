"""Bad results get a clear Japanese message naming the measure and the field; nothing is guessed."""

import shutil

import pytest
import yaml

from tenken.core.assessment import assess, check, problems_in
from tenken.core.errors import ValidationFailed
from tenken.core.plan import Rating

from tests.conftest import ROOT, run_cli
from tests.factories import make_plan, measure, numeric, qualitative, result, results

PLAN = make_plan(
    measure("研修", numeric("20回", "回")),
    measure("公開", qualitative("一般公開")),
    measure("利用者", numeric("10,000人", "人"), department="情報課"),
)


def problems_of(*rows) -> list:
    problems, _ = check(PLAN, results(*rows))
    assert problems_in(PLAN, results(*rows)) == problems  # what a form's check finds, without the frame
    return problems


def complete(**overrides) -> list:
    rows = {
        "I-1-ア-1": result("I-1-ア-1", "20回"),
        "I-1-ア-2": result("I-1-ア-2", "一般公開", self_rating=Rating.ACHIEVED),
        "I-1-ア-3": result("I-1-ア-3", "12,000人"),
    }
    rows.update(overrides)
    return [r for r in rows.values() if r is not None]


def only_problem(*rows):
    problems = problems_of(*rows)
    assert len(problems) == 1, [p.message for p in problems]
    return problems[0]


def test_a_complete_valid_submission_has_no_problems():
    assert problems_of(*complete()) == []


def test_an_unknown_measure_is_named():
    problem = only_problem(*complete(), result("I-1-ア-9", "1回"))
    assert problem.measure == "I-1-ア-9" and "計画にありません" in problem.message


def test_a_missing_measure_is_named_with_its_title():
    problem = only_problem(*complete(**{"I-1-ア-1": None}))
    assert problem.field == "actual" and "「研修」の結果がありません" in problem.message


def test_a_unit_mismatch_is_an_error_not_a_conversion():
    problem = only_problem(*complete(**{"I-1-ア-3": result("I-1-ア-3", "１万人")}))
    assert "単位「万人」" in problem.message and "単位「人」" in problem.message


def test_text_where_a_number_is_due_is_refused():
    problem = only_problem(*complete(**{"I-1-ア-1": result("I-1-ア-1", "たくさん")}))
    assert "数値ではありません" in problem.message and problem.field == "actual"


def test_full_width_digits_are_accepted():
    assert problems_of(*complete(**{"I-1-ア-1": result("I-1-ア-1", "２０回")})) == []


def test_not_achieved_without_a_reason_is_refused():
    problem = only_problem(*complete(**{"I-1-ア-1": result("I-1-ア-1", "8回")}))
    assert problem.field == "reason" and "未達成の理由及び今後の見込み等" in problem.message


def test_an_adjusted_rating_without_justification_is_refused():
    adjusted = result("I-1-ア-1", "8回", reason="理由", adjustment={"rating": "○", "justification": " "})
    problem = only_problem(*complete(**{"I-1-ア-1": adjusted}))
    assert problem.field == "adjustment" and "理由の記載が必要" in problem.message


def test_a_duplicated_measure_is_refused():
    problem = only_problem(*complete(), result("I-1-ア-1", "20回"))
    assert "重複" in problem.message


def test_a_qualitative_result_without_a_self_rating_is_refused():
    problem = only_problem(*complete(**{"I-1-ア-2": result("I-1-ア-2", "一般公開")}))
    assert problem.field == "self_rating" and "自己評価" in problem.message


def test_another_departments_measure_is_refused():
    problem = only_problem(*complete(**{"I-1-ア-3": result("I-1-ア-3", "12,000人", department="dept-a")}))
    assert problem.field == "department" and "情報課の施策" in problem.message


def test_an_unknown_cause_tag_lists_the_choices():
    row = result("I-1-ア-1", "8回", reason="理由", cause="aliens")
    problem = only_problem(*complete(**{"I-1-ア-1": row}))
    assert "感染症の影響" in problem.message


def test_a_target_missing_from_the_plan_is_named():
    problems, _ = check(PLAN, results(*complete(), year=2021))
    assert len(problems) == 3
    assert all("令和3年度の目標が計画にありません" in p.message for p in problems)


def test_every_problem_is_reported_at_once():
    with pytest.raises(ValidationFailed) as raised:
        assess(PLAN, results(result("I-1-ア-1", "たくさん"), result("I-1-ア-3", "１万人")))
    assert len(raised.value.problems) == 3


def write_bad_example(tmp_path, mutate) -> str:
    config = tmp_path / "kanagawa"
    shutil.copytree(ROOT / "tenken" / "examples" / "kanagawa", config)
    path = config / "results" / "2020.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    mutate(data["results"])
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(config)


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda rows: rows.append({"measure": "I-9-ア-1", "actual": "1件"}), "施策 I-9-ア-1 は計画にありません"),
    (lambda rows: rows.pop(0), "の結果がありません"),
    (lambda rows: rows[1].update(reason=None), "「未達成の理由及び今後の見込み等」を入力してください"),
    (lambda rows: rows[1].update(actual="1万人"), "単位「万人」が目標「10,000人」の単位「人」と異なります"),
])
def test_the_cli_answers_bad_results_with_a_message_and_no_traceback(tmp_path, mutate, expected):
    completed = run_cli("summary", "--year", "2020", "--config", write_bad_example(tmp_path, mutate))
    assert completed.returncode == 2
    assert expected in completed.stderr
    assert "Traceback" not in completed.stderr + completed.stdout


def test_the_cli_names_a_year_missing_from_the_plan_without_a_traceback():
    completed = run_cli("summary", "--year", "2031")
    assert completed.returncode == 2
    assert "設定ファイルがありません" in completed.stderr and "Traceback" not in completed.stderr


def test_a_draft_may_be_compiled_with_measures_still_missing():
    assessment = assess(PLAN, results(*complete(**{"I-1-ア-1": None})), allow_missing=True)
    frame = assessment.measures.set_index("key")
    assert frame.loc["I-1-ア-1", "status"] == "missing"
    assert frame.loc["I-1-ア-1", "rating"] == "—"
    from tenken.core.aggregate import summarize

    summary = summarize(assessment)
    assert (summary.missing, summary.rated) == (1, 2)

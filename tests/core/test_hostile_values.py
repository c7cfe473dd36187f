"""What a hostile or careless sender may write (issue 12): negative counts, 10^400件, digits of other
scripts, control and bidirectional characters. Each is refused with a Japanese message naming the
measure and the field; nothing of it is rated or published."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tenken.config import ConfigError
from tenken.core.assessment import assess, check
from tenken.core.errors import ValidationFailed
from tenken.core.plan import Part, Rating
from tenken.core.values import Quantity, hidden_characters, parse_value, unusual_digits

from tests.conftest import run_cli
from tests.core.test_validation import write_bad_example
from tests.factories import make_plan, measure, numeric, qualitative, result, results

PLAN = make_plan(
    measure("研修", numeric("20回", "回")),
    measure("公開", qualitative("一般公開")),
    measure("納付率", numeric("+1%", "%")),
)


def problems_of(*rows, plan=PLAN):
    """The problems about the given rows (the plan's other measures are simply not submitted)."""
    problems, _ = check(plan, results(*rows))
    return [p for p in problems if p.measure in {r.measure for r in rows}]


def only_problem(plan, *rows):
    problems = problems_of(*rows, plan=plan)
    assert len(problems) == 1, [p.message for p in problems]
    return problems[0]


# --- negative values ---------------------------------------------------------------------------

def test_a_negative_count_is_refused_naming_the_measure():
    problem = only_problem(make_plan(measure("研修", numeric("20回", "回"))), result("I-1-ア-1", "-3回"))
    assert (problem.measure, problem.field, problem.part) == ("I-1-ア-1", "actual", 1)
    assert "施策 I-1-ア-1「研修」の実績「-3回」が負の値です" in problem.message
    assert "0以上の数値で入力してください" in problem.message


@pytest.mark.parametrize("written", ["−３回", "－３回", "- 3回"])
def test_a_negative_count_is_refused_however_the_minus_is_written(written):
    problem = only_problem(make_plan(measure("研修", numeric("20回", "回"))), result("I-1-ア-1", written))
    assert "負の値です" in problem.message


def test_zero_is_not_negative():
    problems, _ = check(make_plan(measure("事故", numeric("0件", "件", "lower"))), results(result("I-1-ア-1", "0件")))
    assert problems == []


def test_a_negative_actual_is_accepted_when_the_plan_allows_negatives():
    plan = make_plan(measure("収支", {**numeric("0億円", "億円"), "allow_negative": True}))
    assessment = assess(plan, results(result("I-1-ア-1", "-3億円", reason="赤字", cause="other")))
    assert assessment.measures.iloc[0]["rating"] == Rating.NOT_ACHIEVED.value


def test_allow_negative_beside_the_parts_applies_to_every_part_without_its_own():
    entry = {"allow_negative": True, "parts": [
        {"label": "増減", "kind": "numeric", "target": "10人", "unit": "人"},
        {"label": "利用者", "kind": "numeric", "target": "100人", "unit": "人", "allow_negative": False}]}
    plan = make_plan(measure("利用", entry))
    parts = plan.measures[0].years[2020].parts
    assert [p.negative_allowed for p in parts] == [True, False]
    problem = only_problem(plan, result("I-1-ア-1", "-5人", "-5人", reason="減少", cause="other"))
    assert problem.part == 2 and "の(2)の実績「-5人」が負の値です" in problem.message


def test_a_signed_target_is_a_change_and_may_go_below_zero_unless_the_plan_forbids_it():
    assert problems_of(result("I-1-ア-3", "-0.5%", reason="減少", cause="other")) == []
    strict = make_plan(measure("納付率", {**numeric("+1%", "%"), "allow_negative": False}))
    assert "負の値です" in only_problem(strict, result("I-1-ア-1", "-0.5%", reason="減少", cause="other")).message


def test_a_negative_target_cannot_forbid_negative_actuals():
    with pytest.raises(ValidationError, match="負の値"):
        Part(kind="numeric", target="-5%", unit="%", allow_negative=False)
    assert Part(kind="numeric", target="-5%", unit="%").negative_allowed


def test_allow_negative_in_plan_yaml_must_be_a_boolean():
    with pytest.raises((ConfigError, ValidationError)):
        make_plan(measure("研修", {**numeric("20回", "回"), "allow_negative": "たぶん"}))


# --- numbers that are not numbers --------------------------------------------------------------

def test_ten_to_the_400th_is_not_a_number_and_never_rated_exceeded():
    written = "1" + "0" * 400 + "回"
    assert not isinstance(parse_value(written), Quantity)
    problem = only_problem(make_plan(measure("研修", numeric("20回", "回"))), result("I-1-ア-1", written))
    assert problem.field == "actual" and "数値ではありません" in problem.message and "15桁以内" in problem.message
    assert "0" * 40 not in problem.message  # quoted shortened
    with pytest.raises(ValidationFailed):
        assess(PLAN, results(result("I-1-ア-1", written)))


def test_fifteen_digits_are_a_number_and_sixteen_are_not():
    assert parse_value("999,999,999,999,999回") == Quantity(999_999_999_999_999, "回")
    assert parse_value("0.000000000000001回").value > 0  # leading zeros do not count
    assert isinstance(parse_value("1,000,000,000,000,000回"), str)
    assert isinstance(parse_value("1.000000000000001回"), str)


@pytest.mark.parametrize("written", ["inf回", "nan回", "Infinity回", "1e400回", "1E+5回"])
def test_float_spellings_are_not_numbers(written):
    problem = only_problem(make_plan(measure("研修", numeric("20回", "回"))), result("I-1-ア-1", written))
    assert "数値ではありません" in problem.message


# --- digits of other scripts -------------------------------------------------------------------

@pytest.mark.parametrize(("written", "code"), [
    ("٢٠回", "U+0662"),  # Arabic-Indic: int("٢٠") == 20
    ("۲۰回", "U+06F2"),  # Extended Arabic-Indic (Persian)
    ("२०回", "U+0968"),  # Devanagari
    ("𝟐𝟎回", "U+1D7D0"),  # mathematical bold, which NFKC would turn into 20
])
def test_digits_of_other_scripts_are_refused_asking_for_half_or_full_width(written, code):
    assert not isinstance(parse_value(written), Quantity)
    problem = only_problem(make_plan(measure("研修", numeric("20回", "回"))), result("I-1-ア-1", written))
    assert (problem.field, problem.part) == ("actual", 1)
    assert "施策 I-1-ア-1「研修」の「実績」に半角・全角以外の数字" in problem.message and code in problem.message
    assert "半角（0〜9）または全角（０〜９）で入力してください" in problem.message


def test_digits_of_other_scripts_are_refused_in_free_text_too():
    problem = only_problem(PLAN, result("I-1-ア-1", "8回", reason="٣年度に再開予定", cause="other"))
    assert problem.field == "reason" and "「未達成の理由及び今後の見込み等」に半角・全角以外の数字" in problem.message


@pytest.mark.parametrize("written", ["２⁰回", "①０回", "１０²回"])
def test_superscripts_and_circled_numbers_do_not_make_a_number(written):
    assert not isinstance(parse_value(written), Quantity)


def test_full_width_digits_and_circled_numbers_in_prose_stay_accepted():
    assert problems_of(result("I-1-ア-1", "２０回"), result("I-1-ア-2", "一般公開", self_rating=Rating.ACHIEVED),
                       result("I-1-ア-3", "+1%", highlight=["①手続の電子化", "②キャッシュレス化（100㎡の窓口）"])) == []


# --- control and format characters -------------------------------------------------------------

@pytest.mark.parametrize(("row", "field", "title", "code"), [
    (result("I-1-ア-1", "20回\x00"), "actual", "「実績」", "U+0000"),
    (result("I-1-ア-1", "\x1b[2J20回"), "actual", "「実績」", "U+001B"),
    (result("I-1-ア-1", "20回\x7f"), "actual", "「実績」", "U+007F"),
    (result("I-1-ア-1", "20\x85回"), "actual", "「実績」", "U+0085"),
    (result("I-1-ア-2", "一般公開\u202e", self_rating=Rating.ACHIEVED), "actual", "「実績」", "U+202E"),
    (result("I-1-ア-2", "未\u200d実施", self_rating=Rating.ACHIEVED), "actual", "「実績」", "U+200D"),
    (result("I-1-ア-1", "8回", reason="中止\u2066した", cause="other"), "reason", "「未達成の理由及び今後の見込み等」",
     "U+2066"),
    (result("I-1-ア-1", "8回", reason="中止", cause="other\u202e"), "cause", "「要因」", "U+202E"),
    (result("I-1-ア-1", "20回", highlight=["研修を実施", "\x1b]8;;http://x.example\x07リンク"]), "highlight",
     "「主な取組」", "U+001B"),
    (result("I-1-ア-1", "8回", reason="中止", cause="other",
            adjustment={"rating": "○", "justification": "統合\u202aのため", "by": "事務局"}),
     "adjustment", "「評価変更の理由」", "U+202A"),
])
def test_control_and_bidi_characters_are_refused_naming_the_measure_and_field(row, field, title, code):
    problems = problems_of(row)
    assert len(problems) == 1, [p.message for p in problems]
    problem = problems[0]
    assert problem.field == field
    assert f"{PLAN.measure_label} {row.measure}" in problem.message and title in problem.message
    assert code in problem.message and "入力できない文字" in problem.message
    assert not hidden_characters(problem.message)  # the message names the character, never holds it


def test_tabs_and_line_breaks_are_allowed_in_reasons_but_not_in_actuals():
    assert problems_of(result("I-1-ア-1", "8回", reason="中止した。\n\t来年度に再開する。\r\n", cause="other")) == []
    problem = only_problem(PLAN, result("I-1-ア-1", "20\n回"))
    assert problem.field == "actual" and "U+000A" in problem.message


def test_an_unknown_measure_key_with_an_rlo_is_quoted_visibly():
    problems = problems_of(result("I-1-ア-9\u202e", "1回"))
    message = next(p.message for p in problems if "計画にありません" in p.message)
    assert "<U+202E>" in message and "\u202e" not in message


def test_the_yaml_results_path_refuses_an_rlo_and_a_nul_naming_the_measures(tmp_path):
    def mutate(rows):
        rows[0]["reason"] = "理由\x00"
        rows[1]["actual"] = "\u202e" + str(rows[1]["actual"])

    completed = run_cli("summary", "--year", "2020", "--config", write_bad_example(tmp_path, mutate))
    assert completed.returncode == 2
    assert "施策 I-1-ア-2「" in completed.stderr and "U+0000 NUL" in completed.stderr
    assert "「実績」に入力できない文字（U+202E 右から左への上書き）" in completed.stderr
    assert "\u202e" not in completed.stderr and "Traceback" not in completed.stderr


def test_the_refused_characters_are_those_the_docs_name():
    for character in ["\x00", "\x1b", "\x7f", "\x9b", *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A)),
                      "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u2028", "\ud800"]:
        assert hidden_characters(f"a{character}b", multiline=True) == [character], hex(ord(character))
    assert hidden_characters("a\tb\nc\r\n", multiline=True) == []
    assert hidden_characters("a\tb", multiline=False) == ["\t"]
    assert hidden_characters("葛\U000E0100飾区、１２３、①、㎡、ｶﾅ、“引用”", multiline=False) == []  # IVS is not hidden
    assert unusual_digits("0123456789０１２３４５６７８９①²三") == []

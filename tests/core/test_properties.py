"""Properties of the aggregation on random plans and results."""

from math import isfinite

from hypothesis import given, settings, strategies as st

from tenken.core.aggregate import rate, summarize
from tenken.core.assessment import assess, check
from tenken.core.plan import Rating
from tenken.core.rating import is_negative
from tenken.core.values import Quantity, hidden_characters, parse_value, unusual_digits

from tests.factories import make_plan, measure, numeric, qualitative, result, results

measure_specs = st.lists(
    st.tuples(
        st.sampled_from(["rated", "no_indicator", "finished"]),
        st.integers(min_value=1, max_value=1000),  # target
        st.integers(min_value=0, max_value=2000),  # actual
        st.booleans(),  # lower is better
    ),
    min_size=1, max_size=30,
)


def build(specs):
    entries, rows = [], []
    for i, (status, target, actual, lower) in enumerate(specs, 1):
        if status == "rated":
            entries.append(measure(f"施策{i}", numeric(f"{target}件", "件", "lower" if lower else "higher")))
            rows.append(result(f"I-1-ア-{i}", f"{actual}件", reason="理由"))
        elif status == "finished":
            entries.append(measure(f"施策{i}", {"status": "finished", "finished_in": 2019}))
        else:
            entries.append(measure(f"施策{i}", {"status": "no_indicator"}))
    return summarize(assess(make_plan(*entries), results(*rows)))


@settings(max_examples=60, deadline=None)
@given(measure_specs)
def test_counts_add_up_at_every_level(specs):
    summary = build(specs)
    assert summary.measures == len(specs)
    assert summary.worked_on == summary.measures - summary.finished_earlier
    assert summary.rated + summary.no_indicator == summary.worked_on
    assert summary.exceeded + summary.achieved + summary.not_achieved == summary.rated
    assert sum(p.rated for p in summary.pillars) == summary.rated
    for pillar in summary.pillars:
        assert sum(s.rated for s in pillar.sub_pillars) == pillar.rated
    rows = list(summary.rows())
    assert rows[-1].kind == "total" and rows[-1].rated == summary.rated
    for row in rows:
        assert row.exceeded + row.achieved + row.not_achieved == row.rated
        assert row.met == row.exceeded + row.achieved


@settings(max_examples=60, deadline=None)
@given(measure_specs)
def test_rates_stay_between_0_and_100(specs):
    summary = build(specs)
    for figure in [row.rate for row in summary.rows()]:
        assert figure is None or 0 <= figure <= 100


@given(st.integers(min_value=1, max_value=10**6), st.data())
def test_a_rate_is_the_share_met_rounded_half_up_to_one_decimal(rated, data):
    met = data.draw(st.integers(min_value=0, max_value=rated))
    value = rate(met, rated)
    assert 0 <= value <= 100
    assert abs(value - 100 * met / rated) <= 0.05 + 1e-9


# What a hostile sender may type: ordinary values with, often, control and format characters, digits
# of other scripts or signs slipped in. Whatever is accepted holds none of them, and a number is finite
# and not negative.
HOSTILE_PLAN = make_plan(measure("件数", numeric("100件", "件")), measure("公開", qualitative("一般公開")))
hostile_text = st.text(
    alphabet=st.one_of(
        st.sampled_from("0123456789０１２３４５６７８９,，.+-−約件一般公開理由 \t\n\r"),
        st.sampled_from("\x00\x07\x1b\x7f\x85\x9b\u200b\u200d\u202a\u202e\u2066\u2069\ufeff\u2028"),
        st.sampled_from("٠١٢٣۴५𝟑²①"),
        st.characters(codec="utf-8"),
    ),
    max_size=6,
)


@st.composite
def slipped_in(draw, base):
    """`base` with, in two cases out of three, a hostile fragment inserted somewhere."""
    text = draw(base)
    if draw(st.integers(0, 2)) == 0:
        return text
    at = draw(st.integers(0, len(text)))
    return text[:at] + draw(hostile_text) + text[at:]


numbers = st.builds(lambda n, width, sign: sign + (f"{n:,}" if width else f"{n:,}".translate(_FULL)) + "件",
                    st.integers(0, 10**18), st.booleans(), st.sampled_from(["", "", "+", "-", "−"]))
_FULL = str.maketrans("0123456789,", "０１２３４５６７８９，")
words = st.sampled_from(["一般公開", "実施", "構築完了", "3システム中2システム", "未把握"])
reasons = st.sampled_from(["感染症のため中止した。", "中止した。\n来年度に再開する。", "①研修\t②公開"])


@settings(max_examples=400, deadline=None)
@given(actual=slipped_in(numbers), written=slipped_in(words), reason=slipped_in(reasons))
def test_no_accepted_value_holds_a_control_character_or_a_digit_of_another_script(actual, written, reason):
    rows = results(result("I-1-ア-1", actual, reason=reason, cause="other"),
                   result("I-1-ア-2", written, reason=reason, cause="other", self_rating=Rating.ACHIEVED))
    problems, _ = check(HOSTILE_PLAN, rows)
    refused = {p.measure for p in problems}
    for key, text in (("I-1-ア-1", actual), ("I-1-ア-2", written)):
        if key not in refused:
            assert not hidden_characters(text) and not unusual_digits(text)
            assert not hidden_characters(reason, multiline=True) and not unusual_digits(reason)
    if "I-1-ア-1" not in refused:
        value = parse_value(actual)
        assert isinstance(value, Quantity) or is_negative(actual, HOSTILE_PLAN.rating)  # a number or 未把握 …
        if isinstance(value, Quantity):
            assert isfinite(float(value.value)) and value.value >= 0


@settings(max_examples=300, deadline=None)
@given(slipped_in(numbers))
def test_a_parsed_number_is_finite_and_written_in_half_or_full_width_digits(text):
    value = parse_value(text)
    if isinstance(value, Quantity):
        assert isfinite(float(value.value))
        assert not unusual_digits(text)
        assert all(c in value.unit for c in "²①𝟑" if c in text)  # m² is a unit; never a digit of the number

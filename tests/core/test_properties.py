"""Properties of the aggregation on random plans and results."""

from hypothesis import given, settings, strategies as st

from tenken.core.aggregate import rate, summarize
from tenken.core.assessment import assess

from tests.factories import make_plan, measure, numeric, result, results

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

"""The plan's years on record: the previous rate and the trend come from the ledger's published cycles
of the same plan, plan.yaml's previous_rates only where the ledger holds none."""

from __future__ import annotations

import pytest

from tenken.config import load_plan
from tenken.core.aggregate import summarize
from tenken.ledger import Ledger
from tenken.resources import EXAMPLE_CONFIG
from tenken.services.history import history_for, previous_rates
from tenken.services.results import assess_cycle
from tests.conftest import ROOT

MINATO = ROOT / "config" / "minato"


@pytest.fixture
def ledger(tmp_path):
    plan = load_plan(MINATO)
    with Ledger.open(f"sqlite:///{tmp_path / 'tenken.db'}", plan.id, plan.name) as opened:
        yield opened


def published(ledger: Ledger, year: int, round: int = 1) -> None:
    """What compile and publish leave in the ledger: the round's ratings, then the publication."""
    ledger.open_cycle(year, "みなと市")
    ledger.record_ratings(assess_cycle(year, MINATO), round)
    ledger.record_publication(year, f"/site/minato/{year}", {"report.pdf": "0" * 64}, review_round=round)


def test_a_published_year_is_the_next_years_previous_rate_with_the_figures_of_its_own_summary(ledger):
    plan = load_plan(MINATO)
    published(ledger, 2023)
    first = summarize(assess_cycle(2023, MINATO))

    history = history_for(plan, 2024, ledger)

    [on_record] = history.earlier
    assert (on_record.fiscal_year, on_record.source) == (2023, "ledger")
    assert on_record.total == first.rate == 73.9
    assert on_record.levels == {p.key: p.rate for p in first.pillars} == {"1": 83.3, "2": 70.0, "3": 71.4}
    previous = previous_rates(plan, 2024, history)
    assert previous.total == 73.9
    second = summarize(assess_cycle(2024, MINATO, ledger), previous)
    assert second.previous_rate == 73.9 and [p.previous_rate for p in second.pillars] == [83.3, 70.0, 71.4]
    assert history.with_current(history.earlier[0]).has_trend is False  # one year is no trend
    assert history_for(plan, 2023, ledger).earlier == ()  # the year itself is not its own history


def test_a_compiled_but_unpublished_year_is_not_on_record_and_other_plans_years_never_are(ledger, tmp_path):
    plan = load_plan(MINATO)
    ledger.open_cycle(2023, "みなと市")
    ledger.record_ratings(assess_cycle(2023, MINATO), 1)  # a draft, never published
    assert history_for(plan, 2024, ledger).earlier == ()
    assert previous_rates(plan, 2024, history_for(plan, 2024, ledger)) is None  # and plan.yaml has none

    kanagawa = load_plan(EXAMPLE_CONFIG)
    with Ledger.open(f"sqlite:///{tmp_path / 'tenken.db'}", kanagawa.id, kanagawa.name) as other:
        assert other.cycles() == [] and history_for(kanagawa, 2020, other).earlier == ()
        # Kanagawa's FY2019 is not in the ledger: plan.yaml's previous_rates serve, as in the seed.
        assert previous_rates(kanagawa, 2020, history_for(kanagawa, 2020, other)).total == 81.6
    published(ledger, 2023)
    assert [y.fiscal_year for y in history_for(plan, 2024, ledger).earlier] == [2023]


def test_the_published_round_counts_not_a_later_draft(ledger):
    """Rates of a year are those citizens read: the round the publication used, not a later compile."""
    plan = load_plan(MINATO)
    published(ledger, 2023, round=1)
    met = next(r["measure"] for r in ledger.rating_snapshot(2023, 1) if r["rating"] in ("◎", "○"))
    ledger.record_adjustment(2023, met, "△", "後日の見直し", "事務局")
    ledger.record_ratings(assess_cycle(2023, MINATO, ledger), 2)  # compiled again after publication
    assert {r["measure"]: r["rating"] for r in ledger.rating_snapshot(2023, 2)}[met] == "△"

    assert history_for(plan, 2024, ledger).earlier[0].total == 73.9

"""A plan's years on record: the achievement rates of its earlier cycles in the ledger, for the
report's previous-cycle comparison and its trend across the plan period.

A year is on record once its report was published: its rates are those of the ratings the published
round used (the ledger's rating snapshot of that round), so the figures a later report shows for it
are the ones citizens read then. Years the ledger does not have fall back to plan.yaml's
`previous_rates` for the comparison only; the trend shows years on record.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from tenken.core.aggregate import rate
from tenken.core.history import LEDGER, PLAN, History, YearRates
from tenken.core.plan import Plan, PreviousRates, Rating

if TYPE_CHECKING:  # the ledger only in type hints: a command without a ledger never imports SQLAlchemy
    from tenken.ledger import Ledger

_MET = {Rating.EXCEEDED.value, Rating.ACHIEVED.value}
_RATED = _MET | {Rating.NOT_ACHIEVED.value}


def rates_of(plan: Plan, fiscal_year: int, ratings: dict[str, str], source: str = LEDGER) -> YearRates:
    """Total and top-level rates of one year from each rated measure's rating (key -> ◎ ○ △)."""
    top = {m.key: m.path[0] for m in plan.measures}
    met: dict[str, int] = defaultdict(int)
    rated: dict[str, int] = defaultdict(int)
    for key, rating in ratings.items():
        if rating not in _RATED:
            continue
        pillar = top.get(key, key.split("-", 1)[0])
        rated[pillar] += 1
        met[pillar] += rating in _MET
    levels = {k: r for k in rated if (r := rate(met[k], rated[k])) is not None}
    return YearRates(fiscal_year, rate(sum(met.values()), sum(rated.values())), levels, source)


def year_on_record(ledger: Ledger, plan: Plan, fiscal_year: int) -> YearRates | None:
    """The rates of a year this plan published, from the ratings of the published round; None if the
    ledger has no publication of that year."""
    publications = ledger.publications(fiscal_year)
    if not publications:
        return None
    round = publications[-1].review_round
    rounds = ledger.snapshot_rounds(fiscal_year)
    if round is None or round not in rounds:  # published --unreviewed: the last compiled round, if any
        round = rounds[-1] if rounds else None
    if round is None:
        return None
    ratings = {row["measure"]: row["rating"] for row in ledger.rating_snapshot(fiscal_year, round)}
    return rates_of(plan, fiscal_year, ratings)


def history_for(plan: Plan, fiscal_year: int, ledger: Ledger | None) -> History:
    """The years of the plan on record before `fiscal_year` (from the plan period's first year on)."""
    earlier: list[YearRates] = []
    if ledger is not None:
        years = {c.fiscal_year for c in ledger.cycles()}
        for year in range(min(plan.period[0], fiscal_year - 1), fiscal_year):
            found = year_on_record(ledger, plan, year) if year in years else None
            if found is not None:
                earlier.append(found)
    return History(tuple(earlier))


def previous_rates(plan: Plan, fiscal_year: int, history: History) -> PreviousRates | None:
    """The previous year's rates for the comparison: the ledger's when on record, else plan.yaml's."""
    found = history.previous(fiscal_year)
    if found is not None:
        return found.as_previous()
    return plan.previous_rates.get(fiscal_year - 1)


__all__ = ["LEDGER", "PLAN", "history_for", "previous_rates", "rates_of", "year_on_record"]

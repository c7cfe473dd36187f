"""A plan's achievement rates across the years of its period: what the report's trend and its
previous-cycle comparison are drawn from.

Pure data. The figures of earlier years come from the ledger's earlier cycles of the same plan
(tenken.services.history) or, failing that, from plan.yaml's `previous_rates`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tenken.core.plan import PreviousRates

LEDGER = "ledger"  # computed from the ratings the ledger holds for that year's cycle
PLAN = "plan"  # plan.yaml's previous_rates
CURRENT = "current"  # the year being reported


@dataclass(frozen=True)
class YearRates:
    """One year's total and top-level achievement rates (percent; None where nothing was rated)."""

    fiscal_year: int
    total: float | None
    levels: dict[str, float] = field(default_factory=dict)  # top-level node key -> rate
    source: str = PLAN

    def as_previous(self) -> PreviousRates:
        return PreviousRates(total=self.total, levels=dict(self.levels))


@dataclass(frozen=True)
class History:
    """The years on record before the reported one, oldest first, and the reported year itself."""

    earlier: tuple[YearRates, ...] = ()
    current: YearRates | None = None

    def previous(self, fiscal_year: int) -> YearRates | None:
        """The year just before `fiscal_year`, when it is on record."""
        return next((y for y in self.earlier if y.fiscal_year == fiscal_year - 1), None)

    @property
    def years(self) -> tuple[YearRates, ...]:
        return self.earlier + ((self.current,) if self.current is not None else ())

    @property
    def has_trend(self) -> bool:
        """A trend needs at least two years with a total rate."""
        return sum(1 for y in self.years if y.total is not None) >= 2

    def with_current(self, current: YearRates) -> History:
        """The earlier years before `current`'s year, with `current` as the reported year (the report
        draws its own year from its Summary, so its trend and its tables print the same figures)."""
        return History(earlier=tuple(y for y in self.earlier if y.fiscal_year < current.fiscal_year),
                       current=current)

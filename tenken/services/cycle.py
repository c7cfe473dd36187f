"""One fiscal year's cycle of one plan, with everything its use cases touch.

An entry point builds it once from the Settings (`Cycle.opened(settings, year)`), which opens the
ledger and builds the notifier; use cases receive it and build nothing themselves. Tests build one
directly with the ledger and notifier they want.

    <var>/cycles/<plan>/<year>/requests/        the request workbooks sent to departments
    <var>/cycles/<plan>/<year>/inbox/           files handed over outside Slack, each with its sender recorded
    <var>/cycles/<plan>/<year>/received/        files taken in (accepted or refused), moved out of the inbox
    <var>/cycles/<plan>/<year>/answers/         answers to refused files: letter and marked workbook
    <var>/cycles/<plan>/<year>/review/round-N/  the draft report each review round reads
    <var>/cycles/<plan>/<year>/final/           the final report before publication

<plan> is the plan's id (plan.yaml's plan.id), so several plans share one var folder and one ledger.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path

from tenken.config import load_cycle_settings, load_directory, load_plan
from tenken.core.errors import DomainError
from tenken.core.plan import Plan
from tenken.core.wareki import wareki_year
from tenken.core.results import Adjustment, ResultSet
from tenken.cycle_config import CycleSettings
from tenken.identity import Signer
from tenken.ledger import Ledger
from tenken.notify import Directory, Notifier
from tenken.services.dispatch import Dispatcher
from tenken.services.results import adjustments_for, office_results
from tenken.settings import Settings
from tenken.workbook.layout import departments_on_form


def check_year(plan: Plan, fiscal_year: int) -> None:
    if departments_on_form(plan, fiscal_year):
        return
    years = sorted({year for measure in plan.measures for year in measure.years})
    known = "、".join(wareki_year(y) for y in years) or "なし"
    raise DomainError(f"{wareki_year(fiscal_year)}（{fiscal_year}年度）は計画「{plan.name}」の点検の対象年度ではありません"
                      f"（対象年度: {known}）。年度を確認してください。")


@dataclass
class Cycle:
    settings: Settings
    fiscal_year: int
    plan: Plan
    config: CycleSettings
    directory: Directory
    ledger: Ledger
    notifier: Notifier | None = None  # None where a use case sends nothing (e.g. `tenken intake`)

    @classmethod
    def build(cls, settings: Settings, fiscal_year: int, ledger: Ledger, notifier: Notifier | None = None) -> Cycle:
        """Raises DomainError, before anything is recorded, for a year the plan asks nothing of."""
        plan = load_plan(settings.config_dir)
        check_year(plan, fiscal_year)
        return cls._assemble(settings, fiscal_year, plan, ledger, notifier)

    @classmethod
    @contextmanager
    def opened(cls, settings: Settings, fiscal_year: int, sending: bool = True) -> Iterator[Cycle]:
        """The cycle with the ledger of the settings open (closed on exit) and, if sending, its notifier."""
        plan = load_plan(settings.config_dir)
        check_year(plan, fiscal_year)  # before the ledger is opened (or created)
        with settings.open_ledger() as ledger:
            yield cls._assemble(settings, fiscal_year, plan, ledger, settings.notifier() if sending else None)

    @classmethod
    def _assemble(cls, settings: Settings, fiscal_year: int, plan: Plan, ledger: Ledger,
                  notifier: Notifier | None) -> Cycle:
        config_dir = settings.config_dir
        ledger.bind(plan.id, plan.name)  # this plan's cycles only, whoever opened the ledger
        return cls(settings, fiscal_year, plan, load_cycle_settings(config_dir), load_directory(config_dir), ledger,
                   notifier)

    def folder(self, name: str) -> Path:
        path = self.settings.cycle_dir(self.fiscal_year) / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def deadline(self) -> date:
        return self.config.deadline_for(self.fiscal_year)

    @cached_property
    def dispatcher(self) -> Dispatcher:
        if self.notifier is None:
            raise RuntimeError("this cycle was opened without a notifier")
        return Dispatcher(self.ledger, self.notifier, self.fiscal_year, self.plan.id)

    @cached_property
    def signer(self) -> Signer:
        """Makes and checks the departments' submission tokens of this plan."""
        return self.settings.signer(self.plan.name)

    @cached_property
    def office_results(self) -> ResultSet | None:
        """The plan folder's results file of the year (the office's report text and adjustments)."""
        return office_results(self.fiscal_year, self.settings.config_dir)

    @property
    def adjustments(self) -> dict[str, Adjustment]:
        """The rating adjustments in effect: the results file's, overridden by the ledger's latest per measure."""
        return adjustments_for(self.fiscal_year, self.office_results, self.ledger)

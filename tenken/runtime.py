"""Where one cycle's files live and which plan, ledger and settings it uses.

`CycleRun` is what flows pass around: plain values (a fiscal year and three locations), so that
flow parameters stay JSON for deployments, and each task opens what it needs itself.

    <var>/tenken.db                      the ledger (unless TENKEN_DATABASE_URL says otherwise)
    <var>/outbox/                        messages, when no Slack token is configured
    <var>/cycles/<year>/requests/        the request workbooks sent to departments
    <var>/cycles/<year>/inbox/           where submitted files arrive (any channel drops them here)
    <var>/cycles/<year>/received/        files taken in (accepted or refused), moved out of the inbox
    <var>/cycles/<year>/answers/         answers to refused files: letter and marked workbook
    <var>/cycles/<year>/review/round-N/  the draft report each review round reads
    <var>/cycles/<year>/final/           the final report before publication
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from tenken import ledger as _ledger
from tenken.config import DEFAULT_CONFIG, load_cycle_settings, load_plan
from tenken.core.cycle import CycleSettings
from tenken.core.plan import Plan

VAR_ENV = "TENKEN_VAR_DIR"


def var_dir() -> Path:
    return Path(os.environ.get(VAR_ENV) or Path.cwd() / "var").resolve()


class CycleRun(BaseModel):
    model_config = ConfigDict(frozen=True)

    fiscal_year: int
    config_dir: str | None = None  # default: the bundled example
    database_url: str | None = None  # default: $TENKEN_DATABASE_URL, else <var>/tenken.db
    var: str | None = None  # default: $TENKEN_VAR_DIR, else ./var

    @property
    def config(self) -> Path:
        return Path(self.config_dir) if self.config_dir else DEFAULT_CONFIG

    @property
    def var_path(self) -> Path:
        return Path(self.var).resolve() if self.var else var_dir()

    @property
    def ledger_url(self) -> str:
        if self.database_url or os.environ.get(_ledger.ENV_URL):
            return _ledger.database_url(self.database_url)
        return f"sqlite:///{(self.var_path / 'tenken.db').as_posix()}"

    def folder(self, name: str) -> Path:
        path = self.var_path / "cycles" / str(self.fiscal_year) / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    # Not cached on the instance: Prefect walks every task argument, and a CycleRun carrying a
    # 40,000-measure plan cost 8 s per task call. load_plan caches per process instead.
    @property
    def plan(self) -> Plan:
        return load_plan(self.config)

    @property
    def settings(self) -> CycleSettings:
        return load_cycle_settings(self.config)

    @property
    def deadline(self) -> date:
        return self.settings.deadline_for(self.fiscal_year)

    def ledger(self) -> _ledger.Ledger:
        return _ledger.Ledger.open(self.ledger_url)

"""Prefect flows of the yearly cycle: each sequences tasks (tasks/cycle.py) and nothing else.

Each flow is an entry point: it resolves the Settings once (tenken.settings) and passes them down.
"""

from __future__ import annotations

from datetime import date

from tenken.core.cycle import fiscal_year_closed_before
from tenken.settings import DEFAULT_SECRET_BLOCK, DEFAULT_SUBMISSION_BLOCK, Settings


def settings_for(config_dir: str | None) -> Settings:
    """The flow's settings: its parameter, then the worker's environment; the Slack token and the
    submission key may be Secret blocks."""
    return Settings.resolve(config_dir=config_dir, secret_block=DEFAULT_SECRET_BLOCK,
                            submission_block=DEFAULT_SUBMISSION_BLOCK)


def year_or_last_closed(fiscal_year: int | None, today: date | None = None) -> int:
    return fiscal_year or fiscal_year_closed_before(today or date.today())

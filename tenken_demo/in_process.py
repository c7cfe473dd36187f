"""A plan's cycle in one process: the production flows in order, departments and reviewer played here.

One year at a time (`run_demo`), or several one after the other on the same var folder and ledger
(`run_years`): a later year's report then takes its previous rate, and its trend, from the earlier years
published before it.
"""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.collect_and_remind import collect_and_remind
from flows.compile_and_review import compile_and_review
from flows.open_cycle import open_cycle
from tenken.settings import Settings
from tenken_demo import departments
from tenken_demo.review_client import answer_review, reviewer_code, round_of, wait_for_paused_review
from tenken_demo.scenario import calendar_for, default_years, scenario


@task(cache_policy=NO_CACHE)
def departments_submit(settings: Settings, fiscal_year: int, arrivals: list[list[str]],
                       workspace_url: str | None) -> int:
    """The day's submissions: each department replies in its request thread (or, without Slack or when it
    was asked by mail, its file reaches the inbox through a bridge that records the sender)."""
    return departments.submit(settings, fiscal_year, [tuple(a) for a in arrivals], workspace_url)


@flow(name="annual-inspection", log_prints=True)
def annual_inspection(fiscal_year: int, collection_days: list[date],
                      arrivals: dict[str, list[list[str]]] | None = None, config_dir: str | None = None,
                      workspace_url: str | None = None) -> dict:
    """The whole cycle in order: open, collect on each given day, review and publish.

    `arrivals` maps an ISO date to [department, file] sent that day (before that day's collection),
    standing in for the departments; `workspace_url` is the Slack stand-in they post in.
    """
    settings = Settings.resolve(config_dir=config_dir)
    open_cycle(fiscal_year, config_dir)
    collected = []
    for day in collection_days:
        if arrivals and arrivals.get(day.isoformat()):
            departments_submit(settings, fiscal_year, arrivals[day.isoformat()], workspace_url)
        collected.append(collect_and_remind(fiscal_year, day, config_dir))
    review = compile_and_review(fiscal_year, config_dir)
    return {"collected": collected, "review": review, "published": review["published"]}


def run_demo(approve: bool, on_paused=None, config_dir: str | None = None,
             workspace_url: str | None = None, fiscal_year: int | None = None) -> dict:
    """Run one year's cycle of the plan (default: its first demo year, tenken_demo.scenario.default_years);
    with `approve`, the plan's first reviewer approves through the Prefect API with the code tenken sent
    them. With a `workspace_url` (the Slack stand-in tenken sends to), departments answer in their Slack
    threads. Other plans may run their cycles on the same server meanwhile: only this plan's review of
    this year is answered here."""
    settings = Settings.resolve(config_dir=config_dir)
    year = fiscal_year or default_years(settings.config_dir)[0]
    arrivals = scenario(settings, year)
    days = list(calendar_for(settings, year).collection_days)
    plan_id, failed = settings.plan_id, []

    def reviewer_thread() -> None:
        try:
            paused = wait_for_paused_review(timeout=600, fiscal_year=year, plan_id=plan_id)
            if on_paused:
                on_paused(paused)
            if approve:  # the first reviewer, with the code tenken sent them
                code = reviewer_code(settings, year, round_of(paused), workspace_url)
                answer_review(paused.id, "approve", code, "デモのため承認します。")
        except Exception as exc:  # noqa: BLE001 — the demo's approval failed: reported after the run
            if approve:
                failed.append(exc)

    watcher = threading.Thread(target=reviewer_thread, name=f"reviewer-{plan_id}-{year}", daemon=True)
    watcher.start()
    result = annual_inspection(year, days, arrivals, config_dir, workspace_url)
    watcher.join(timeout=5)
    if failed:
        raise RuntimeError(f"the demo reviewer of {plan_id} FY{year} failed: {failed[0]!r}") from failed[0]
    return {**result, "fiscal_year": year, "plan_id": plan_id}


def run_years(approve: bool, years: list[int] | None = None, on_paused=None, config_dir: str | None = None,
              workspace_url: str | None = None, on_published=None) -> list[dict]:
    """Several years of the plan one after the other on the same var folder and ledger (default: the plan's
    demo years, oldest first); each year is published before the next opens."""
    settings = Settings.resolve(config_dir=config_dir)
    results = []
    for year in years or default_years(settings.config_dir):
        result = run_demo(approve, on_paused, config_dir, workspace_url, year)
        if on_published:
            on_published(result)
        results.append(result)
    return results


def published_path(result: dict) -> Path:
    return Path(result["published"]["index"])

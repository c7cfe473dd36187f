from __future__ import annotations

from datetime import date

from prefect import flow

from flows.collect_and_remind import collect_and_remind
from flows.compile_and_review import compile_and_review
from flows.open_cycle import open_cycle
from tasks import cycle as steps
from tenken.runtime import CycleRun


@flow(name="annual-inspection", log_prints=True)
def annual_inspection(fiscal_year: int, collection_days: list[date], arrivals: dict[str, list[str]] | None = None,
                      config_dir: str | None = None) -> dict:
    """The whole cycle in order, for the demo and tests: open, collect on each given day, review and publish.

    `arrivals` maps an ISO date to files that reach the inbox that day (before that day's collection),
    standing in for the departments' submissions.
    """
    run = CycleRun(fiscal_year=fiscal_year, config_dir=config_dir)
    open_cycle(fiscal_year, config_dir)
    collected = []
    for day in collection_days:
        if arrivals and arrivals.get(day.isoformat()):
            steps.deliver(run, arrivals[day.isoformat()])
        collected.append(collect_and_remind(fiscal_year, day, config_dir))
    review = compile_and_review(fiscal_year, config_dir)
    return {"collected": collected, "review": review, "published": review["published"]}

from __future__ import annotations

import os
from datetime import date

from prefect import flow
from prefect.flow_runs import pause_flow_run
from prefect.runtime import flow_run

from flows.publish import publish
from flows.review import ReviewDecision
from tasks import cycle as steps
from tenken.core.cycle import fiscal_year_closed_before
from tenken.operations import review_form_text
from tenken.runtime import CycleRun

POLL_SECONDS = int(os.environ.get("TENKEN_REVIEW_POLL_SECONDS", "10"))


@flow(name="compile-and-review", log_prints=True)
def compile_and_review(fiscal_year: int | None = None, config_dir: str | None = None,
                       publish_on_approval: bool = True) -> dict:
    """Rate, render the draft, show it to reviewers and wait for their decision; repeat until approved.

    Approval leads straight to publication (the reviewers' Resume is the last human step).
    """
    run = CycleRun(fiscal_year=fiscal_year or fiscal_year_closed_before(date.today()), config_dir=config_dir)
    run_url = flow_run.ui_url or ""
    while True:
        round = steps.next_round(run)
        compiled = steps.compile_draft(run, round)
        steps.show_compiled(run, compiled)
        steps.notify_reviewers(run, compiled, run_url)
        answer = pause_flow_run(
            wait_for_input=ReviewDecision.with_initial_data(description=review_form_text(run, compiled)),
            timeout=run.settings.review.timeout_days * 86400, poll_interval=POLL_SECONDS,
            key=f"review-{run.fiscal_year}-round-{round}")
        steps.record_decision(run, round, answer.decision, answer.reviewer, answer.comments, run_url)
        if answer.decision == "approve":
            published = publish(run.fiscal_year, config_dir) if publish_on_approval else None
            return {"round": round, "reviewer": answer.reviewer, "summary": compiled.summary,
                    "published": published}


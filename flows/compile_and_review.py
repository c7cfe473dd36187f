from __future__ import annotations

from prefect import flow
from prefect.flow_runs import pause_flow_run
from prefect.runtime import flow_run

from flows import settings_for, year_or_last_closed
from flows.publish import publish
from flows.review import ReviewDecision
from flows.hooks import HOOKS
from tasks import cycle as steps


@flow(name="compile-and-review", log_prints=True, **HOOKS)
def compile_and_review(fiscal_year: int | None = None, config_dir: str | None = None,
                       publish_on_approval: bool = True) -> dict:
    """Rate, render the draft, show it to reviewers and wait for their decision; repeat until approved.

    Approval leads straight to publication (the reviewers' Resume is the last human step).
    """
    settings, year = settings_for(config_dir), year_or_last_closed(fiscal_year)
    run_url = flow_run.ui_url or ""
    while True:
        round = steps.next_round(settings, year)
        compiled = steps.compile_draft(settings, year, round)
        steps.show_compiled(settings, year, compiled)
        steps.notify_reviewers(settings, year, compiled, run_url)
        form = steps.review_form(settings, year, compiled)
        answer = pause_flow_run(
            wait_for_input=ReviewDecision.with_initial_data(description=form.description),
            timeout=form.timeout_seconds, poll_interval=settings.review_poll_seconds,
            key=f"review-{year}-round-{round}")
        steps.record_decision(settings, year, round, answer.decision, answer.reviewer, answer.comments, run_url)
        if answer.decision == "approve":
            published = publish(year, config_dir) if publish_on_approval else None
            return {"round": round, "reviewer": answer.reviewer, "summary": compiled.summary.to_dict(),
                    "published": published}

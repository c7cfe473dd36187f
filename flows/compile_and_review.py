from __future__ import annotations

from prefect import flow
from prefect.flow_runs import pause_flow_run
from prefect.runtime import flow_run

from flows import settings_for, year_or_last_closed
from flows.publish import publish
from flows.review import ReviewDecision
from flows.hooks import HOOKS
from tasks import cycle as steps


def pause_key(fiscal_year: int, round: int, attempt: int) -> str:
    """The first form of a round is 'review-2020-round-1'; the forms after a refused or a partial
    answer (approvals: all) are 'review-2020-round-1-2', '…-3', … (Prefect takes lowercase, digits, dashes)."""
    return f"review-{fiscal_year}-round-{round}" + (f"-{attempt}" if attempt > 1 else "")


@flow(name="compile-and-review", log_prints=True, **HOOKS)
def compile_and_review(fiscal_year: int | None = None, config_dir: str | None = None,
                       publish_on_approval: bool = True) -> dict:
    """Rate, render the draft, send each reviewer a one-time code, and wait for their answers until the
    round is decided (cycle.yaml's review.approvals); a request for changes opens the next round.

    Approval leads straight to publication (the reviewers' Resume is the last human step). A round
    that is locked (too many wrong codes) ends the run without publishing, the office told.
    """
    settings, year = settings_for(config_dir), year_or_last_closed(fiscal_year)
    run_url = flow_run.ui_url or ""
    while True:
        round = steps.next_round(settings, year)
        compiled = steps.compile_draft(settings, year, round)
        steps.show_compiled(settings, year, compiled)
        steps.open_round(settings, year, compiled, run_url)
        notice, attempt = "", 0
        while (state := steps.round_state(settings, year, round)).open:
            attempt += 1
            form = steps.review_form(settings, year, compiled, notice)
            key = pause_key(year, round, attempt)
            answer = pause_flow_run(
                wait_for_input=ReviewDecision.with_initial_data(description=form.description),
                timeout=form.timeout_seconds, poll_interval=settings.review_poll_seconds, key=key)
            notice = steps.answer_review(settings, year, round, answer.decision, answer.code, answer.comments,
                                         run_url).message
            steps.forget_typed_code(str(flow_run.id), key)
        if state.status == "changes":
            continue
        result = {"round": round, "status": state.status, "approved_by": list(state.approved_by),
                  "summary": compiled.summary.to_dict(), "published": None}
        if state.status == "approved" and publish_on_approval:
            result["published"] = publish(year, config_dir)
        return result

"""Answer a paused review through the Prefect API, exactly as the UI's Resume form does."""

from __future__ import annotations

import time
from uuid import UUID

from prefect import get_client
from prefect.client.schemas.filters import FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterState, \
    FlowRunFilterStateType
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.flow_runs import resume_flow_run

REVIEW_FLOW = "compile-and-review"


def paused_reviews() -> list[FlowRun]:
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[REVIEW_FLOW])),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))))


def wait_for_paused_review(timeout: float = 300, poll: float = 0.5, exclude: set[UUID] | None = None,
                           pause_key: str | None = None) -> FlowRun:
    """The paused review run (optionally at a given pause key, e.g. 'review-2020-round-2')."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in paused_reviews():
            if exclude and run.id in exclude:
                continue
            if pause_key is None or run.state.state_details.pause_key == pause_key:
                return run
        time.sleep(poll)
    raise TimeoutError(f"no paused review after {timeout} s")


def answer_review(flow_run_id: UUID, decision: str, reviewer: str, comments: str = "") -> None:
    resume_flow_run(flow_run_id, run_input={"decision": decision, "reviewer": reviewer, "comments": comments})

"""Answer a paused review through the Prefect API, exactly as the UI's Resume form does, and read a
reviewer's one-time code where it was sent to them (their Slack DM in the stand-in, or the outbox)."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path
from uuid import UUID

from prefect.client.schemas.objects import FlowRun
from prefect.flow_runs import resume_flow_run

from tasks.cycle import paused_reviews  # the one query of paused reviews, shared with the reminders
from tasks.cycle import plan_of_run as plan_of  # the plan of a run, as the reminders see it
from tenken.notify import escape_mrkdwn
from tenken.notify.base import MAILTO

CODE = re.compile(r"確認コード：([2-9A-Z]{4}-[2-9A-Z]{4})")


def wait_for_paused_review(timeout: float = 300, poll: float = 0.5, exclude: set[UUID] | None = None,
                           pause_key: str | None = None, fiscal_year: int | None = None,
                           plan_id: str | None = None) -> FlowRun:
    """The paused review run (optionally at a given pause key, e.g. 'review-2020-round-2'; of a given fiscal
    year; of a given plan, when several plans share the server)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in paused_reviews():
            if exclude and run.id in exclude:
                continue
            if pause_key is not None and run.state.state_details.pause_key != pause_key:
                continue
            if fiscal_year is not None and year_of(run) != fiscal_year:
                continue
            if plan_id is not None and plan_of(run) != plan_id:
                continue
            return run
        time.sleep(poll)
    raise TimeoutError(f"no paused review after {timeout} s"
                       + (f" (plan {plan_id})" if plan_id else "") + (f" (FY{fiscal_year})" if fiscal_year else ""))


def year_of(flow_run: FlowRun) -> int | None:
    """The fiscal year a review run is about: its parameter, else the year in its pause key."""
    given = (flow_run.parameters or {}).get("fiscal_year")
    if given is not None:
        return int(given)
    key = flow_run.state.state_details.pause_key if flow_run.state else None
    found = re.match(r"review-(\d+)-round", key or "")
    return int(found.group(1)) if found else None


def answer_review(flow_run_id: UUID, decision: str, code: str, comments: str = "") -> None:
    resume_flow_run(flow_run_id, run_input={"decision": decision, "code": code, "comments": comments})


def code_in(texts: list[str], fiscal_year: int, round: int, plan_name: str | None = None) -> str:
    """The code of a round of a fiscal year in a reviewer's messages (the newest one, if the round's code was
    sent again): a reviewer of several years, or of several plans (`plan_name`), has a code for each."""
    from tenken.core.wareki import wareki_year

    marker, year = f"（第{round}回レビュー）", f"{wareki_year(fiscal_year)}「"
    plan = f"「{escape_mrkdwn(plan_name)}」" if plan_name else ""
    for text in reversed(texts):
        if marker in text and year in text and plan in text and (found := CODE.search(text)):
            return found.group(1)
    raise LookupError(f"no review code of FY{fiscal_year} round {round} among {len(texts)} messages")


def code_from_workspace(workspace_url: str, reviewer: str, fiscal_year: int, round: int,
                        timeout: float = 60, plan_name: str | None = None) -> str:
    """Read the reviewer's DM in the Slack stand-in (served over HTTP by scripts/stack.sh): `reviewer`
    is their '@handle' as in cycle.yaml."""
    deadline = time.monotonic() + timeout
    while True:
        request = urllib.request.Request(f"{workspace_url.rstrip('/')}/_standin/messages", data=b"{}", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            messages = json.load(response)["messages"]
        try:
            return code_in([m["text"] for m in messages if m["conversation"] == reviewer], fiscal_year, round,
                           plan_name)
        except LookupError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def code_from_outbox(var_dir: str | Path, reviewer: str, fiscal_year: int, round: int,
                     plan_name: str | None = None) -> str:
    from tenken.notify.outbox import read_outbox

    texts = [r["text"] for r in read_outbox(var_dir) if r["target"] == reviewer]
    return code_in(texts, fiscal_year, round, plan_name)


def reviewer_code(settings, fiscal_year: int, round: int, workspace_url: str | None, which: int = 0) -> str:
    """The code the plan's `which`-th reviewer received for the round, where tenken sent it: their DM in
    the stand-in workspace, or the outbox when no Slack is configured (the demo plays that reviewer)."""
    from tenken.config import load_cycle_settings, load_plan
    from tenken.cycle_config import personal_address

    reviewer = load_cycle_settings(settings.config_dir).review.reviewers[which]
    target, plan_name = personal_address(reviewer), load_plan(settings.config_dir).name
    if workspace_url and not target.startswith(MAILTO):
        return code_from_workspace(workspace_url, target, fiscal_year, round, plan_name=plan_name)
    return code_from_outbox(settings.var_dir, target, fiscal_year, round, plan_name)


def round_of(flow_run: FlowRun) -> int:
    """The round a paused review run waits on, from its pause key ('review-2020-round-2-3' -> 2)."""
    return int(re.search(r"round-(\d+)", flow_run.state.state_details.pause_key).group(1))

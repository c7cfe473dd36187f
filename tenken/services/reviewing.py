"""Stage 5, review: tell the reviewers a draft is ready, show it, record their decision.

The waiting itself is Prefect's (the flow pauses for a form in the UI); everything around it is here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tenken.notify import render
from tenken.services.compiling import Compiled
from tenken.services.cycle import Cycle
from tenken.services.dispatch import Outgoing


@dataclass(frozen=True)
class Artifact:
    """Something the office and the reviewers see beside the run (a Prefect artifact)."""

    kind: Literal["table", "markdown"]
    key: str
    description: str
    content: list[dict] | str


def next_round(cycle: Cycle) -> int:
    return len(cycle.ledger.review_decisions(cycle.fiscal_year)) + 1


def notify_reviewers(cycle: Cycle, compiled: Compiled, run_url: str) -> bool:
    plan, year, review = cycle.plan, cycle.fiscal_year, cycle.config.review
    addresses = [r.address for r in review.reviewers] + [review.channel.address if review.channel else None]
    targets = list(dict.fromkeys(a for a in addresses if a))
    text = render("review_request", plan=plan.name, fiscal_year=year, round=compiled.round,
                  draft_url=compiled.files["pdf"], run_url=run_url, missing_departments=compiled.missing,
                  discrepancy_count=compiled.discrepancy_count)
    return cycle.dispatcher.notice("review", f"round-{compiled.round}", [
        Outgoing(t, text, f"{year}/review/round-{compiled.round}/{i}", "review_request")
        for i, t in enumerate(targets)])


@dataclass(frozen=True)
class ReviewForm:
    """What the paused review shows above its form, and how long it waits for an answer."""

    description: str
    timeout_seconds: int


def review_form(cycle: Cycle, compiled: Compiled) -> ReviewForm:
    return ReviewForm(review_form_text(cycle, compiled), cycle.config.review.timeout_days * 86400)


def review_form_text(cycle: Cycle, compiled: Compiled) -> str:
    """The markdown above the review form in the Prefect UI."""
    summary, label = compiled.summary, cycle.plan.measure_label
    missing = "、".join(compiled.missing) or "なし"
    return (f"### {cycle.plan.name} 点検報告書（案） 第{compiled.round}回確認\n\n"
            f"- 案（PDF）: `{compiled.files['pdf']}`\n"
            f"- 達成率: {summary.rate}%（{summary.met}/{summary.rated}{label}）\n"
            f"- 未提出の所属: {missing}\n"
            f"- 確認が必要な事項: {compiled.discrepancy_count}件（Artifacts の一覧、全件は "
            f"`{compiled.files['discrepancies']}`）\n\n"
            "内容を確認し、**approve**（承認）または **request_changes**（差し戻し）を選んでください。")


def artifacts(cycle: Cycle, compiled: Compiled) -> list[Artifact]:
    """The summary table, who is missing, what to check: for the office and the reviewers."""
    label, key = cycle.plan.measure_label, f"fy{cycle.fiscal_year}-round-{compiled.round}"
    rows = [{"区分": f"{row.label} 小計" if row.kind == "pillar" else row.label, f"{label}数": row.rated,
             "◎": row.exceeded, "○": row.achieved, "△": row.not_achieved, "達成率": row.rate}
            for row in compiled.summary.rows()]
    missing = "\n".join(f"- {name}" for name in compiled.missing) or "未提出の所属はありません。"
    shown = f"（先頭{len(compiled.discrepancy_sample)}件。全件は {compiled.files['discrepancies']}）" \
        if compiled.discrepancy_count > len(compiled.discrepancy_sample) else ""
    found = [{label: d["key"], f"{label}名": d["name"], "種類": d["kind"], "内容": d["detail"]}
             for d in compiled.discrepancy_sample]
    return [
        Artifact("table", f"{key}-summary", "成果指標の達成状況（案）", rows),
        Artifact("markdown", f"{key}-missing", "未提出の所属", f"## 未提出の所属\n\n{missing}\n"),
        Artifact("table", f"{key}-discrepancies",
                 f"確認が必要な事項 {compiled.discrepancy_count}件{shown}"
                 "（自己評価と評価の相違、評価の変更、要因未選択、前年度と同じ理由）",
                 found or [{label: "", f"{label}名": "", "種類": "", "内容": "確認が必要な事項はありません"}]),
    ]


def record_decision(cycle: Cycle, round: int, decision: str, reviewer: str, comments: str, run_url: str) -> None:
    cycle.ledger.record_review_decision(cycle.fiscal_year, round, decision, reviewer, comments)
    if decision == "approve":
        return
    review = cycle.config.review
    recipients = [review.channel] if review.channel else list(review.reviewers)
    text = render("changes_requested", plan=cycle.plan.name, fiscal_year=cycle.fiscal_year, round=round,
                  reviewer=reviewer, comments=comments, run_url=run_url)
    cycle.dispatcher.notice("changes_requested", f"round-{round}", [
        Outgoing(r.address, text, f"{cycle.fiscal_year}/changes/round-{round}/{i}", "changes_requested")
        for i, r in enumerate(recipients) if r.address])

"""Prefect tasks of the yearly cycle: each is one step of tenken.operations, nothing more.

Every task here has a side effect (ledger, files, messages), so none is cached; none is retried by
Prefect either: sends retry inside slack-sdk, and every step is safe to run again by hand.
"""

from __future__ import annotations

from datetime import date, datetime

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from tenken import operations
from tenken.runtime import CycleRun

side_effect = task(cache_policy=NO_CACHE, retries=0)


@side_effect
def open_cycle(run: CycleRun) -> dict[str, str]:
    workbooks = operations.open_cycle(run)
    get_run_logger().info("cycle FY%s opened; %d request workbooks written", run.fiscal_year, len(workbooks))
    return workbooks


@side_effect
def send_requests(run: CycleRun, workbooks: dict[str, str]) -> list[str]:
    sent = operations.send_requests(run, workbooks)
    get_run_logger().info("requests sent to %d departments (%d already sent)", len(sent), len(workbooks) - len(sent))
    return sent


@side_effect
def take_in(run: CycleRun) -> dict:
    report = operations.take_in(run)
    get_run_logger().info("intake: %d accepted, %d refused", len(report.accepted), len(report.rejected))
    return {"accepted": report.accepted, "rejected": report.rejected}


@side_effect
def send_reminders(run: CycleRun, today: date) -> list[dict]:
    sent = operations.send_reminders(run, today)
    get_run_logger().info("%d reminders sent on %s", len(sent), today)
    return sent


@side_effect
def compile_draft(run: CycleRun, round: int) -> operations.Compiled:
    return operations.compile_draft(run, round)


@side_effect
def show_compiled(run: CycleRun, compiled: operations.Compiled) -> None:
    """Artifacts for the office and the reviewers: the summary table, who is missing, what to check."""
    summary, key = compiled.summary, f"fy{run.fiscal_year}-round-{compiled.round}"
    rows = []
    for pillar in summary["pillars"]:
        rows += [{"区分": s["label"], "施策数": s["rated"], "◎": s["exceeded"], "○": s["achieved"],
                  "△": s["not_achieved"], "達成率": s["rate"]} for s in pillar["sub_pillars"]]
        rows.append({"区分": f"{pillar['label']} 小計", "施策数": pillar["rated"], "◎": pillar["exceeded"],
                     "○": pillar["achieved"], "△": pillar["not_achieved"], "達成率": pillar["rate"]})
    rows.append({"区分": "合計", "施策数": summary["rated"], "◎": summary["exceeded"], "○": summary["achieved"],
                 "△": summary["not_achieved"], "達成率": summary["rate"]})
    create_table_artifact(rows, key=f"{key}-summary", description="成果指標の達成状況（案）")
    missing = "\n".join(f"- {name}" for name in compiled.missing) or "未提出の所属はありません。"
    create_markdown_artifact(f"## 未提出の所属\n\n{missing}\n", key=f"{key}-missing",
                             description="未提出の所属")
    shown = f"（先頭{len(compiled.discrepancy_sample)}件。全件は {compiled.files['discrepancies']}）" \
        if compiled.discrepancy_count > len(compiled.discrepancy_sample) else ""
    create_table_artifact(
        [{"施策": d["key"], "施策名": d["name"], "種類": d["kind"], "内容": d["detail"]}
         for d in compiled.discrepancy_sample]
        or [{"施策": "", "施策名": "", "種類": "", "内容": "確認が必要な事項はありません"}],
        key=f"{key}-discrepancies",
        description=f"確認が必要な事項 {compiled.discrepancy_count}件{shown}"
                    "（自己評価と評価の相違、評価の変更、要因未選択、前年度と同じ理由）")


@side_effect
def notify_reviewers(run: CycleRun, compiled: operations.Compiled, run_url: str) -> bool:
    return operations.notify_reviewers(run, compiled, run_url)


@side_effect
def record_decision(run: CycleRun, round: int, decision: str, reviewer: str, comments: str, run_url: str) -> None:
    operations.record_decision(run, round, decision, reviewer, comments, run_url)


@side_effect
def next_round(run: CycleRun) -> int:
    return operations.next_round(run)


@side_effect
def publish_final(run: CycleRun, published_on: datetime | None = None) -> dict:
    published = operations.publish_final(run, published_on)
    get_run_logger().info("published FY%s to %s", run.fiscal_year, published.target)
    return {"target": published.target, "files": published.files, "checksums": published.checksums,
            "index": published.index}


@side_effect
def deliver(run: CycleRun, paths: list[str]) -> int:
    """Put files in the cycle's inbox, as departments (or a mail/chat bridge) do."""
    return operations.deliver(run, paths)

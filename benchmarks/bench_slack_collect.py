"""Collecting one reply from each of N departments (default 2,000) in one run, through Slack.

A synthetic plan (default 40,000 measures: 20 per department), each department with its own channel
in the Slack stand-in (tenken_demo.slack_standin, real HTTP, real slack-sdk). The requests are sent
as the cycle sends them (not timed); then, for each run, every department's clerk replies in its
request thread with a new filled workbook carrying its token, and one collect stage is timed:
listing every conversation, files.info, the private download, intake (validation, the ledger),
the permalink and the receipt in the thread. Goal (issue 10): <= 60 s for 2,000 departments.

Usage: .venv/bin/python benchmarks/bench_slack_collect.py [--departments N] [--measures N] [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_cycle import write_config  # noqa: E402
from synthetic import YEAR, synthetic_results  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--departments", type=int, default=2_000)
    parser.add_argument("--measures", type=int, default=40_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from tenken.config import load_plan
    from tenken.notify import SlackNotifier
    from tenken.services import Cycle, collecting, opening
    from tenken.settings import Settings
    from tenken.workbook.writer import request_workbook
    from tenken_demo.slack_standin import clerk_of, workspace_for

    folder = Path(tempfile.mkdtemp(prefix="tenken-bench-slack-"))
    config = write_config(folder, args.measures, args.departments)
    plan = load_plan(config)
    settings = Settings(var_dir=folder / "var", database_url=f"sqlite:///{folder / 'var' / 'tenken.db'}",
                        config_dir=config, submission_key="bench-submission-key-0123456789")
    results = synthetic_results(plan)
    print(f"plan: {len(plan.measures)} measures, {len(plan.departments)} departments; files in {folder}")
    with workspace_for(config) as slack, settings.open_ledger() as ledger:
        cycle = Cycle.build(settings, YEAR, ledger, SlackNotifier(slack.token, base_url=slack.base_url))
        started = time.perf_counter()
        opening.send_requests(cycle, opening.open_cycle(cycle))
        print(f"(requests sent: {len(cycle.ledger.requests(YEAR))}, {time.perf_counter() - started:.1f} s, not timed)")
        threads = {r.department: r.message_ref.split("/") for r in cycle.ledger.requests(YEAR)}
        times = []
        for run in range(1, args.runs + 1):
            started = time.perf_counter()
            deadline = cycle.deadline + timedelta(days=run)  # printed in the workbook: new bytes each run
            for department in threads:
                channel, ts = threads[department]
                filled = opening.department_results(plan, results, department)
                content = request_workbook(plan, YEAR, department, deadline, filled, cycle.signer.token(YEAR, department))
                slack.post_file(clerk_of(department), channel, f"{department}-{run}.xlsx", content, thread_ts=ts)
            prepared = time.perf_counter() - started
            before = Counter(r.method for r in slack.requests())
            started = time.perf_counter()
            report = collecting.collect(cycle)
            seconds = time.perf_counter() - started
            calls = Counter(r.method for r in slack.requests()) - before
            times.append(seconds)
            versions = Counter(e["version"] for e in report.accepted)
            print(f"run {run}: collect {seconds:6.1f} s  ({seconds / len(threads) * 1000:.1f} ms a department); "
                  f"accepted {len(report.accepted)} (versions {dict(versions)}), refused {len(report.rejected)}, "
                  f"failed {len(report.failed)}; Slack calls {sum(calls.values())}: {dict(calls)}; "
                  f"(posting the replies: {prepared:.1f} s, not timed)")
            assert len(report.accepted) == len(threads) and not report.failed, report.failed[:3]
        print(f"median of {len(times)} runs: {statistics.median(times):.1f} s for {len(threads)} departments "
              f"(goal <= 60 s)")


if __name__ == "__main__":
    main()

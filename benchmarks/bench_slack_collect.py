"""Collecting one reply from each of N departments (default 2,000) in one run, through Slack.

A synthetic plan (default 40,000 measures: 20 per department), each department with its own channel
in the Slack stand-in (tenken_demo.slack_standin, real HTTP, real slack-sdk), served by its own
process as `make demo` serves it (Slack is not in tenken's process either; `--in-process` runs it
in this one, where it competes with the collect stage for the interpreter). The requests are sent
as the cycle sends them (not timed); then, for each run, every department's clerk replies in its
request thread with a new filled workbook carrying its token, and one collect stage is timed:
listing every conversation, files.info, the private download, intake (validation, the ledger),
the permalink and the receipt in the thread. Goal (issue 10): <= 60 s for 2,000 departments.

Usage: .venv/bin/python benchmarks/bench_slack_collect.py [--departments N] [--measures N] [--runs N] [--in-process]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_cycle import write_config  # noqa: E402
from synthetic import YEAR, synthetic_results  # noqa: E402


class InProcess:
    def __init__(self, config: Path):
        from tenken_demo.slack_standin import workspace_for

        self.standin = workspace_for(config)

    def __enter__(self):
        self.standin.start()
        self.token, self.base_url = self.standin.token, self.standin.base_url
        return self

    def __exit__(self, *exc) -> None:
        self.standin.stop()

    def post_file(self, user, channel, name, content, thread_ts):
        self.standin.post_file(user, channel, name, content, thread_ts=thread_ts)

    def calls(self) -> Counter:
        return Counter(r.method for r in self.standin.requests())


class OwnProcess:
    """`python -m tenken_demo.slack_standin` on a free port; the departments post through its control endpoint."""

    def __init__(self, config: Path):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.root = f"http://127.0.0.1:{port}"
        self.token, self.base_url = "xoxb-standin-token", f"{self.root}/api/"
        self.process = subprocess.Popen([sys.executable, "-m", "tenken_demo.slack_standin", "--config", str(config),
                                         "--port", str(port)], stdout=subprocess.PIPE)
        self.process.stdout.readline()  # serving

    def __enter__(self):
        from tenken_demo.departments import Workspace

        self.workspace = Workspace(self.root)
        return self

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)

    def post_file(self, user, channel, name, content, thread_ts):
        path = Path(tempfile.gettempdir()) / name
        path.write_bytes(content)
        self.workspace.post_file(user, channel, path, thread_ts=thread_ts)
        path.unlink()

    def calls(self) -> Counter:
        request = urllib.request.Request(f"{self.root}/_standin/calls", data=b"{}")
        with urllib.request.urlopen(request, timeout=30) as response:
            return Counter(json.loads(response.read())["calls"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--departments", type=int, default=2_000)
    parser.add_argument("--measures", type=int, default=40_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--in-process", action="store_true", help="serve the stand-in from this process")
    args = parser.parse_args()

    from tenken.config import load_plan
    from tenken.notify import SlackNotifier
    from tenken.services import Cycle, collecting, opening
    from tenken.settings import Settings
    from tenken.workbook.writer import request_workbook
    from tenken_demo.slack_standin import clerk_of

    folder = Path(tempfile.mkdtemp(prefix="tenken-bench-slack-"))
    config = write_config(folder, args.measures, args.departments)
    plan = load_plan(config)
    settings = Settings(var_dir=folder / "var", database_url=f"sqlite:///{folder / 'var' / 'tenken.db'}",
                        config_dir=config, submission_key="bench-submission-key-0123456789")
    results = synthetic_results(plan)
    print(f"plan: {len(plan.measures)} measures, {len(plan.departments)} departments; files in {folder}")
    with (InProcess(config) if args.in_process else OwnProcess(config)) as slack, settings.open_ledger() as ledger:
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
                slack.post_file(clerk_of(department), channel, f"{department}-{run}.xlsx", content, ts)
            prepared = time.perf_counter() - started
            before = slack.calls()
            started = time.perf_counter()
            report = collecting.collect(cycle)
            seconds = time.perf_counter() - started
            calls = slack.calls() - before
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

"""The yearly cycle for a synthetic plan (default 2,000 departments, 40,000 measures): wall time per stage.

Runs the real flows on a temporary Prefect server, messages to the outbox, ledger in SQLite:
open-cycle, collect-and-remind (intake of every department's filled workbook), compile-and-review
up to the pause (goal: <= 60 s), then approval and publication. Prints each stage's wall time and
its tasks' own times; what is left is Prefect's overhead. bench_flows.py measures the two stages whose
cost grows with the plan (open-cycle, collect-and-remind) several times, each beside its anchor.

Usage: .venv/bin/python benchmarks/bench_cycle.py [--measures N] [--departments N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import YEAR, synthetic_config, synthetic_results  # noqa: E402


def write_config(folder: Path, measures: int, departments: int) -> Path:
    raw, depts = synthetic_config(measures, departments)
    config = folder / "config"
    (config / "results").mkdir(parents=True)
    (config / "plan.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    (config / "departments.yaml").write_text(yaml.safe_dump({"departments": depts}, allow_unicode=True),
                                             encoding="utf-8")
    (config / "cycle.yaml").write_text(yaml.safe_dump({
        "deadline": "05-31", "publish_target": str(folder / "site"), "announce_channel": "#announce",
        "review": {"channel": "#review", "reviewers": [{"name": "ベンチマーク", "slack": "@bench-reviewer"}]}}),
        encoding="utf-8")
    return config


def task_seconds(flow_run_id) -> dict[str, float]:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    totals: dict[str, float] = {}
    for run in runs:
        name = run.name.rsplit("-", 1)[0]
        totals[name] = totals.get(name, 0.0) + run.total_run_time.total_seconds()
    return totals


def report(stage: str, seconds: float, flow_run_id=None) -> None:
    tasks = task_seconds(flow_run_id) if flow_run_id else {}
    own = sum(tasks.values())
    detail = ", ".join(f"{k} {v:.1f} s" for k, v in tasks.items())
    print(f"{stage:<32} {seconds:7.1f} s   tasks: {detail or '-'}"
          + (f"   Prefect and the rest: {seconds - own:.1f} s" if tasks else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--measures", type=int, default=40_000)
    parser.add_argument("--departments", type=int, default=2_000)
    parser.add_argument("--no-publish", action="store_true",
                        help="stop after the approval (publishing renders the whole annex as PDF: minutes)")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="tenken-bench-cycle-"))
    os.environ.update({"TENKEN_VAR_DIR": str(folder / "var"), "TENKEN_REVIEW_POLL_SECONDS": "1",
                       "TENKEN_SLACK_SECRET_BLOCK": ""})
    os.environ.pop("SLACK_BOT_TOKEN", None)
    config = write_config(folder, args.measures, args.departments)

    from prefect.testing.utilities import prefect_test_harness

    from flows.collect_and_remind import collect_and_remind
    from flows.compile_and_review import compile_and_review
    from flows.open_cycle import open_cycle
    from tenken.core.aggregate import summarize
    from tenken.config import load_cycle_settings, load_plan
    from tenken.services import Cycle, collecting
    from tenken.services.compiling import current_assessment
    from tenken.services.opening import write_request_files
    from tenken.settings import Settings
    from tenken_demo.review_client import answer_review, reviewer_code, wait_for_paused_review

    settings = Settings.resolve(config_dir=config)
    plan, deadline = load_plan(config), load_cycle_settings(config).deadline_for(YEAR)
    print(f"plan: {len(plan.measures)} measures, {len(plan.departments)} departments; files in {folder}")
    with prefect_test_harness(server_startup_timeout=120):
        started = time.perf_counter()
        state = open_cycle(YEAR, str(config), return_state=True)
        report("open-cycle", time.perf_counter() - started, state.state_details.flow_run_id)

        started = time.perf_counter()
        filled = write_request_files(plan, YEAR, folder / "filled", deadline, filled=synthetic_results(plan),
                                     signer=settings.signer(plan.name))
        with Cycle.opened(settings, YEAR, sending=False) as cycle:  # a bridge delivers each, sender recorded
            for department, path in filled.items():
                collecting.deliver(cycle, [path], department, "bench-bridge")
        print(f"{'(departments fill workbooks)':<32} {time.perf_counter() - started:7.1f} s   not part of the cycle")

        started = time.perf_counter()
        state = collect_and_remind(YEAR, deadline, str(config), return_state=True)
        report("collect-and-remind (intake)", time.perf_counter() - started, state.state_details.flow_run_id)

        started = time.perf_counter()
        with Cycle.opened(settings, YEAR, sending=False) as cycle:
            summarize(current_assessment(cycle, allow_missing=True))
        print(f"{'(load from ledger + rate)':<32} {time.perf_counter() - started:7.1f} s   measured outside Prefect")

        paused_at: dict[str, float] = {}

        def reviewer() -> None:
            paused = wait_for_paused_review(timeout=3600, poll=0.2)
            paused_at["t"] = time.perf_counter()
            paused_at["id"] = paused.id
            answer_review(paused.id, "approve", reviewer_code(settings, YEAR, 1, None))  # from the outbox

        thread = threading.Thread(target=reviewer, daemon=True)
        thread.start()
        started = time.perf_counter()
        state = compile_and_review(YEAR, str(config), publish_on_approval=not args.no_publish, return_state=True)
        finished = time.perf_counter()
        thread.join()
        report("compile-and-review to pause", paused_at["t"] - started)
        report("  whole run" + ("" if args.no_publish else " incl. publish"), finished - started,
               state.state_details.flow_run_id)
        assert state.is_completed(), state


if __name__ == "__main__":
    main()

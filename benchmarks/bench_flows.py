"""The two stages of the cycle whose cost grows with the plan, run as the real flows, each beside its anchor
(issue 14): default 2,000 departments and 40,000 measures, medians of --runs runs.

    open-cycle          the flow on a temporary Prefect server: the cycle recorded, every department's
                        request workbook written (requests/), every request sent to the outbox and recorded
                        (claim before, mark after).
      anchor            the same workbooks written by tenken's writer alone in a plain loop (write_request_files:
                        no Prefect, no ledger, no sending): the floor of the stage as long as the workbooks are
                        what they are. Also, once per invocation (a sample, scaled), openpyxl building and
                        saving the same workbooks (writer.build_workbook): the writer before issue 14.
    collect-and-remind  the flow taking in every department's filled workbook, delivered to the inbox with its
                        sender recorded (as bench_cycle.py), answering each (outbox) and reminding nobody.
      anchor            the same files taken in by bench_intake.py's path, outside Prefect: Intake(plan, year,
                        ledger).run(files) into a fresh SQLite ledger (its forms read ahead by worker
                        processes, as the flow's are: tenken/workbook/ahead.py).

Each run starts from a fresh var folder (the same submission key, so the filled workbooks are written once).
Tenken's run and its anchor's alternate, so that other work on the machine weighs on both alike.

Usage: .venv/bin/python benchmarks/bench_flows.py [--departments N] [--measures N] [--runs N] [--stage open|collect|both]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_cycle import task_seconds, write_config  # noqa: E402
from synthetic import YEAR, synthetic_results  # noqa: E402

KEY = "bench-flows-submission-key-0123456789abcdef"


def fresh_var(folder: Path, run: int) -> Path:
    """A new var folder holding only the submission key (the key file, as a deployment without a key
    in its environment has)."""
    var = folder / f"var-{run}"
    (var / "keys").mkdir(parents=True)
    key = var / "keys" / "submission.key"
    key.write_text(KEY, encoding="ascii")
    key.chmod(0o600)
    os.environ["TENKEN_VAR_DIR"] = str(var)
    return var


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown CPU") if Path("/proc/cpuinfo").exists() else "unknown CPU"
    return f"{os.cpu_count()} CPUs ({model}), Python {sys.version.split()[0]}"


def describe(values: list[float]) -> str:
    return f"{statistics.median(values):6.1f} s (min {min(values):.1f}, max {max(values):.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--departments", type=int, default=2_000)
    parser.add_argument("--measures", type=int, default=None, help="default: 20 per department")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--stage", choices=("open", "collect", "both"), default="both")
    parser.add_argument("--openpyxl-sample", type=int, default=100,
                        help="departments whose workbooks openpyxl alone builds and saves, scaled (0: none)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    measures = args.measures or 20 * args.departments

    folder = Path(tempfile.mkdtemp(prefix="tenken-bench-flows-"))
    # No telemetry from the temporary server (its heartbeat, racing for the SQLite database, logs a traceback).
    os.environ.update({"TENKEN_REVIEW_POLL_SECONDS": "1", "TENKEN_SLACK_SECRET_BLOCK": "",
                       "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
    for name in ("SLACK_BOT_TOKEN", "TENKEN_DATABASE_URL", "TENKEN_SUBMISSION_KEY", "TENKEN_CONFIG_DIR"):
        os.environ.pop(name, None)
    config = write_config(folder, measures, args.departments)

    from prefect.testing.utilities import prefect_test_harness

    from flows.collect_and_remind import collect_and_remind
    from flows.open_cycle import open_cycle
    from tenken.config import load_cycle_settings, load_directory, load_plan
    from tenken.intake import Intake
    from tenken.ledger import Ledger
    from tenken.services import Cycle, collecting
    from tenken.services.opening import write_request_files
    from tenken.settings import Settings
    from tenken.workbook import writer

    plan, directory = load_plan(config), load_directory(config)
    deadline = load_cycle_settings(config).deadline_for(YEAR)
    fresh_var(folder, 0)
    signer = Settings.resolve(config_dir=config).signer(plan.name)
    print(f"plan: {len(plan.measures)} measures, {len(plan.departments)} departments; {args.runs} runs; "
          f"files in {folder}")
    print(f"machine: {machine()}")

    filled: dict[str, Path] = {}
    if args.stage in ("collect", "both"):
        started = time.perf_counter()
        filled = write_request_files(plan, YEAR, folder / "filled", deadline, filled=synthetic_results(plan),
                                     signer=signer)
        print(f"(the departments' filled workbooks written once: {time.perf_counter() - started:.1f} s, not timed)")

    results: dict[str, list[float]] = {}
    tasks: dict[str, dict[str, list[float]]] = {}

    def timed(label: str, seconds: float, flow_run_id=None) -> None:
        results.setdefault(label, []).append(seconds)
        if flow_run_id is not None:
            for name, spent in task_seconds(flow_run_id).items():
                tasks.setdefault(label, {}).setdefault(name, []).append(spent)
        print(f"  {label:<44} {seconds:6.1f} s")

    with prefect_test_harness(server_startup_timeout=120):
        for run in range(1, args.runs + 1):
            print(f"run {run} (load average {', '.join(f'{x:.1f}' for x in os.getloadavg())})")
            var = fresh_var(folder, run)
            settings = Settings.resolve(config_dir=config)
            if args.stage in ("open", "both"):
                started = time.perf_counter()
                state = open_cycle(YEAR, str(config), return_state=True)
                timed("open-cycle (flow)", time.perf_counter() - started, state.state_details.flow_run_id)
                assert state.is_completed(), state
                sent = state.result()
                assert len(sent) == len(plan.departments), len(sent)

                out = folder / f"anchor-requests-{run}"
                started = time.perf_counter()
                write_request_files(plan, YEAR, out, deadline, signer=signer, directory=directory)
                timed("anchor: the writer alone", time.perf_counter() - started)
                shutil.rmtree(out)
            else:
                with Cycle.opened(settings, YEAR, sending=False) as cycle:
                    cycle.ledger.open_cycle(YEAR, plan.name, deadline)

            if args.stage in ("collect", "both"):
                with Cycle.opened(settings, YEAR, sending=False) as cycle:  # a bridge delivers each, sender recorded
                    for department, path in filled.items():
                        collecting.deliver(cycle, [path], department, "bench-bridge")
                started = time.perf_counter()
                state = collect_and_remind(YEAR, deadline, str(config), return_state=True)
                timed("collect-and-remind (flow)", time.perf_counter() - started, state.state_details.flow_run_id)
                assert state.is_completed(), state
                outcome = state.result()
                assert len(outcome["intake"]["accepted"]) == len(filled), {k: len(v) for k, v in outcome["intake"].items()}

                paths = sorted(filled.values())
                with tempfile.TemporaryDirectory(dir=folder) as scratch, \
                        Ledger.open(f"sqlite:///{scratch}/ledger.db") as ledger:
                    started = time.perf_counter()
                    outcomes = Intake(plan, YEAR, ledger).run(paths)
                    timed("anchor: bench_intake's path outside Prefect", time.perf_counter() - started)
                    assert all(o.accepted for o in outcomes)
            shutil.rmtree(var)

    openpyxl_seconds = None
    if args.stage in ("open", "both") and args.openpyxl_sample:
        sample = [d.key for d in plan.departments[:args.openpyxl_sample]]
        started = time.perf_counter()
        for key in sample:
            writer.workbook_bytes(writer.build_workbook(plan, YEAR, key, deadline, None, signer.token(YEAR, key)))
        openpyxl_seconds = (time.perf_counter() - started) * len(plan.departments) / len(sample)

    print()
    print(f"medians of {args.runs} runs, {args.departments} departments, {measures} measures")
    for flow, anchor in (("open-cycle (flow)", "anchor: the writer alone"),
                         ("collect-and-remind (flow)", "anchor: bench_intake's path outside Prefect")):
        if flow not in results:
            continue
        mine, theirs = statistics.median(results[flow]), statistics.median(results[anchor])
        detail = ", ".join(f"{name} {statistics.median(v):.1f} s" for name, v in tasks.get(flow, {}).items())
        print(f"{flow:<28} {describe(results[flow])}   tasks: {detail}")
        print(f"  {anchor:<46} {describe(results[anchor])}")
        print(f"  ratio {mine / theirs:.2f}x")
        if flow.startswith("open") and openpyxl_seconds is not None:
            print(f"  openpyxl alone building and saving the same workbooks: {openpyxl_seconds:.1f} s "
                  f"(a sample of {args.openpyxl_sample}, scaled; the writer before issue 14); "
                  f"ratio to the flow {mine / openpyxl_seconds:.2f}x")
    if args.keep:
        print(f"kept {folder}")
    else:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

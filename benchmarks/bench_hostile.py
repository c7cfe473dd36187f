"""What one hostile file costs intake (issue 12: at most 5 s and 500 MB more than a genuine workbook),
against a genuine workbook's baseline: for each class of the hostile corpus, the median wall time of
taking in one file and its peak RSS, each run in a fresh Python process under an address-space limit.

Usage: .venv/bin/python benchmarks/bench_hostile.py [--runs N] [--all] [--only TEXT] [--workdir DIR]

Rows: every `worst` case of tests/collect/hostile_corpus.py and the first case of each other class
(`--all`: every case). Time is measured around `Intake.run([file])` in the child (imports, plan and
ledger setup excluded); peak RSS is the child's VmHWM (ru_maxrss would carry over the peak of the
process that started the child, since Linux keeps it across exec), also shown above the baseline.
A run that dies (a parser aborting at the memory limit) or takes over --timeout is shown as such.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.collect.hostile_corpus import CASES, CASES_BY_NAME, Sources, build_case

BASELINE = "the same bytes as a genuine workbook under another name"  # a genuine workbook's bytes
SECONDS, MEGABYTES = 5.0, 500


def _cut(text: str, width: int) -> str:
    """Cut and pad to a terminal width, counting East Asian wide characters as two columns."""
    out, used = "", 0
    for char in text:
        size = 2 if unicodedata.east_asian_width(char) in "WF" else 1
        if used + size > width:
            break
        out, used = out + char, used + size
    return out + " " * (width - used)


def run_once(path: Path, limit: int, timeout: float, sender: str | None) -> dict:
    args = [sys.executable, "-m", "tests.collect.hostile_corpus", str(path)]
    if limit:
        args += ["--limit-as", str(limit)]
    if sender:
        args += ["--sender", sender]
    env = {**os.environ, "RUST_BACKTRACE": "0"}
    for name in ("TENKEN_DATABASE_URL", "TENKEN_CONFIG_DIR", "TENKEN_VAR_DIR"):
        env.pop(name, None)
    try:
        done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"failure": f"> {timeout:.0f} s"}
    if done.returncode != 0:
        first = done.stderr.decode("utf-8", "replace").strip().splitlines()[:1]
        return {"failure": f"died ({done.returncode}): {first[0][:50] if first else ''}"}
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


def measure(path: Path, runs: int, limit: int, timeout: float, sender: str | None = None) -> dict:
    results = [run_once(path, limit, timeout, sender) for _ in range(runs)]
    failures = [r["failure"] for r in results if "failure" in r]
    done = [r for r in results if "failure" not in r]
    if not done:
        return {"failure": failures[0]}
    return {"median": statistics.median(r["elapsed"] for r in done), "max": max(r["elapsed"] for r in done),
            "hwm_mb": max(r["vmhwm_kb"] for r in done) / 1024, "vmpeak_mb": max(r["vmpeak_kb"] for r in done) / 1024,
            "outcome": "accepted" if all(r["accepted"] == [True] for r in done) else
            ("refused" if all(r["accepted"] == [False] for r in done) else "mixed"),
            "problems": done[0]["problem_count"], "failures": failures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per file (default 3)")
    parser.add_argument("--all", action="store_true", help="every case, not one per class")
    parser.add_argument("--only", help="only the cases whose name or class contains this text")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds before a run is killed")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "tenken-bench-hostile")
    args = parser.parse_args()

    sources = Sources.create(args.workdir / "genuine")
    if args.all:
        cases = list(CASES)
    else:
        seen: set[str] = set()
        cases = []
        for case in CASES:
            if case.worst or case.group not in seen:
                cases.append(case)
                seen.add(case.group)
    if args.only:
        cases = [c for c in cases if args.only in c.name or args.only in c.group]
    corpus = args.workdir / "corpus"
    shutil.rmtree(corpus, ignore_errors=True)

    baseline_path = build_case(CASES_BY_NAME[BASELINE], corpus / "baseline", sources)
    baseline = measure(baseline_path, args.runs, 0, args.timeout)
    if "failure" in baseline:
        raise SystemExit(f"the genuine workbook failed: {baseline['failure']}")
    limit = max(1536 * 1024 ** 2, int((baseline["vmpeak_mb"] + MEGABYTES) * 1024 ** 2))
    print(f"{len(cases)} files, {args.runs} fresh processes each, RLIMIT_AS {limit / 1024 ** 3:.2f} GB; "
          f"goal: <= {SECONDS:.0f} s and <= {MEGABYTES} MB over the baseline\n")
    header = f"{'class':<18} {'file':<52} {'median s':>9} {'max s':>7} {'peak MB':>8} {'+MB':>6}  outcome"
    print(header)
    print("-" * len(header))

    def row(group: str, name: str, cost: dict) -> None:
        if "failure" in cost:
            print(f"{group:<18} {_cut(name, 52)} {'—':>9} {'—':>7} {'—':>8} {'—':>6}  {cost['failure']}")
            return
        over = cost["hwm_mb"] - baseline["hwm_mb"]
        flag = "" if cost["max"] <= SECONDS and over <= MEGABYTES else "  ← over the goal"
        extra = f" ({cost['problems']:,} problems)" if cost["problems"] > 1 else ""
        failed = f", {len(cost['failures'])} run(s) failed" if cost["failures"] else ""
        print(f"{group:<18} {_cut(name, 52)} {cost['median']:>9.3f} {cost['max']:>7.3f} {cost['hwm_mb']:>8.0f} "
              f"{over:>+6.0f}  {cost['outcome']}{extra}{failed}{flag}")

    row("baseline", "a genuine workbook", baseline)
    for number, case in enumerate(cases):
        path = build_case(case, corpus / f"{number:02d}", sources)
        given = path if case.direct else path.parent
        row(case.group, case.name, measure(given, args.runs, limit, args.timeout, case.sender))


if __name__ == "__main__":
    main()

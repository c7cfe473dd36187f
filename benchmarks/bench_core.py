"""Rate and aggregate a synthetic plan of 100,000 measures in 2,000 departments (goal: <= 0.3 s median),
beside its anchor measured in the same run, and the ratio.

    tenken   summarize(assess(plan, results)): from the typed Plan and ResultSet, every check
             (characters, units, part counts, departments …), the 20-column frame of every measure,
             the Summary with its pillars and sub-pillars
    anchor   plain pandas on the same data already laid out as columns (one row a part: measure,
             pillar, sub-pillar, kind, target and actual as written, direction, self-rating): numbers
             read with .str, parts rated with numpy, a measure's worst part by groupby, counts and
             achievement rates by pillar, sub-pillar and in total; no checks, no messages

Laying the anchor's columns out of the Plan and ResultSet is done once, untimed; tenken pays for
reading its objects in every run. The two run in turn (tenken, anchor, tenken …) so that other work
on the machine weighs on both alike; wall and CPU time (process_time) are printed, medians of --runs.
The anchor's counts are checked against tenken's.

Usage: .venv/bin/python benchmarks/bench_core.py [--measures N] [--departments N] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import synthetic

from tenken.core.aggregate import summarize
from tenken.core.assessment import assess
from tenken.core.plan import Plan
from tenken.core.results import ResultSet

GOAL = 0.3  # seconds, median (issue 14)
_NUMBER = r"^([+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?)"


def columns(plan: Plan, results: ResultSet) -> pd.DataFrame:
    """The anchor's input: one row for each part of a rated measure, with its result (untimed)."""
    by_key = {r.measure: r for r in results.results}
    rows = []
    for i, m in enumerate(plan.measures):
        year = m.years.get(results.fiscal_year)
        result = by_key.get(m.key)
        if year is None or year.status != "rated" or result is None:
            continue
        for part, actual in zip(year.parts, result.actual):
            rows.append((i, m.path[0], m.path[1], part.kind, part.target, part.direction, actual,
                         result.self_rating.value if result.self_rating else ""))
    return pd.DataFrame(rows, columns=["measure", "pillar", "sub_pillar", "kind", "target", "direction",
                                       "actual", "self_rating"])


def anchor(parts: pd.DataFrame, threshold: float, negative_words: tuple[str, ...]) -> dict:
    """The same ratings and achievement rates, in plain pandas (vectorised), from the columns."""
    numeric = parts[parts["kind"] == "numeric"]
    targets = numeric["target"].astype("category")  # targets repeat: read each distinct one once
    target_values = pd.to_numeric(targets.cat.categories.str.extract(_NUMBER)[0].str.replace(",", ""))
    t = target_values.to_numpy(dtype=float)[targets.cat.codes.to_numpy()]
    a = pd.to_numeric(numeric["actual"].str.extract(_NUMBER)[0].str.replace(",", "")).to_numpy(dtype=float)
    lower = (numeric["direction"] == "lower").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        met = np.where(lower, a <= t, a >= t)
        ratio = np.where(lower, np.where(a > 0, t / a, np.where(t > 0, np.inf, 0.0)), np.where(t > 0, a / t, 0.0))
    code = pd.Series(np.where(met & (ratio >= threshold - 1e-9), 2, np.where(met, 1, 0)), index=numeric.index)
    unread = np.isnan(a)  # only a negative word (未把握 …) may stand for a number: not achieved
    assert numeric["actual"][unread].str.contains("|".join(negative_words)).all()
    numeric_code = code.groupby(numeric["measure"]).min()

    qualitative = parts[parts["kind"] == "qualitative"].drop_duplicates("measure").set_index("measure")
    qualitative_code = qualitative["self_rating"].map({"◎": 2, "○": 1, "△": 0})
    measure_code = pd.concat([numeric_code, qualitative_code]).groupby(level=0).min()

    levels = parts.drop_duplicates("measure").set_index("measure")[["pillar", "sub_pillar"]]
    rated = levels.loc[measure_code.index].assign(code=measure_code.to_numpy())
    by_sub = rated.groupby(["pillar", "sub_pillar"], sort=False)["code"].value_counts().unstack(fill_value=0)
    by_sub = by_sub.reindex(columns=[2, 1, 0], fill_value=0)

    def with_rates(counts: pd.DataFrame) -> pd.DataFrame:
        met, total = counts[2] + counts[1], counts.sum(axis=1)
        return counts.assign(rate=((2000 * met + total) // (2 * total)) / 10)  # half up, one decimal

    return {"total": with_rates(by_sub.sum().to_frame().T), "pillar": with_rates(by_sub.groupby(level=0, sort=False).sum()),
            "sub_pillar": with_rates(by_sub)}


def machine() -> str:
    try:
        from anchors import machine as described  # the other benchmarks' line, when there
        return described()
    except ImportError:
        return f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, load average {os.getloadavg()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--measures", type=int, default=100_000)
    parser.add_argument("--departments", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    started = time.perf_counter()
    plan, results = synthetic(args.measures, args.departments)
    parts = columns(plan, results)
    print(f"built plan, results and the anchor's columns (not timed below): {time.perf_counter() - started:.2f} s, "
          f"{len(plan.measures)} measures, {len(plan.departments)} departments, {len(results.results)} results, "
          f"{len(parts)} parts rated")
    print(machine())

    policy = plan.rating
    wall: dict[str, list[float]] = {"tenken": [], "anchor": []}
    cpu: dict[str, list[float]] = {"tenken": [], "anchor": []}
    for run in range(args.runs + 1):  # the first pair warms up (imports, caches) and is not counted
        fresh = plan.model_copy()  # drop the plan's cached lookups so every run pays for them
        started, started_cpu = time.perf_counter(), time.process_time()
        figures = summarize(assess(fresh, results))
        if run:
            wall["tenken"].append(time.perf_counter() - started)
            cpu["tenken"].append(time.process_time() - started_cpu)
        started, started_cpu = time.perf_counter(), time.process_time()
        rates = anchor(parts, policy.exceeded_ratio, policy.negative_words)
        if run:
            wall["anchor"].append(time.perf_counter() - started)
            cpu["anchor"].append(time.process_time() - started_cpu)

    total = rates["total"].iloc[0]
    agree = ((int(total[2]), int(total[1]), int(total[0])) == (figures.exceeded, figures.achieved, figures.not_achieved)
             and [p.rate for p in figures.pillars] == rates["pillar"]["rate"].tolist()
             and [s.rate for p in figures.pillars for s in p.sub_pillars] == rates["sub_pillar"]["rate"].tolist())
    for name, label in (("tenken", "rate + aggregate (tenken)"), ("anchor", "anchor (plain pandas)")):
        print(f"{label:<27} median {statistics.median(wall[name]):.3f} s (min {min(wall[name]):.3f}, "
              f"max {max(wall[name]):.3f}); cpu median {statistics.median(cpu[name]):.3f} s")
    mine, theirs = statistics.median(wall["tenken"]), statistics.median(wall["anchor"])
    print(f"ratio tenken/anchor {mine / theirs:.2f}x wall, "
          f"{statistics.median(cpu['tenken']) / statistics.median(cpu['anchor']):.2f}x cpu; runs {args.runs}; "
          f"goal <= {GOAL} s: {'within' if mine <= GOAL else 'OVER'}; rate {figures.rate}%; "
          f"anchor's counts and rates {'agree' if agree else 'DIFFER'}")


if __name__ == "__main__":
    main()

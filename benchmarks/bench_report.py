"""Render the inspection report: FY2020 (goal <= 1.5 s median in a warm process) and an annex of
1,000 measures (goal <= 15 s).

The 1,000-measure plan is Kanagawa's FY2020 plan with every field's measures repeated, so the
annex carries real names, indicators and multi-line reasons of realistic length.

Usage: .venv/bin/python benchmarks/bench_report.py [--runs N] [--big-runs N] [--measures N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import yaml

from tenken.config import DEFAULT_CONFIG, plan_from_mapping
from tenken.core.aggregate import summarize
from tenken.core.assessment import Assessment, assess
from tenken.core.results import ResultSet
from tenken.report.context import build_context
from tenken.report.render import render_html, render_pdf
from tenken.services.results import assess_cycle


def font_subsetting() -> str:
    """WeasyPrint subsets with HarfBuzz when libharfbuzz-subset is loadable, else with fontTools."""
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    if harfbuzz_subset is None or not harfbuzz.hb_version_atleast(4, 1, 0):
        return "fontTools (slow: install libharfbuzz-subset0)"
    return "HarfBuzz >= 4.1 (libharfbuzz-subset)"


def enlarged(measures: int) -> Assessment:
    """Kanagawa's tree with each field's measures repeated until the plan holds `measures`."""
    raw = yaml.safe_load((DEFAULT_CONFIG / "plan.yaml").read_text(encoding="utf-8"))
    departments = yaml.safe_load((DEFAULT_CONFIG / "departments.yaml").read_text(encoding="utf-8"))["departments"]
    raw_results = yaml.safe_load((DEFAULT_CONFIG / "results" / "2020.yaml").read_text(encoding="utf-8"))
    original = plan_from_mapping(raw, departments)
    by_key = {r["measure"]: r for r in raw_results["results"]}

    field_keys = list(dict.fromkeys(m.key.rsplit("-", 1)[0] for m in original.measures))
    copies = -(-measures // len(original.measures))
    rows, total = [], 0
    for node, field_key in zip(_leaves(raw["tree"]), field_keys):
        base = node["measures"]
        node["measures"] = []
        for copy in range(copies):
            for n, measure in enumerate(base, 1):
                if total == measures:
                    break
                node["measures"].append(measure)
                total += 1
                number = copy * len(base) + n
                if f"{field_key}-{n}" in by_key:
                    rows.append({**by_key[f"{field_key}-{n}"], "measure": f"{field_key}-{number}"})
    plan = plan_from_mapping(raw, departments)
    results = ResultSet.model_validate({**raw_results, "results": rows})
    return assess(plan, results)


def _leaves(tree: list) -> list[dict]:
    out = []
    for node in tree:
        out.extend(_leaves(node["children"]) if node.get("children") else [node])
    return out


def timed(render: Callable[[], bytes], runs: int) -> tuple[list[float], int]:
    timings, size = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        size = len(render())
        timings.append(time.perf_counter() - started)
    return timings, size


def report(assessment: Assessment) -> Callable[[], bytes]:
    summary = summarize(assessment)
    return lambda: render_pdf(render_html(build_context(assessment, summary, draft=False)))


def line(label: str, timings: list[float], size: int, goal: float) -> str:
    median = statistics.median(timings)
    verdict = "within" if median <= goal else "OVER"
    return (f"{label}: median {median:.3f} s (min {min(timings):.3f}, max {max(timings):.3f}, "
            f"runs {len(timings)}), {size / 1024:.0f} KiB; goal <= {goal} s: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--big-runs", type=int, default=3)
    parser.add_argument("--measures", type=int, default=1000)
    args = parser.parse_args()
    print(f"font subsetting: {font_subsetting()}")

    fy2020 = report(assess_cycle(2020))
    fy2020()  # warm: imports, fontconfig, Pango caches
    print(line("FY2020 report (context + HTML + PDF)", *timed(fy2020, args.runs), goal=1.5))

    big = enlarged(args.measures)
    print(f"synthetic plan: {len(big.measures)} measures, {int((big.measures['status'] == 'rated').sum())} rated")
    print(line(f"annex of {len(big.measures)} measures", *timed(report(big), args.big_runs), goal=15))


if __name__ == "__main__":
    main()

"""Render the inspection report, each beside its anchor measured in the same run: Chromium headless
printing the same HTML (as WeasyPrint gets it) to PDF, as one command, and the ratio.

    FY2020 report, in a warm process (context + HTML + PDF)     goal: as fast as it gets (issue 14);
        its front matter and annex laid out by two processes forked from this one
    an annex of 3,000 measures (context + HTML + PDF)            goal <= 12 s

The large plan is Kanagawa's FY2020 plan with every field's measures repeated, so the annex carries real
names, indicators and multi-line reasons of realistic length. It is rendered in chunks by one process
per usable CPU (tenken/report/parallel.py); the CPU time shown includes the worker processes'.
Tenken's runs and Chromium's alternate, so that other work on the machine weighs on both alike.

Usage: .venv/bin/python benchmarks/bench_report.py [--runs N] [--big-runs N] [--measures N] [--workers N]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from anchors import Timings, chromium, chromium_print, machine, print_html, row, time_command

from tenken.config import DEFAULT_CONFIG, plan_from_mapping
from tenken.core.aggregate import summarize
from tenken.core.assessment import Assessment, assess
from tenken.core.results import ResultSet
from tenken.report import parallel
from tenken.report.context import build_context
from tenken.report.render import print_markup, render_html, render_pdf
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


def report(assessment: Assessment, workers: int | None) -> tuple[Callable[[], bytes], str]:
    """The render as `tenken report` does it, and its HTML."""
    summary = summarize(assessment)
    html = render_html(build_context(assessment, summary, draft=False))
    return (lambda: render_pdf(render_html(build_context(assessment, summary, draft=False)), workers=workers)), html


def _cpu() -> float:
    """This process's CPU time and its finished children's (the render's worker processes)."""
    mine, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime


def side_by_side(render: Callable[[], bytes], html: str, runs: int, scratch: Path,
                 browser: str | None) -> tuple[Timings, Timings | None, int]:
    """`runs` renders in this warm process, each followed by Chromium printing the same HTML."""
    page, pdf = print_html(html, scratch / "report.html"), scratch / "chromium.pdf"
    anchor = chromium_print(browser, page, pdf, scratch / "profile") if browser else None
    size = len(render())  # warm: imports, fontconfig, Pango caches, the worker start method
    if anchor:
        time_command(anchor, None)
    mine, theirs = Timings(), (Timings() if anchor else None)
    for _ in range(runs):
        started, cpu = time.perf_counter(), _cpu()
        render()
        mine.wall.append(time.perf_counter() - started)
        mine.cpu.append(_cpu() - cpu)
        if anchor:
            time_command(anchor, theirs)
    return mine, theirs, size


def show(label: str, mine: Timings, theirs: Timings | None, size: int, goal: str) -> None:
    if theirs is None:
        print(f"{label:<28} {mine.describe()}, {size / 1024:.0f} KiB; {goal}; no Chromium found for the anchor")
    else:
        print(row(label, mine, "Chromium printing it", theirs, goal) + f"; {size / 1024:.0f} KiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="runs of the FY2020 report (default 7; 0: skip it)")
    parser.add_argument("--big-runs", type=int, default=3, help="runs of the large report (default 3; 0: skip it)")
    parser.add_argument("--measures", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=None,
                        help="processes for a report in chunks (default: the usable CPUs; 1: this process)")
    args = parser.parse_args()
    browser = chromium()
    print(f"machine: {machine()}; usable CPUs {parallel.usable_cpus()}")
    print(f"font subsetting: {font_subsetting()}; Chromium: {browser or 'none found'}")
    with tempfile.TemporaryDirectory(prefix="tenken-bench-report-") as scratch:
        if args.runs:
            render, html = report(assess_cycle(2020), args.workers)
            mine, theirs, size = side_by_side(render, html, args.runs, Path(scratch), browser)
            show("FY2020 report, warm", mine, theirs, size, "goal: as fast as it gets, the command <= 1.3 s")
        if args.big_runs:
            big = enlarged(args.measures)
            render, html = report(big, args.workers)
            split = parallel.split(print_markup(html))
            sizes = [chunk.markup.count(parallel.MEASURE_ROW) for chunk in split.chunks] if split else [len(big.measures)]
            print(f"synthetic plan: {len(big.measures)} measures, {int((big.measures['status'] == 'rated').sum())} "
                  f"rated; {len(sizes)} chunks ({', '.join(map(str, sizes))} measures), "
                  f"{min(len(sizes), args.workers or parallel.usable_cpus())} processes")
            mine, theirs, size = side_by_side(render, html, args.big_runs, Path(scratch), browser)
            goal = f"goal <= 12 s: {'within' if mine.median <= 12 else 'OVER'}" if args.measures == 3000 else ""
            show(f"annex of {len(big.measures)} measures", mine, theirs, size, goal)
        print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")

if __name__ == "__main__":
    main()

"""The command line as a person meets it, each command a fresh process as typed in a shell, with its anchor
measured in the same run (benchmarks/anchors.py) and the ratio:

    tenken --help                  goal <= 0.3 s     anchor: `python -c pass`, the interpreter's floor
    tenken summary --help                            anchor: `python -c pass`
    tenken summary --year 2020                       anchor: `python -c pass`
    tenken report --year 2020      goal <= 1.3 s and <= 1.2 x Chromium
                                                     anchor: Chromium headless printing tenken's own HTML of
                                                     the same report (as WeasyPrint gets it) to PDF

The FY2020 example, an empty var folder (no ledger: the example's results), no TENKEN_* variables.

Usage: .venv/bin/python benchmarks/bench_cli.py [--runs N] [--report-runs N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from anchors import chromium, chromium_print, interpreter, machine, print_html, row, time_command, timed_pairs

TENKEN = Path(sys.executable).with_name("tenken")


def verdict(median: float, goal: float) -> str:
    return "within" if median <= goal else "OVER"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9, help="runs of each short command (default 9)")
    parser.add_argument("--report-runs", type=int, default=7, help="runs of tenken report and Chromium (default 7)")
    args = parser.parse_args()
    env = {name: value for name, value in os.environ.items() if not name.startswith("TENKEN_")}
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="tenken-bench-cli-") as scratch:
        cwd = Path(scratch)
        var, out = ["--var", str(cwd / "var")], cwd / "out"
        floor = interpreter()
        for label, argv, goal in [
            ("tenken --help", ["--help"], 0.3),
            ("tenken summary --help", ["summary", "--help"], None),
            ("tenken summary --year 2020", ["summary", "--year", "2020", *var], None),
        ]:
            mine, anchor = timed_pairs([str(TENKEN), *argv], floor, args.runs, cwd, env)
            goal_text = f"goal <= {goal} s: {verdict(mine.median, goal)}" if goal else ""
            print(row(label, mine, "python -c pass", anchor, goal_text))

        report = [str(TENKEN), "report", "--year", "2020", "--out", str(out), *var]
        browser = chromium()
        if browser is None:
            print("tenken report --year 2020: no Chromium found (chromium, chromium-browser, google-chrome or "
                  "Playwright's), so no anchor: install one to measure")
            return
        # tenken writes the report's HTML page; Chromium prints that markup, as WeasyPrint is given it.
        time_command(report, None, cwd, env)
        html = print_html((out / "report-2020.html").read_text(encoding="utf-8"), cwd / "report-2020-print.html")
        printing = chromium_print(browser, html, cwd / "chromium-2020.pdf", cwd / "chromium-profile")
        mine, anchor = timed_pairs(report, printing, args.report_runs, cwd, env)
        ratio = mine.median / anchor.median
        goal_text = (f"goal <= 1.3 s: {verdict(mine.median, 1.3)}, "
                     f"<= 1.2 x Chromium: {'within' if ratio <= 1.2 else 'OVER'}")
        print(row("tenken report --year 2020", mine, f"Chromium print ({Path(browser).name})", anchor, goal_text))
    print(f"machine after: {machine()}")


if __name__ == "__main__":
    main()

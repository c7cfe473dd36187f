"""Anchors the benchmarks print beside tenken, measured in the same run: what the same job costs without it.

    interpreter()           `python -c pass` with tenken's interpreter: the floor of any Python command
    chromium()              the Chromium to print with (chromium, chromium-browser, google-chrome on PATH,
                            else Playwright's bundled one), or None
    print_html(html, path)  tenken's report HTML as WeasyPrint gets it (screen-only markup dropped), in a file
    chromium_print(...)     Chromium headless printing such a file to PDF, as one command
    timed_pairs(...)        whole commands as subprocesses, tenken's and its anchor's in turn, wall and CPU time
    time_command(...)       one command to its end, its wall and CPU time added to a Timings
    row(...)                one printed line: tenken, the anchor, the ratio

Tenken's runs and the anchor's alternate, so that other work on the machine weighs on both alike; each
command runs once untimed first (disk caches, Chromium's profile), and the median is what counts.
"""

from __future__ import annotations

import glob
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--no-pdf-header-footer"]


def interpreter() -> list[str]:
    """The interpreter floor: the same Python starting and doing nothing (site and .pth files included)."""
    return [sys.executable, "-c", "pass"]


def chromium() -> str | None:
    """Chromium or Chrome: on PATH first, else the newest Playwright download (PLAYWRIGHT_BROWSERS_PATH or
    ~/.cache/ms-playwright)."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    browsers = Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or Path.home() / ".cache" / "ms-playwright")
    bundled = sorted(glob.glob(str(browsers / "chromium-*" / "chrome-linux*" / "chrome")))
    return bundled[-1] if bundled else None


def print_html(html: str, path: Path) -> Path:
    """Write the report HTML as WeasyPrint is given it (tenken.report.render.print_markup), for Chromium
    to print the same markup. The report's CSS is inline, so the file needs nothing beside it."""
    from tenken.report.render import print_markup

    path.write_text(print_markup(html), encoding="utf-8")
    return path


def chromium_print(browser: str, html: Path, pdf: Path, profile: Path) -> list[str]:
    """Chromium headless printing `html` to `pdf` (A4 and margins from the report's @page rules), with a
    profile of its own so that nothing of the user's is read or written."""
    return [browser, *CHROMIUM_ARGS, f"--user-data-dir={profile}", f"--print-to-pdf={pdf}", html.as_uri()]


@dataclass
class Timings:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # user + system of the command and the children it waited for

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    def describe(self) -> str:
        return (f"{self.median:.3f} s (min {min(self.wall):.3f}, max {max(self.wall):.3f}; "
                f"cpu {statistics.median(self.cpu):.3f} s)")


def _timed(argv: list[str], cwd: Path | None, env: dict[str, str] | None, into: Timings | None) -> None:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if into is not None:
        into.wall.append(wall)
        into.cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)


def time_command(argv: list[str], into: Timings | None, cwd: Path | None = None,
                 env: dict[str, str] | None = None) -> None:
    """Run one command (a subprocess) to its end; with `into`, add its wall and CPU time there. For a
    benchmark that alternates work of its own process with an anchor command."""
    _timed(argv, cwd, env, into)


def timed_pairs(tenken: list[str], anchor: list[str], runs: int, cwd: Path | None = None,
                env: dict[str, str] | None = None) -> tuple[Timings, Timings]:
    """Run each command once untimed, then `runs` times each, in turn: tenken, anchor, tenken, …"""
    _timed(tenken, cwd, env, None)
    _timed(anchor, cwd, env, None)
    mine, theirs = Timings(), Timings()
    for _ in range(runs):
        _timed(tenken, cwd, env, mine)
        _timed(anchor, cwd, env, theirs)
    return mine, theirs


def row(label: str, mine: Timings, anchor_label: str, anchor: Timings, goal: str = "") -> str:
    return (f"{label:<28} {mine.describe()}\n"
            f"  {anchor_label:<26} {anchor.describe()}\n"
            f"  ratio {mine.median / anchor.median:.2f}x, runs {len(mine.wall)}{'; ' + goal if goal else ''}")


def machine() -> str:
    """The machine the figures come from, and how busy it was."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown CPU") if Path("/proc/cpuinfo").exists() else "unknown CPU"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{os.cpu_count()} CPUs ({model}), Python {sys.version.split()[0]}, load average {load}"

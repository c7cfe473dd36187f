"""The `tenken` console script: tenken.cli, with two things done around it that only the whole process can do.

- For `tenken report`, the process that renders the PDF is started first thing
  (tenken.report.warm.start_early), before the command line (Typer) is even imported: WeasyPrint loads
  there while this process loads and parses the command line too (about 0.1 s earlier).
- When the command has ended, the objects left are frozen out of the cyclic garbage collector: the
  interpreter's last collection at exit walks every object pandas, Typer and the rest made (about 0.1 s
  after a report) only to find what the operating system takes back anyway. Files, the ledger and
  temporary folders are closed by the command itself or by their atexit handlers, which still run.
"""

from __future__ import annotations

import gc
import sys


def renders_a_report(args: list[str]) -> bool:
    """`tenken report ...` that will render (not asking for its help)."""
    return bool(args) and args[0] == "report" and not {"--help", "-h"} & set(args)


def main() -> None:
    try:
        if renders_a_report(sys.argv[1:]):
            from tenken.report.warm import start_early

            start_early()
        from tenken.cli import main as command_line

        command_line()
    finally:
        gc.freeze()

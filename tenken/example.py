"""The bundled example as real files: each department's request workbook, filled in from the plan
folder's results (results/<year>.yaml) the way the department would have filled it.

Only what a department writes goes in (actuals, self-ratings, reasons, cause tags, highlights);
the office's adjustments and report text stay in the config. Tests and the demo submit these files.

    tenken example-workbooks --year 2020 --out DIR
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from tenken.config import DEFAULT_CONFIG, load_directory, load_plan, load_results
from tenken.identity import Signer
from tenken.services.opening import department_results, write_request_files

__all__ = ["department_results", "write_example_workbooks"]


def write_example_workbooks(fiscal_year: int, out_dir: Path, config_dir: Path | None = None,
                            deadline: date | None = None, csv: bool = False,
                            on_file: Callable[[Path], None] | None = None,
                            signer: Signer | None = None) -> list[Path]:
    """One filled workbook (or CSV) per department asked for this year; returns the paths written.
    With a signer (the settings' of the ledger they will be submitted to), each carries its token."""
    config_dir = Path(config_dir or DEFAULT_CONFIG)
    written = write_request_files(load_plan(config_dir), fiscal_year, out_dir, deadline,
                                  filled=load_results(config_dir, fiscal_year), workbook=not csv, csv=csv,
                                  signer=signer, on_file=on_file, directory=load_directory(config_dir))
    return list(written.values())

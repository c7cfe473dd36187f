"""`tenken report`: the inspection report of a fiscal year as PDF, HTML and open data."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer

from tenken.cli.app import ConfigOption, DbOption, VarOption, YearOption, app, domain_errors, existing_ledger, \
    settings, write_stdout


@app.command()
@domain_errors
def report(
    year: YearOption,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the files into (created if missing).",
                                      file_okay=False, dir_okay=True)],
    config: ConfigOption = None,
    draft: Annotated[bool, typer.Option("--draft", help="Review copy: every page carries the watermark 案.")] = False,
    db: DbOption = None,
    var: VarOption = None,
) -> None:
    """Write the report PDF and HTML page, and the annex as CSV and JSON with a column dictionary."""
    from tenken.report.warm import PdfProcess

    # First: WeasyPrint loads in another process while this one reads the plan and builds the HTML.
    with PdfProcess.start() or contextlib.nullcontext() as pdf_process:
        from tenken.core.aggregate import summarize
        from tenken.report import write_report
        from tenken.services.history import history_for, previous_rates
        from tenken.services.results import assess_cycle

        resolved = settings(config, db, var)
        with existing_ledger(resolved) as ledger:
            assessment = assess_cycle(year, resolved.config_dir, ledger)
            history = history_for(assessment.plan, year, ledger)
        summary = summarize(assessment, previous_rates(assessment.plan, year, history))
        paths = write_report(assessment, summary, out, draft=draft, history=history,
                             render_pdf=pdf_process.render_pdf if pdf_process else None)
    for path in paths.values():
        write_stdout(str(path))

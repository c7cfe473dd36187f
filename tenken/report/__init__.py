"""The inspection report (点検報告書): PDF and HTML from Jinja2 templates, the annex as open data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the package itself imports nothing heavy: a process that only renders PDFs
    # (tenken.report.warm) imports tenken.report.render without pandas
    from tenken.core.aggregate import Summary
    from tenken.core.assessment import Assessment
    from tenken.core.history import History


def report_name(fiscal_year: int, draft: bool, suffix: str = ".pdf") -> str:
    """The report's file name: report-2020.pdf, or report-2020-draft.pdf for a review round's draft."""
    return f"report-{fiscal_year}{'-draft' if draft else ''}{suffix}"


def write_report(assessment: Assessment, summary: Summary, out_dir: Path, draft: bool,
                 pdf_annex_limit: int | None = None, *, history: History | None = None,
                 report_date: date | None = None, render_pdf: Callable[[str], bytes] | None = None
                 ) -> dict[str, Path]:
    """Write the PDF, the HTML page, the annex CSV and JSON and their column dictionary.

    `history` (the plan's years on record) adds the trend across the plan period when two or more
    years have a total rate, and gives the previous year's rates compared with. `report_date` is the
    report's date when the results' `report.published` is not given: the publication date of a final
    copy, the compile date of a draft (without either, today). See `build_context`.

    With `pdf_annex_limit`, a plan with more measures than that gets a PDF whose annex is a pointer
    to the HTML page and the CSV (which always hold every measure): a review draft of tens of thousands
    of measures would wait minutes for its PDF.

    `render_pdf` renders the PDF from the HTML: tenken.report.render.render_pdf unless given (the
    command line gives a process that loaded WeasyPrint meanwhile, tenken.report.warm).
    """
    from tenken.report.context import build_context
    from tenken.report.markup import render_html
    from tenken.report.opendata import annex_csv, annex_json, column_dictionary

    if render_pdf is None:
        from tenken.report.render import render_pdf  # WeasyPrint: imported once there is a PDF to render
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    context = build_context(assessment, summary, draft=draft, history=history, report_date=report_date)
    html = render_html(context)
    year = assessment.fiscal_year
    paths = {
        "pdf": out_dir / report_name(year, draft, ".pdf"),
        "html": out_dir / report_name(year, draft, ".html"),
        "csv": out_dir / f"annex-{year}.csv",
        "json": out_dir / f"annex-{year}.json",
        "columns": out_dir / f"annex-{year}-columns.csv",
    }
    measures = len(assessment.measures)
    if pdf_annex_limit is not None and measures > pdf_annex_limit:
        short = {**context, "annex": {**context["annex"], "bodies": [], "omitted": measures,
                                      "see": [paths["html"].name, paths["csv"].name]}}
        paths["pdf"].write_bytes(render_pdf(render_html(short)))
    else:
        paths["pdf"].write_bytes(render_pdf(html))
    paths["html"].write_text(html, encoding="utf-8")
    paths["csv"].write_text(annex_csv(assessment), encoding="utf-8", newline="")
    paths["json"].write_text(annex_json(assessment, context["annex"]["title"]), encoding="utf-8")
    paths["columns"].write_text(column_dictionary(assessment), encoding="utf-8", newline="")
    return paths


__all__ = ["write_report"]

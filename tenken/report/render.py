"""Jinja2 and WeasyPrint: the report context to HTML, the HTML to a tagged PDF.

Two walls keep the departments' free text from doing anything but print: every template is
autoescaped, and WeasyPrint gets a URL fetcher that serves files under templates/report/
and refuses every other URL (file://, http://, data: …), so nothing outside is ever read.

The HTML page and the PDF come from the same markup. What only a screen needs (the scroll boxes around
wide tables and their hint) sits between <!--screen--> and <!--/screen--> in the templates, and
render_pdf drops it, so the PDF and its tag tree stay the report's own; screen styles sit in
@media screen, which WeasyPrint (print media) skips.

Speed (issue 14): WeasyPrint builds a few hundred thousand objects for a long annex, and Python's cyclic
garbage collector kept walking them all (a third of the time); it is paused while WeasyPrint works.
pydyf rebuilt the list of every page reference for each tagged element (quadratic: a fifth of a
3,000-measure report); the list is kept until a page is added. The report is laid out by several
processes and assembled into one PDF (tenken/report/parallel.py): the front matter beside the annex,
and a large annex in chunks of parallel.ROWS_PER_CHUNK measures.
"""

from __future__ import annotations

import gc
import mimetypes
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pydyf
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from tenken.report.markup import BASE_URL, TEMPLATES, environment, print_markup, render_html  # noqa: F401 (re-exported)

PDF_VARIANT = "pdf/ua-1"


class FetchRefused(ValueError):
    """WeasyPrint asked for something that is not one of the report's own assets."""


class AssetFetcher(URLFetcher):
    """Serve files under one folder; refuse every other URL without opening it."""

    def __init__(self, root: Path = TEMPLATES) -> None:
        super().__init__(allowed_protocols=("file",))
        self.root = root.resolve()
        self.refused: list[str] = []

    def path_of(self, url: str) -> Path | None:
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            return None
        path = Path(unquote(parts.path)).resolve()
        return path if path.is_relative_to(self.root) and path.is_file() else None

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        path = self.path_of(url)
        if path is None:
            self.refused.append(url)
            raise FetchRefused(f"not a report asset: {url}")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(path.as_uri(), body=path.read_bytes(), headers={"Content-Type": content_type})


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while WeasyPrint works: its boxes live until the PDF is written
    anyway. Let what was built go before the block ends: the collector then finds only what cycles
    hold, instead of walking every object of the render once more."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _PageReferences:
    """pydyf.PDF.page_references, kept until a page is added: WeasyPrint's tagging reads it once per
    structure element, and pydyf rebuilt the whole tuple at every read (pages × elements)."""

    def __get__(self, pdf: pydyf.PDF, owner: type | None = None) -> tuple[bytes, ...]:
        kids = pdf.pages["Kids"]
        cached = pdf.__dict__.get("_tenken_page_references")
        if cached is None or cached[0] != len(kids):
            cached = (len(kids), tuple(f"{number} 0 R".encode("ascii") for number in kids[::3]))
            pdf.__dict__["_tenken_page_references"] = cached
        return cached[1]


if isinstance(pydyf.PDF.__dict__.get("page_references"), property):
    pydyf.PDF.page_references = _PageReferences()


def write_pdf(markup: str, fetcher: AssetFetcher | None = None) -> bytes:
    """One WeasyPrint pass over print markup (see print_markup)."""
    with collector_paused():
        return HTML(string=markup, base_url=BASE_URL, url_fetcher=fetcher or AssetFetcher()).write_pdf(
            pdf_variant=PDF_VARIANT)


def render_pdf(html: str, fetcher: AssetFetcher | None = None, workers: int | None = None) -> bytes:
    """A tagged PDF (PDF/UA-1) of the report HTML; metadata and dates come from its <head>.

    The report (markup with the annex table) is rendered in chunks by up to `workers` processes (default:
    parallel.render_chunks's choice) and assembled into one PDF, the same bytes whatever the number of
    processes. With a `fetcher` of the caller's, the PDF is rendered in this process in one pass, so
    that the fetcher sees every URL."""
    markup = print_markup(html)
    if fetcher is None:
        from tenken.report import parallel  # only large reports need it

        chunks = parallel.split(markup)
        if chunks is not None:
            return parallel.render_chunks(chunks, workers=workers)
    return write_pdf(markup, fetcher)

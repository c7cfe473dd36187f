"""Jinja2 and WeasyPrint: the report context to HTML, the HTML to a tagged PDF.

Two walls keep the departments' free text from doing anything but print: every template is
autoescaped, and WeasyPrint gets a URL fetcher that serves files under templates/report/
and refuses every other URL (file://, http://, data: …), so nothing outside is ever read.

The HTML page and the PDF come from the same markup. What only a screen needs (the scroll boxes around
wide tables and their hint) sits between <!--screen--> and <!--/screen--> in the templates, and
render_pdf drops it, so the PDF and its tag tree stay the report's own; screen styles sit in
@media screen, which WeasyPrint (print media) skips.
"""

from __future__ import annotations

import mimetypes
import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from tenken.resources import REPORT_TEMPLATES

TEMPLATES = REPORT_TEMPLATES
PDF_VARIANT = "pdf/ua-1"
SCREEN_ONLY = re.compile(r"<!--screen-->.*?<!--/screen-->", re.DOTALL)


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


@lru_cache(maxsize=None)
def environment(templates: Path = TEMPLATES) -> Environment:
    return Environment(
        loader=FileSystemLoader(templates),
        autoescape=True,  # every template, whatever its name: all text is data until proven markup
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_html(context: dict) -> str:
    return environment().get_template("report.html").render(context)


def print_markup(html: str) -> str:
    """The report HTML without its screen-only markup. Text is autoescaped, so a department's free text
    can never open or close such a stretch."""
    return SCREEN_ONLY.sub("", html)


def render_pdf(html: str, fetcher: AssetFetcher | None = None) -> bytes:
    """A tagged PDF (PDF/UA-1) of the report HTML; metadata and dates come from its <head>."""
    document = HTML(string=print_markup(html), base_url=TEMPLATES.as_uri() + "/",
                    url_fetcher=fetcher or AssetFetcher())
    return document.write_pdf(pdf_variant=PDF_VARIANT)

"""The report's HTML, from Jinja2 templates, and its print markup (what WeasyPrint is given).

Nothing here imports WeasyPrint: a command that renders the PDF in another process (tenken.report.warm)
builds the HTML while that process loads it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from tenken.resources import REPORT_TEMPLATES

TEMPLATES = REPORT_TEMPLATES
SCREEN_ONLY = re.compile(r"<!--screen-->.*?<!--/screen-->", re.DOTALL)
# An annex row's id is a link target on the HTML page. In the PDF nothing links to it, and an element
# with an id gets a style of its own: WeasyPrint then shares no computed style between rows (an eighth
# of the annex's time) and writes one named destination per measure.
ROW_ANCHORS = re.compile(r' id="measure-[^"]*"')
BASE_URL = TEMPLATES.as_uri() + "/"


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
    """The report HTML as printed: without its screen-only markup and the annex rows' ids. Text is
    autoescaped, so a department's free text can never open or close such a stretch nor look like an
    attribute (a quote is &#34; in text)."""
    return ROW_ANCHORS.sub("", SCREEN_ONLY.sub("", html))

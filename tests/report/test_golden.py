"""The rendered FY2020 HTML against a stored golden copy, so that layout changes are deliberate.

After an intended change to the templates, stylesheet or context, regenerate and review the diff:

    TENKEN_UPDATE_GOLDEN=1 .venv/bin/pytest tests/report/test_golden.py
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

GOLDEN = Path(__file__).parent / "golden" / "report-2020.html"


def test_the_rendered_html_matches_the_golden_copy(final):
    html = final["html"].read_text(encoding="utf-8")
    if os.environ.get("TENKEN_UPDATE_GOLDEN"):
        GOLDEN.write_text(html, encoding="utf-8")
    golden = GOLDEN.read_text(encoding="utf-8")
    diff = "".join(difflib.unified_diff(golden.splitlines(True), html.splitlines(True), "golden", "rendered", n=2))
    assert html == golden, "the report HTML changed; if intended, regenerate (see module docstring):\n" + diff[:4000]

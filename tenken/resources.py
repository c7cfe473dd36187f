"""Files that ship inside the package: templates and the bundled example plan.

Read from the installed package, never from a source checkout, so that a non-editable install
works from any folder.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent
TEMPLATES = PACKAGE_ROOT / "templates"
REPORT_TEMPLATES = TEMPLATES / "report"
MESSAGE_TEMPLATES = TEMPLATES / "messages"
SITE_TEMPLATES = TEMPLATES / "site"
# The embedded default: Kanagawa Prefecture's FY2020 inspection (plan, departments, cycle, results).
EXAMPLE_CONFIG = PACKAGE_ROOT / "examples" / "kanagawa"

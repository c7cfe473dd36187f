"""The `tenken` command line. Each module registers its commands on the shared app."""

from tenken.cli import plan_commands  # noqa: F401  (registers commands)
from tenken.cli import collect_commands  # noqa: F401  (registers commands)
from tenken.cli import report_commands  # noqa: F401  (registers commands)
from tenken.cli import stage_commands  # noqa: F401  (registers commands)
from tenken.cli import check_commands  # noqa: F401  (registers commands)
from tenken.cli import adjust_commands  # noqa: F401  (registers commands)
from tenken.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    app()

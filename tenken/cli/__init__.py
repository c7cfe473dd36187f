"""The `tenken` command line. Each module registers its commands on the shared app."""

from tenken.cli import plan_commands  # noqa: F401  (registers commands)
from tenken.cli.app import app

__all__ = ["app"]

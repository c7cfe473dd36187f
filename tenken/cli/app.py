"""The `tenken` command: the Typer application and the options every command shares.

Every command is an entry point: it resolves the Settings once from its flags and the environment
(`settings(...)`) and hands them to the service layer. Heavy libraries (pandas, SQLAlchemy, openpyxl,
WeasyPrint) are imported inside the commands, so that `tenken --help` answers at once.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Callable, TypeVar

import typer

if TYPE_CHECKING:
    from tenken.ledger import Ledger
    from tenken.settings import Settings

app = typer.Typer(
    name="tenken",
    help="tenken (点検): the annual inspection of a government plan, end to end.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

YearOption = Annotated[int, typer.Option("--year", "-y", help="Fiscal year, e.g. 2020 for 令和2年度.")]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", envvar="TENKEN_CONFIG_DIR", show_envvar=True,
                 help="Plan configuration folder (default: the bundled Kanagawa example).",
                 exists=True, file_okay=False, dir_okay=True),
]
DbOption = Annotated[
    str | None,
    typer.Option("--db", envvar="TENKEN_DATABASE_URL", show_envvar=True,
                 help="Ledger database URL (default: sqlite file tenken.db in the var folder; "
                      "postgresql+psycopg://… for PostgreSQL)."),
]
VarOption = Annotated[
    Path | None,
    typer.Option("--var", envvar="TENKEN_VAR_DIR", show_envvar=True, file_okay=False,
                 help="Folder for the ledger, the outbox and each cycle's files (default: ./var)."),
]

F = TypeVar("F", bound=Callable)


def settings(config: Path | None = None, db: str | None = None, var: Path | None = None) -> Settings:
    """The command's Settings, resolved once from its flags, then the environment."""
    from tenken.settings import Settings

    return Settings.resolve(var_dir=var, database_url=db, config_dir=config)


@contextmanager
def existing_ledger(resolved: Settings) -> Iterator[Ledger | None]:
    """The ledger if there is one to read (a missing SQLite file is not created by reading), else None."""
    if _missing_sqlite_file(resolved.database_url):
        yield None
        return
    from tenken.ledger import exists

    if not exists(resolved.database_url):
        yield None
        return
    with resolved.open_ledger() as ledger:
        yield ledger


def _missing_sqlite_file(url: str) -> bool:
    """Whether `url` is plainly a SQLite file that is not there, told without importing SQLAlchemy (and the
    ledger with it) for a command that reads the ledger when there is one. Only `sqlite:///<path>` with no
    query and no %-escape counts (the path is then exactly what SQLAlchemy reads); any other URL is for
    tenken.ledger.exists to judge."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url or "%" in url:
        return False
    path = url[len(prefix):]
    return path not in ("", ":memory:") and not Path(path).is_file()


def domain_errors(func: F) -> F:
    """Print a domain error as the clear message it carries, exit 2, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        # Here, not at the top: `tenken --help` runs no tenken.core (its package may grow imports).
        from tenken.core.errors import DomainError, ValidationFailed

        try:
            return func(*args, **kwargs)
        except ValidationFailed as exc:
            typer.echo(f"エラー: {len(exc.problems)}件の問題があります。", err=True)
            for problem in exc.problems:
                typer.echo(f"- {problem.message}", err=True)
            raise typer.Exit(2) from None
        except DomainError as exc:
            typer.echo(f"エラー: {exc}", err=True)
            raise typer.Exit(2) from None
        except RuntimeError as exc:
            from tenken.notify.base import NotificationError

            if not isinstance(exc, NotificationError):
                raise
            typer.echo(f"エラー: {exc}", err=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def progress(length: int, label: str):
    return typer.progressbar(length=length, label=label, file=sys.stderr, show_pos=True)


def write_stdout(text: str) -> None:
    sys.stdout.write(text)
    if not text.endswith("\n"):
        sys.stdout.write("\n")

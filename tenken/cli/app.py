"""The `tenken` command: the Typer application and the options every command shares."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated, Callable, TypeVar

import typer

from tenken.core.errors import DomainError, ValidationFailed

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
    typer.Option("--config", "-c", help="Plan configuration folder (default: the bundled Kanagawa example).",
                 exists=True, file_okay=False, dir_okay=True),
]

F = TypeVar("F", bound=Callable)


def domain_errors(func: F) -> F:
    """Print a domain error as the clear message it carries, exit 2, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
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

    return wrapper  # type: ignore[return-value]


def write_stdout(text: str) -> None:
    sys.stdout.write(text)
    if not text.endswith("\n"):
        sys.stdout.write("\n")

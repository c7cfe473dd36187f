"""Domain exceptions whose messages a department clerk can act on (Japanese by default)."""

from __future__ import annotations

from dataclasses import dataclass


class DomainError(Exception):
    """Anything wrong with a plan or a results set; the message is shown to people as is."""


@dataclass(frozen=True)
class Problem:
    """One finding about a submission: which measure, which field, what is wrong."""

    message: str
    measure: str | None = None
    field: str | None = None
    part: int | None = None

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class CellProblem:
    """A finding about a submitted file, located in it (sheet and cell) when it can be.

    The workbook reader makes them, the ledger stores them, the answers to departments print them.
    """

    message: str
    sheet: str | None = None
    cell: str | None = None
    measure: str | None = None
    field: str | None = None
    part: int | None = None


class ValidationFailed(DomainError):
    """A results set cannot be accepted; `problems` lists every finding, not just the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(p.message for p in problems))

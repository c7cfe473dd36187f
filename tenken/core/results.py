"""What departments submit for a fiscal year, as typed models (parsed at the edge)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator

from .plan import Rating


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _as_tuple(value: object) -> object:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return value


class Adjustment(_Model):
    """A rating different from the rule's; never without a written justification."""

    rating: Rating
    justification: str = ""
    by: str = ""


class MeasureResult(_Model):
    measure: str
    actual: tuple[str, ...] = ()
    self_rating: Rating | None = None
    reason: str = ""
    cause: str | None = None
    highlight: tuple[str, ...] = ()
    adjustment: Adjustment | None = None
    department: str | None = None  # who submitted it, when known (workbooks say)

    _tuples = field_validator("actual", "highlight", mode="before")(_as_tuple)

    @field_validator("reason", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return "" if value is None else value


class ReportText(_Model):
    """The office's own text for the year's report."""

    published: str | None = None  # 'YYYY-MM'
    future: tuple[str, ...] = ()


class ResultSet(_Model):
    fiscal_year: int
    report: ReportText = ReportText()
    results: tuple[MeasureResult, ...] = ()

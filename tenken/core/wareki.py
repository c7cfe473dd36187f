"""Japanese era (和暦) for years and dates in documents: 令和2年度, 令和3年7月."""

from __future__ import annotations

from datetime import date

_ERAS = ((date(2019, 5, 1), "令和", 2018), (date(1989, 1, 8), "平成", 1988))


def _era(year: int, month: int = 12, day: int = 31) -> tuple[str, int]:
    when = date(year, month, day)
    for start, name, offset in _ERAS:
        if when >= start:
            return name, year - offset
    raise ValueError(f"no era for {when}")


def _number(n: int) -> str:
    return "元" if n == 1 else str(n)


def wareki_year(fiscal_year: int) -> str:
    """Fiscal year: 2020 -> '令和2年度', 2019 -> '令和元年度' (FY2019 is named in Reiwa)."""
    for first, name in ((2019, "令和"), (1989, "平成")):
        if fiscal_year >= first:
            return f"{name}{_number(fiscal_year - first + 1)}年度"
    raise ValueError(f"no era for fiscal year {fiscal_year}")


def wareki_month(year: int, month: int) -> str:
    """2021-07 -> '令和3年7月'."""
    name, n = _era(year, month, 28)
    return f"{name}{_number(n)}年{month}月"


def wareki_date(day: date) -> str:
    """date(2021, 7, 1) -> '令和3年7月1日'."""
    name, n = _era(day.year, day.month, day.day)
    return f"{name}{_number(n)}年{day.month}月{day.day}日"

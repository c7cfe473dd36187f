"""Achievement rates (達成率) by level and in total, and the narrative figures of report §2(1).

`summarize` gives a `Summary`: typed, frozen figures. `Summary.rows()` is the one walk over the
summary table (sub-pillars, then their pillar's subtotal, for each pillar; then the total) that
the CLI, the report and the Prefect artifacts share; `Summary.to_dict()` is the JSON shape of
`tenken summary --json`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import repeat
from typing import Literal

import numpy as np
import pandas as pd

from .assessment import Assessment
from .plan import PreviousRates, Rating

_COUNT_COLUMNS = {Rating.EXCEEDED.value: "exceeded", Rating.ACHIEVED.value: "achieved",
                  Rating.NOT_ACHIEVED.value: "not_achieved"}
_COUNT_CODE = {symbol: k for k, symbol in enumerate(_COUNT_COLUMNS)}
_NOT_ACHIEVED_CODE = _COUNT_CODE[Rating.NOT_ACHIEVED.value]
TOTAL_LABEL = "合計"


def rate(met: int, rated: int) -> float | None:
    """(◎ + ○) / (◎ + ○ + △) as a percentage with one decimal, rounded half up; None if nothing rated."""
    if rated == 0:
        return None
    tenths = (2000 * met + rated) // (2 * rated)
    return tenths / 10


@dataclass(frozen=True)
class LevelSummary:
    """The figures of a pillar (top level) or a sub-pillar (second level)."""

    key: str
    number: str
    title: str
    label: str
    rated: int
    exceeded: int
    achieved: int
    not_achieved: int
    met: int
    rate: float | None
    previous_rate: float | None = None  # pillars only (None for sub-pillars)
    sub_pillars: tuple[LevelSummary, ...] = ()  # pillars only


@dataclass(frozen=True)
class SummaryRow:
    """One row of the summary table."""

    kind: Literal["sub_pillar", "pillar", "total"]
    label: str  # sub-pillar label, pillar label, or "合計" for the total
    rated: int
    exceeded: int
    achieved: int
    not_achieved: int
    met: int
    rate: float | None
    previous_rate: float | None
    pillar: LevelSummary | None  # the pillar the row belongs to (itself for kind "pillar"); None for the total


@dataclass(frozen=True)
class Summary:
    """The summary table and the narrative figures of a fiscal year."""

    fiscal_year: int
    level_labels: tuple[str, ...]
    measure_label: str
    fields: int
    measures: int
    finished_earlier: int
    worked_on: int
    no_indicator: int
    missing: int  # not submitted yet (drafts only)
    rated: int
    exceeded: int
    achieved: int
    not_achieved: int
    met: int
    rate: float | None
    previous_rate: float | None
    not_achieved_by_cause: dict[str, int]  # cause tag ('untagged' for none) -> count
    not_achieved_by_cause_label: dict[str, int]  # cause label ('未分類' for none) -> count
    not_achieved_external: int
    external_causes: tuple[str, ...]  # labels of the external cause tags
    finished_in: tuple[int, ...]
    pillars: tuple[LevelSummary, ...]

    def rows(self) -> Iterator[SummaryRow]:
        """The summary table: for each pillar its sub-pillars in order, then the pillar; the total last."""
        for pillar in self.pillars:
            for sub in pillar.sub_pillars:
                yield _row("sub_pillar", sub.label, sub, sub.previous_rate, pillar)
            yield _row("pillar", pillar.label, pillar, pillar.previous_rate, pillar)
        yield _row("total", TOTAL_LABEL, self, self.previous_rate, None)

    def to_dict(self) -> dict:
        """The figures as plain JSON-ready data, in the key order `tenken summary --json` prints."""
        return {
            "fiscal_year": self.fiscal_year,
            "level_labels": list(self.level_labels),
            "measure_label": self.measure_label,
            "fields": self.fields,
            "measures": self.measures,
            "finished_earlier": self.finished_earlier,
            "worked_on": self.worked_on,
            "no_indicator": self.no_indicator,
            "missing": self.missing,
            **_counts_dict(self),
            "previous_rate": self.previous_rate,
            "not_achieved_by_cause": dict(self.not_achieved_by_cause),
            "not_achieved_by_cause_label": dict(self.not_achieved_by_cause_label),
            "not_achieved_external": self.not_achieved_external,
            "external_causes": list(self.external_causes),
            "finished_in": list(self.finished_in),
            "pillars": [{**_level_dict(pillar), "previous_rate": pillar.previous_rate,
                         "sub_pillars": [_level_dict(sub) for sub in pillar.sub_pillars]}
                        for pillar in self.pillars],
        }


def _row(kind, label: str, figures: LevelSummary | Summary, previous_rate: float | None,
         pillar: LevelSummary | None) -> SummaryRow:
    return SummaryRow(kind=kind, label=label, rated=figures.rated, exceeded=figures.exceeded,
                      achieved=figures.achieved, not_achieved=figures.not_achieved, met=figures.met,
                      rate=figures.rate, previous_rate=previous_rate, pillar=pillar)


def _counts_dict(figures: LevelSummary | Summary) -> dict:
    return {"rated": figures.rated, "exceeded": figures.exceeded, "achieved": figures.achieved,
            "not_achieved": figures.not_achieved, "met": figures.met, "rate": figures.rate}


def _level_dict(level: LevelSummary) -> dict:
    return {"key": level.key, "number": level.number, "title": level.title, "label": level.label,
            **_counts_dict(level)}


def _entry(exceeded: int, achieved: int, not_achieved: int) -> dict:
    rated = exceeded + achieved + not_achieved
    return {"rated": rated, "exceeded": exceeded, "achieved": achieved, "not_achieved": not_achieved,
            "met": exceeded + achieved, "rate": rate(exceeded + achieved, rated)}


class _Tally:
    """Rated measures counted by rating (◎, ○, △) in total and by the nodes of one level, with numpy:
    the rows of the assessment's frame counted once, not a crosstab per level."""

    def __init__(self, frame: pd.DataFrame):
        # each distinct rating and status looked up once (pd.factorize), not every row compared with each
        found, ratings = pd.factorize(frame["rating"].to_numpy(dtype=object))
        code_of = np.array([_COUNT_CODE.get(rating, -1) for rating in ratings] + [-1], dtype=np.intp)
        self._code = code_of[found]  # index into _COUNT_COLUMNS, -1 for none (and for no value, found -1)
        found, statuses = pd.factorize(frame["status"].to_numpy(dtype=object))
        counts = np.bincount(found[found >= 0], minlength=len(statuses))
        self.statuses = {status: int(c) for status, c in zip(statuses.tolist(), counts.tolist())}  # measures
        rated = statuses.tolist().index("rated") if "rated" in self.statuses else len(statuses)
        self._counted = (found == rated) & (self._code >= 0)
        self._frame = frame
        self.total = self._entries(np.bincount(self._code[self._counted], minlength=3))

    @staticmethod
    def _entries(counts: np.ndarray) -> dict:
        return _entry(*(int(c) for c in counts))

    def not_achieved(self) -> np.ndarray:
        """Which rows are counted as △, as a mask."""
        return self._counted & (self._code == _NOT_ACHIEVED_CODE)

    def by(self, column: str, keys: list[str]) -> dict[str, dict]:
        """The counts of each node in `keys`, whose key the measures hold in `column` (level_0 …)."""
        keys = list(dict.fromkeys(keys))
        node = _codes(self._frame[column].to_numpy(dtype=object)[self._counted], keys)
        known = node >= 0
        counts = np.bincount(node[known] * 3 + self._code[self._counted][known], minlength=3 * len(keys))
        return {key: self._entries(counts[3 * k:3 * k + 3]) for k, key in enumerate(keys)}


def _codes(values: np.ndarray, keys: list[str]) -> np.ndarray:
    """Where each of `values` is in `keys` (distinct), -1 for none: pd.Categorical(values, keys).codes.

    The rows come in plan order, where a node's measures follow one another: each run of one value
    is looked up once, not every row."""
    if not len(values):
        return np.zeros(0, dtype=np.intp)
    starts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
    index = dict(zip(keys, range(len(keys))))
    found = np.fromiter(map(index.get, values[starts].tolist(), repeat(-1)), dtype=np.intp, count=len(starts))
    return np.repeat(found, np.diff(np.append(starts, len(values))))


def summarize(assessment: Assessment, previous: PreviousRates | None = None) -> Summary:
    """The summary table and narrative figures; `previous` defaults to the plan's configured rates."""
    plan, frame, year = assessment.plan, assessment.measures, assessment.fiscal_year
    if previous is None:
        previous = plan.previous_rates.get(year - 1)
    tally = _Tally(frame)
    total = tally.total
    by_top = tally.by("level_0", [node.key for node in plan.tree])
    second = [child.key for node in plan.tree for child in node.children] if len(plan.levels) > 1 else []
    by_second = tally.by("level_1", second) if second else {}

    pillars = []
    for node in plan.tree:
        children = tuple(
            LevelSummary(key=child.key, number=child.number, title=child.title, label=child.heading,
                         **by_second[child.key])
            for child in (node.children if len(plan.levels) > 1 else ()))
        pillars.append(LevelSummary(
            key=node.key, number=node.number, title=node.title, label=node.heading, **by_top[node.key],
            previous_rate=previous.levels.get(node.key) if previous else None,
            sub_pillars=children,
        ))

    not_achieved = pd.Series(frame["cause"].array[tally.not_achieved()])  # the causes of △
    by_cause = not_achieved.replace("", "untagged").value_counts()
    policy = plan.rating
    by_cause_labelled = {policy.cause_label(k) if k != "untagged" else "未分類": int(v)
                         for k, v in by_cause.items()}
    external = int(not_achieved.isin(policy.external_cause_tags).sum())

    finished = tally.statuses.get("finished", 0)
    return Summary(
        fiscal_year=year,
        level_labels=tuple(level.label for level in plan.levels),
        measure_label=plan.measure_label,
        fields=plan.leaf_count(),
        measures=len(frame),
        finished_earlier=finished,
        worked_on=len(frame) - finished,
        no_indicator=tally.statuses.get("no_indicator", 0),
        missing=tally.statuses.get("missing", 0),
        **total,
        previous_rate=previous.total if previous else None,
        not_achieved_by_cause={str(k): int(v) for k, v in by_cause.items()},
        not_achieved_by_cause_label=by_cause_labelled,
        not_achieved_external=external,
        external_causes=tuple(policy.cause_label(k) for k in policy.external_cause_tags),
        finished_in=tuple(sorted({int(y) for y in frame["finished_in"].dropna()})),
        pillars=tuple(pillars),
    )

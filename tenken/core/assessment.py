"""Validate a results set against the plan and rate every measure of a fiscal year.

`assess` is the one entry point: it checks everything, collects every problem (so a department
hears about all of them at once) and returns one row per measure as a pandas DataFrame.

A year of a large plan is checked column by column, every measure at once (`_Columns`); a measure
with anything to say about it is then checked on its own (`_check_measure`), which words the problems.
tests/core/test_vectorised.py holds the two to the same answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain, compress, count, repeat
from operator import is_not, itemgetter, not_

import numpy as np
import pandas as pd

from .errors import Problem, ValidationFailed
from .plan import RATING_BY_RANK, Measure, Part, Plan, Rating, RatingPolicy, YearPlan
from .rating import is_negative, numeric_codes, suggest_qualitative
from .results import Adjustment, MeasureResult, ResultSet
from .values import (
    MAX_DIGITS,
    Quantity,
    describe_characters,
    hidden_characters,
    overlong_number,
    parse_value,
    plain_numbers,
    refused_texts,
    unusual_digits,
    visible,
)
from .wareki import wareki_year

_UNRATED = 9  # above every rank, so np.minimum keeps a real part's code


@dataclass(frozen=True)
class Assessment:
    """One fiscal year of a plan, rated. `measures` has one row per measure, in plan order."""

    plan: Plan
    fiscal_year: int
    results: ResultSet
    measures: pd.DataFrame


def named_measure(plan: Plan, measure: Measure) -> str:
    """How messages name a measure, in the plan's own word for it (施策, 事業 …)."""
    return f"{plan.measure_label} {measure.key}「{measure.name}」"


def _numbered(values: list[str]) -> str:
    if len(values) == 1:
        return values[0]
    return " ".join(f"({i}){v}" for i, v in enumerate(values, 1))


def check(plan: Plan, results: ResultSet, allow_missing: bool = False) -> tuple[list[Problem], pd.DataFrame]:
    """Every problem of the results set, and the rated rows (meaningful only without problems).
    See `problems_in` for what is checked."""
    problems, checked = _checked(plan, results, allow_missing)
    return problems, checked.frame()


def problems_in(plan: Plan, results: ResultSet, allow_missing: bool = False) -> list[Problem]:
    """Every problem of the results set, as `check` finds them, without laying out the rated rows (a
    department's returned form is checked so, form after form: the frame is not the work there).

    With `allow_missing`, a measure nobody has submitted yet is not a problem: its status is
    "missing" and it stays outside the rates (a draft compiled while departments are late).

    The checks run column by column over every measure at once (`_Columns`): texts screened for
    refused characters in one search, numbers read in one pass, numeric parts rated together with
    numpy. A measure in which the columns find anything out of the ordinary is checked again on its
    own by `_check_measure`, which words every problem; so the problems come in the order one pass
    over the measures gives them, and a measure holding none is never formatted into a message.
    """
    return _checked(plan, results, allow_missing)[0]


def _checked(plan: Plan, results: ResultSet, allow_missing: bool) -> tuple[list[Problem], _Checked]:
    """The checks of `problems_in`, and what they found of each measure (for `check`'s frame)."""
    year = results.fiscal_year
    policy = plan.rating
    problems: list[Problem] = []
    measures = plan.measures
    columns = _Columns(plan, year, allow_missing)
    columns.take(results, problems)
    retry = columns.read()
    refused_causes: set[str] = set()  # causes refused for their characters: not quoted again
    for i in np.flatnonzero(retry).tolist():
        columns.clear(i)
        _check_measure(plan, year, measures[i], i, columns, allow_missing, problems, refused_causes)

    rule = columns.qual_code
    num_measure, num_target, num_actual, num_lower = columns.numeric_parts()
    if len(num_measure):
        codes = numeric_codes(num_target, num_actual, num_lower, policy.exceeded_ratio)
        np.minimum.at(rule, num_measure, codes)
    status = _objects(columns.status)
    rated = status == "rated"
    rule = np.where(rated & (rule != _UNRATED), rule, Rating.NO_INDICATOR.rank).astype(np.int8)

    adjustments = columns.adjustments
    adjusted: dict[int, Adjustment] = {}
    if adjustments.count(None) < len(adjustments):  # most years have none: a count of Nones (by identity) tells
        at = columns.present.tolist()
        adjusted = {at[j]: adjustments[j]
                    for j in np.flatnonzero(np.fromiter(map(is_not, adjustments, repeat(None)), dtype=bool,
                                                        count=len(adjustments))).tolist()}
    final = rule.copy()
    for i in sorted(adjusted):
        if rated[i]:
            final[i] = _check_adjustment(plan, measures[i], adjusted[i], problems)
    _check_reasons(plan, columns, rated, final, problems, refused_causes)
    return problems, _Checked(plan, columns, status, rule, final, adjusted)


@dataclass(frozen=True)
class _Checked:
    """What the checks found of every measure, for the rated rows (`frame`)."""

    plan: Plan
    columns: _Columns
    status: np.ndarray
    rule: np.ndarray  # rank of the rule rating
    final: np.ndarray  # rank of the rating, adjustments applied
    adjusted: dict[int, Adjustment]  # measure -> the office's adjustment

    def frame(self) -> pd.DataFrame:
        """One row per measure, in plan order."""
        plan, columns, status, rule, final, adjusted = (self.plan, self.columns, self.status, self.rule, self.final,
                                                         self.adjusted)
        n = len(plan.measures)
        finished_in = [None] * n
        for i in np.flatnonzero(status == "finished").tolist():
            finished_in[i] = columns.year_plan(i).finished_in
        # the ratings' values ("" for none): plain str, not the Rating members the results hold
        self_rating = np.fromiter(map(_SYMBOL_OF.__getitem__, columns.self_ratings), dtype=object,
                                  count=len(columns.self_ratings))
        cause = _objects(columns.causes)
        cause[np.equal(cause, None)] = ""
        data = {
            "key": _objects(columns.keys),
            "number": np.fromiter(columns.numbers, dtype=np.int64, count=n),
            "name": _objects(columns.names),
            "department": columns.departments,
            "indicator": _objects(columns.indicators),
            "status": status,
            "target": columns.targets,
            "actual": columns.actuals,
            "rule_rating": _RATING_SYMBOLS[rule + 1],
            "rating": _RATING_SYMBOLS[final + 1],
            "suggested": columns.suggested,
            **{f"level_{depth}": np.fromiter(map(itemgetter(depth), columns.paths), dtype=object, count=n)
               for depth in range(len(plan.levels))},
            "self_rating": columns.spread(self_rating),
            "adjustment_reason": _spread(n, list(adjusted), [a.justification for a in adjusted.values()]),
            "adjusted_by": _spread(n, list(adjusted), [a.by for a in adjusted.values()]),
            "reason": columns.spread(columns.reasons),
            "cause": columns.spread(cause),
            "finished_in": finished_in,
        }
        if not n:  # no measures: the dtypes pandas gives empty lists, as the frame has always had
            data = {name: column if name in ("rule_rating", "rating") else [] for name, column in data.items()}
        elif _TEXT_ARRAYS:
            data = {name: _text(column) if name not in ("number", "finished_in") else column
                    for name, column in data.items()}
        return pd.DataFrame(data, copy=False)  # every column made here for the frame alone: no copy


# The dtype pandas gives a column of str: str (StringDtype) since pandas 3, object before. Where it is
# StringDtype kept in Python objects, the frame's text columns (object arrays holding only str) are
# given that dtype here, which keeps the str as they are, rather than left to pandas, which would
# first look at every value to infer the dtype and then convert them: the same columns, in a third
# of the time.
_TEXT_DTYPE = pd.Series([""]).dtype
_TEXT_ARRAYS = isinstance(_TEXT_DTYPE, pd.StringDtype) and _TEXT_DTYPE.storage == "python"


def _text(column: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """An object array of str as the frame's column of dtype `_TEXT_DTYPE` (with `_TEXT_ARRAYS`)."""
    return pd.array(column, dtype=_TEXT_DTYPE, copy=False)


def _objects(values: list) -> np.ndarray:
    """A list as a 1-d object array, each item as it is: np.fromiter takes them one by one, where
    np.array first looks into every item for a nested sequence."""
    return np.fromiter(values, dtype=object, count=len(values))


_BY_RANK = tuple(RATING_BY_RANK[rank] for rank in (0, 1, 2))  # △ ○ ◎: the ratings a person can give


def _spread(n: int, at: list[int] | np.ndarray, values) -> np.ndarray:
    """A column of n strings: `values` at the positions `at`, "" elsewhere."""
    column = np.full(n, "", dtype=object)
    if len(at):
        column[at] = values if isinstance(values, np.ndarray) else _objects(values)
    return column


def _numbered_column(values: np.ndarray, first: np.ndarray, count: np.ndarray) -> np.ndarray:
    """`_numbered` for many rows at once: each row's `count` values from `first` on, in an object
    array; "" for a row without values."""
    if not len(values):
        return np.full(len(count), "", dtype=object)
    # every row's first value (a row without values takes some other one, within bounds), then "" for
    # the rows not of one value: one gather for the many rows of one value
    column = values[np.minimum(first, len(values) - 1)]
    column[count != 1] = ""
    for parts in np.unique(count[count > 1]).tolist():
        rows = np.flatnonzero(count == parts)
        text = "(1)" + values[first[rows]]
        for p in range(1, parts):
            text = text + f" ({p + 1})" + values[first[rows] + p]
        column[rows] = text
    return column


class _Columns:
    """What the checks give each measure, as columns over the plan's measures.

    Built in two passes over the objects, the plan's measures (and their year's parts) and the
    results, each reading every field it needs while it holds the object: the objects lie all over
    memory, and one pass a field would fetch each of them again and again. `read` then fills the
    columns and says which measures need `_check_measure`: a year the plan lacks, anything the
    checks refuse, or anything the columns cannot decide without parse_value (full-width digits,
    未把握, 以上 …). For every other measure the columns hold what `_check_measure` gives, and no
    problem.
    """

    def __init__(self, plan: Plan, year: int, allow_missing: bool):
        self.plan, self.allow_missing = plan, allow_missing
        self.measures = measures = plan.measures
        n = len(measures)
        self.keys: list[str] = []
        self.numbers: list[int] = []
        self.names: list[str] = []
        self.indicators: list[str] = []
        self.paths: list[tuple[str, ...]] = []
        self.status: list[str] = []
        keys, numbers, names, indicators, paths = self.keys, self.numbers, self.names, self.indicators, self.paths
        status = self.status
        self.year = year
        departments: list[str] = []
        part_count: list[int] = []
        targets: list[str] = []
        kinds: list[str] = []
        directions: list[str] = []
        # Fields are read from the models' __dict__, where pydantic keeps them: an attribute is first looked
        # for along the model's class hierarchy (a miss, for a field) and costs about 1.6 times a subscript.
        for measure in measures:
            fields = measure.__dict__
            keys.append(fields["key"])
            numbers.append(fields["number"])
            names.append(fields["name"])
            departments.append(fields["department"])
            indicators.append(fields["indicator"])
            paths.append(fields["path"])
            year_plan = fields["years"].get(year)
            if year_plan is None:  # a year the plan lacks: for _check_measure to word
                status.append("invalid")
                part_count.append(0)
                continue
            fields = year_plan.__dict__
            status.append(fields["status"])
            parts = fields["parts"]
            part_count.append(len(parts))
            for part in parts:  # every part of the year, numbered flat (only rated years have parts)
                fields = part.__dict__
                targets.append(fields["target"])
                kinds.append(fields["kind"])
                directions.append(fields["direction"])
        self.part_count = part_count = np.fromiter(part_count, dtype=np.intp, count=n)
        self.departments = _objects(departments)
        self.targets_of_parts = _objects(targets)
        self.numeric_part = _objects(kinds) == "numeric"
        self.lower_part = _objects(directions) == "lower"
        self.first_part = np.cumsum(part_count) - part_count
        self.owner = np.repeat(np.arange(n), part_count)  # of each part
        self.targets = _numbered_column(self.targets_of_parts, self.first_part, part_count)
        self.actuals = np.full(n, "", dtype=object)
        self.suggested = np.full(n, "", dtype=object)
        self.qual_code = np.full(n, _UNRATED, dtype=np.int8)
        # numeric parts rated by the columns (measure, target, actual, lower is better) and by _check_measure
        self._numeric = (np.zeros(0, dtype=np.intp), np.zeros(0), np.zeros(0), np.zeros(0, dtype=bool))
        self.num_measure: list[int] = []
        self.num_target: list[float] = []
        self.num_actual: list[float] = []
        self.num_lower: list[bool] = []

    def part(self, flat: int) -> Part:
        """The part numbered `flat` in the flat numbering of every measure's parts (`owner`, `first_part`)."""
        i = self.owner[flat]
        return self.year_plan(i).parts[flat - self.first_part[i]]

    def year_plan(self, i: int) -> YearPlan:
        """Measure i's plan for the year (which it has, unless its status is "invalid")."""
        return self.measures[i].years[self.year]

    def take(self, results: ResultSet, problems: list[Problem]) -> None:
        """The results, in one pass and in their own order: a second result for a measure, or one for no
        measure, is a problem and left out. `present` holds each result's measure."""
        rows = results.results
        written: list[tuple[str, ...]] = []
        self_ratings: list[Rating | None] = []
        reasons: list[str] = []
        causes: list[str | None] = []
        highlights: list[tuple[str, ...]] = []
        adjustments: list[Adjustment | None] = []
        submitted_by: list[str | None] = []
        # Each result's measure, found on the way while the results come in plan order (results compiled
        # from the ledger do: results.load_cycle sorts them): each key looked for from where the last
        # one was found, list.index walking the measures in C. Else (None) looked up by key below.
        find, i = self.keys.index, 0
        in_order: list[int] | None = []
        for result in rows:
            fields = result.__dict__  # a pydantic model's fields: subscripts cost less than its attributes
            key = fields["measure"]
            if in_order is not None:
                try:
                    i = find(key, i)
                    in_order.append(i)
                    i += 1
                except ValueError:  # not further on: out of order, repeated or no measure's
                    in_order = None
            written.append(fields["actual"])
            self_ratings.append(fields["self_rating"])
            reasons.append(fields["reason"])
            causes.append(fields["cause"])
            highlights.append(fields["highlight"])
            adjustments.append(fields["adjustment"])
            submitted_by.append(fields["department"])
        self.written, self.self_ratings, self.reasons, self.causes = written, self_ratings, reasons, causes
        self.highlights, self.adjustments = highlights, adjustments
        if in_order is not None:
            at = np.fromiter(in_order, dtype=np.intp, count=len(in_order))
        else:
            index = dict(zip(self.keys, count()))
            at = np.fromiter((index.get(result.measure, -1) for result in rows), dtype=np.intp, count=len(rows))
        self.taken = rows
        if len(at) and (at.min() < 0 or np.bincount(at).max() > 1):
            kept = np.zeros(len(rows), dtype=bool)
            seen: set[str] = set()
            for j, result in enumerate(rows):
                if result.measure in seen:
                    problems.append(Problem(
                        f"{self.plan.measure_label} {result.measure} の結果が重複しています。"
                        f"1つの{self.plan.measure_label}につき1行にしてください。",
                        result.measure, "measure"))
                elif at[j] < 0:
                    problems.append(Problem(
                        f"{self.plan.measure_label} {visible(result.measure)} は計画にありません。"
                        f"{self.plan.measure_label}番号を確認してください。",
                        result.measure, "measure"))
                else:
                    seen.add(result.measure)
                    kept[j] = True
            at = at[kept]
            for name in ("taken", "written", "self_ratings", "reasons", "causes", "highlights", "adjustments"):
                setattr(self, name, list(compress(getattr(self, name), kept)))
            submitted_by = list(compress(submitted_by, kept))
        self.present = at  # each taken result's measure
        self.submitted_by = _objects(submitted_by)
        self.position = np.full(len(self.measures), -1, dtype=np.intp)  # of each measure's result in `taken`
        self.position[at] = np.arange(len(at))

    def result_of(self, i: int) -> MeasureResult | None:
        """Measure i's result, None where none."""
        j = self.position[i]
        return self.taken[j] if j >= 0 else None

    def spread(self, values) -> np.ndarray:
        """A column over the measures of `values`, one per submitted result: "" where none."""
        return _spread(len(self.measures), self.present, values)

    def read(self) -> np.ndarray:
        """Fill the columns from the results taken; the measures to check again on their own, as a mask."""
        n = len(self.measures)
        status, part_count = self.status, self.part_count
        status_column = _objects(status)
        retry = status_column == "invalid"  # a year the plan lacks
        rated = status_column == "rated"

        # every written actual in one flat list, each result's from `written_first` on
        self.written_flat = list(chain.from_iterable(self.written))
        written_counts = np.fromiter(map(len, self.written), dtype=np.intp, count=len(self.written))
        self.written_first = np.cumsum(written_counts) - written_counts
        present = self.present
        has_result = self.position >= 0
        unsubmitted = rated & ~has_result
        if self.allow_missing:
            for i in np.flatnonzero(unsubmitted).tolist():
                status[i] = "missing"
        else:
            retry |= unsubmitted
        if len(present):
            written_count = np.zeros(n, dtype=np.intp)
            written_count[present] = written_counts
            other_department = np.zeros(n, dtype=bool)
            given = np.flatnonzero(np.not_equal(self.submitted_by, None))  # who submitted, where known
            other_department[present[given]] = self.submitted_by[given] != self.departments[present[given]]
            retry[present[self._refused_characters()]] = True
            retry |= has_result & ~rated & (written_count > 0)  # an actual for a year without targets
            retry |= has_result & rated & (other_department | (written_count != part_count))
        self._read_parts(rated & has_result & ~retry, retry)
        return retry

    def _refused_characters(self) -> np.ndarray:
        """Which results hold a text `characters_problem` refuses (as a mask over `taken`)."""
        adjustments = list(filter(None, self.adjustments))
        # a column's texts repeat (the same cause, or reason, in many results): each distinct one passed once
        one_line = chain(self.written_flat, set(self.causes) - {None}, (a.by for a in adjustments))
        several_lines = chain(set(self.reasons), chain.from_iterable(self.highlights),
                              (a.justification for a in adjustments))
        refused_one, refused_several = refused_texts(one_line), refused_texts(several_lines, multiline=True)
        refused = np.zeros(len(self.taken), dtype=bool)
        if refused_one or refused_several:
            for j, r in enumerate(self.taken):
                adjustment = r.adjustment
                refused[j] = (any(t in refused_one for t in r.actual) or r.cause in refused_one
                              or r.reason in refused_several or any(t in refused_several for t in r.highlight)
                              or (adjustment is not None and (adjustment.by in refused_one
                                                              or adjustment.justification in refused_several)))
        return refused

    def _read_parts(self, rows: np.ndarray, retry: np.ndarray) -> None:
        """The actuals of the measures `rows` (rated, submitted, part counts matching), part by part."""
        plan, policy, measures = self.plan, self.plan.rating, self.measures
        part_count, first_part = self.part_count, self.first_part
        position = self.position
        measure_rows = np.flatnonzero(rows)
        selected = np.flatnonzero(rows[self.owner])  # their parts (numbered flat), as `written` has them
        counts = part_count[measure_rows]  # as many as written (`read` saw to it)
        starts = np.cumsum(counts) - counts
        # their actuals, from the flat list: each measure's result's first, then the parts after it
        taking = np.repeat(self.written_first[position[measure_rows]] - starts, counts) + np.arange(len(selected))
        written = _objects(self.written_flat)[taking]
        self.actuals[measure_rows] = _numbered_column(written, starts, counts)

        targets = self.targets_of_parts  # of every part, numbered flat
        part_owner = self.owner[selected]
        numeric = self.numeric_part[selected]

        # qualitative parts: a blank one is for _check_measure to refuse (a blank numeric part is no plain
        # number: below, _numeric_actual refuses it); the system's suggestion, the first a measure's parts give
        qualitative_parts = np.flatnonzero(~numeric)
        qualitative_written = written[qualitative_parts].tolist()
        blank = np.fromiter(map(str.isspace, qualitative_written), dtype=bool, count=len(qualitative_written))
        blank |= np.fromiter(map(len, qualitative_written), dtype=np.intp, count=len(qualitative_written)) == 0
        retry[part_owner[qualitative_parts[blank]]] = True
        asked = qualitative_parts[~blank]
        answers: dict[str, dict[str, str]] = {}  # target -> actual -> suggestion ("" for none): asked once
        suggestion = []
        for target, actual in zip(targets[selected[asked]].tolist(), written[asked].tolist()):
            by_actual = answers.setdefault(target, {})
            if actual not in by_actual:
                answer = suggest_qualitative(target, actual, policy)
                by_actual[actual] = answer.value if answer is not None else ""
            suggestion.append(by_actual[actual])
        suggestions = _objects(suggestion)
        given = suggestions != ""
        measure_of, first = np.unique(part_owner[asked][given], return_index=True)
        self.suggested[measure_of] = suggestions[given][first]

        # a measure with a qualitative part takes the self-rating (◎ ○ △) as its rule rating
        qualitative = np.zeros(len(measures), dtype=bool)
        qualitative[part_owner[~numeric]] = True
        which = np.flatnonzero(qualitative)
        self_rating = _objects(list(map(self.self_ratings.__getitem__, position[which].tolist())))
        rank = np.full(len(which), _UNRATED, dtype=np.int8)
        for rating in _BY_RANK:
            rank[self_rating == rating.value] = rating.rank
        retry[which[rank == _UNRATED]] = True  # none given, or —
        self.qual_code[which] = rank

        # numeric parts: read together, each left to parse_value (and the checks) only when not plain
        q = np.flatnonzero(numeric)
        q_parts = selected[q]  # numbered flat
        q_written = written[q].tolist()
        q_owner = part_owner[q]
        plain, values, units = plain_numbers(q_written)
        # a numeric part's unit is its target's (Part's validator): a plain target tells both. A plan has
        # few distinct targets: each is read once
        found, distinct = pd.factorize(targets[q_parts])
        target_plain, target_values, target_units = plain_numbers(distinct.tolist())
        target_plain, target_values = target_plain[found], target_values[found]
        target_units = _objects(target_units)[found]
        for k in np.flatnonzero(~target_plain).tolist():
            target_part = self.part(q_parts[k])
            target_values[k], target_units[k] = float(target_part.target_quantity.value), target_part.unit
        accepted = plain & (_objects(units) == target_units)
        for k in np.flatnonzero(accepted & (values < 0)).tolist():
            accepted[k] = self.part(q_parts[k]).negative_allowed
        scratch: list[Problem] = []
        for k in np.flatnonzero(~accepted).tolist():  # what parse_value must read, or what the checks refuse
            i = int(q_owner[k])
            if retry[i]:
                continue
            value = _numeric_actual(plan, measures[i], self.part(q_parts[k]), q_written[k],
                                    int(q_parts[k] - first_part[i] + 1), int(part_count[i]), policy, scratch)
            if scratch:
                retry[i] = True
                scratch.clear()
            else:
                values[k], accepted[k] = value, True
        keep = np.flatnonzero(accepted & ~retry[q_owner])
        self._numeric = (q_owner[keep], target_values[keep], values[keep], self.lower_part[q_parts[keep]])

    def clear(self, i: int) -> None:
        """Forget what `read` gave measure i, before `_check_measure` checks it on its own."""
        self.targets[i] = self.actuals[i] = self.suggested[i] = ""
        self.qual_code[i] = _UNRATED

    def numeric_parts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every numeric part read: measure, target, actual (NaN for 未把握 …), lower is better."""
        measure, target, actual, lower = self._numeric
        return (np.concatenate([measure, np.array(self.num_measure, dtype=np.intp)]),
                np.concatenate([target, np.array(self.num_target, dtype=float)]),
                np.concatenate([actual, np.array(self.num_actual, dtype=float)]),
                np.concatenate([lower, np.array(self.num_lower, dtype=bool)]))


def _check_measure(plan: Plan, year: int, measure: Measure, i: int, columns: _Columns, allow_missing: bool,
                   problems: list[Problem], refused_causes: set[str]) -> None:
    """Check one measure on its own, wording every problem, and fill its place in the columns."""
    policy = plan.rating
    status = columns.status
    year_plan = measure.years.get(year)
    if year_plan is None:
        problems.append(Problem(_missing_target(plan, measure, year), measure.key, "target"))
        status[i] = "invalid"
        return
    status[i] = year_plan.status
    result = columns.result_of(i)
    unreadable = _check_characters(plan, measure, result, problems) if result is not None else set()
    if ("cause", None) in unreadable:
        refused_causes.add(measure.key)
    if year_plan.status != "rated":
        if result is not None and result.actual:
            what = "指標が設定されていない" if year_plan.status == "no_indicator" else "取組が完了した"
            problems.append(Problem(
                f"{named_measure(plan, measure)}は{wareki_year(year)}に{what}{plan.measure_label}のため、実績は入力できません。",
                measure.key, "actual"))
        return
    parts = year_plan.parts
    columns.targets[i] = parts[0].target if len(parts) == 1 else _numbered([p.target for p in parts])
    if result is None:
        if allow_missing:
            status[i] = "missing"
        else:
            problems.append(Problem(f"{named_measure(plan, measure)}の結果がありません。実績を入力してください。",
                                    measure.key, "actual"))
        return
    if result.department is not None and result.department != measure.department:
        owner = plan.department(measure.department).name
        problems.append(Problem(
            f"{named_measure(plan, measure)}は{owner}の{plan.measure_label}です。"
            f"自所属の{plan.measure_label}のみ提出してください。",
            measure.key, "department"))
    written_parts = result.actual
    if len(written_parts) != len(parts):
        problems.append(Problem(
            f"{named_measure(plan, measure)}の実績は{len(parts)}項目必要ですが、{len(written_parts)}項目が入力されています。",
            measure.key, "actual"))
        return
    columns.actuals[i] = written_parts[0] if len(parts) == 1 else _numbered(list(written_parts))
    for p, (part, written) in enumerate(zip(parts, written_parts), 1):
        if ("actual", p) in unreadable:
            continue
        if not written.strip():
            problems.append(Problem(f"{_where(plan, measure, p, len(parts))}の実績が未入力です。", measure.key, "actual", p))
        elif part.kind == "qualitative":
            suggestion = suggest_qualitative(part.target, written, policy)
            if suggestion is not None and not columns.suggested[i]:
                columns.suggested[i] = suggestion.value
        else:
            value = _numeric_actual(plan, measure, part, written, p, len(parts), policy, problems)
            if value is not None:
                columns.num_measure.append(i)
                columns.num_target.append(float(part.target_quantity.value))
                columns.num_actual.append(value)
                columns.num_lower.append(part.direction == "lower")
    if year_plan.has_qualitative:
        if result.self_rating is None or result.self_rating is Rating.NO_INDICATOR:
            problems.append(Problem(
                f"{named_measure(plan, measure)}は定性的な指標のため、自己評価（◎・○・△）を入力してください。",
                measure.key, "self_rating"))
        else:
            columns.qual_code[i] = result.self_rating.rank


_SYMBOL_OF = {rating: rating.value for rating in Rating} | {None: ""}  # a self-rating as the frame gives it
_RATING_SYMBOLS = np.array([Rating.NO_INDICATOR.value, Rating.NOT_ACHIEVED.value, Rating.ACHIEVED.value,
                            Rating.EXCEEDED.value], dtype=object)  # indexed by rank + 1


def _where(plan: Plan, measure: Measure, part: int, parts: int) -> str:
    return named_measure(plan, measure) + (f"の({part})" if parts > 1 else "")


def _missing_target(plan: Plan, measure: Measure, year: int) -> str:
    return (f"{named_measure(plan, measure)}の{wareki_year(year)}の目標が計画にありません。"
            "計画の設定に目標（または指標未設定・取組完了）を追加してください。")


# Free-text fields of a result: (field, title as the form and the report print it, may span lines).
_TEXT_FIELDS = (("reason", "未達成の理由及び今後の見込み等", True), ("cause", "要因", False),
                ("highlight", "主な取組", True))


def _check_characters(plan: Plan, measure: Measure, result: MeasureResult,
                      problems: list[Problem]) -> set[tuple[str, int | None]]:
    """Refuse control and format characters (NUL, ESC, U+202E …) and digits of other scripts in every
    text of a result; return the (field, part) refused, which the other checks then leave alone."""
    texts: list[tuple[str, int | None, str, str, bool]] = []
    parts = len(result.actual)
    for p, written in enumerate(result.actual, 1):
        texts.append(("actual", p, f"{_where(plan, measure, p, parts)}の「実績」", written, False))
    for field, title, multiline in _TEXT_FIELDS:
        value = getattr(result, field)
        for text in (value,) if isinstance(value, str) else value or ():
            texts.append((field, None, f"{named_measure(plan, measure)}の「{title}」", text, multiline))
    if result.adjustment is not None:
        texts.append(("adjustment", None, f"{named_measure(plan, measure)}の「評価変更の理由」",
                      result.adjustment.justification, True))
        texts.append(("adjustment", None, f"{named_measure(plan, measure)}の「評価変更者」", result.adjustment.by, False))
    refused: set[tuple[str, int | None]] = set()
    for field, part, where, text, multiline in texts:
        if (field, part) in refused:
            continue
        message = characters_problem(where, text, multiline)
        if message is not None:
            problems.append(Problem(message, measure.key, field, part))
            refused.add((field, part))
    return refused


def characters_problem(where: str, text: str, multiline: bool = False) -> str | None:
    """The message refusing `text` for its control/format characters or unusual digits, or None.
    `where` names the measure (and field): 施策 I-1-ア-1「…」の「実績」."""
    hidden = hidden_characters(text, multiline)
    if hidden:
        allowed = "（改行・タブを除く）" if multiline else ""
        return (f"{where}に入力できない文字（{describe_characters(hidden)}）が含まれています。"
                f"制御文字{allowed}や、文字の向き・つながりを変える見えない文字は受け付けられません。"
                "その文字を削除して（他の文書から貼り付けた場合は打ち直して）入力してください。")
    digits = unusual_digits(text)
    if digits:
        return (f"{where}に半角・全角以外の数字（{describe_characters(digits)}）が含まれています。"
                "数字は半角（0〜9）または全角（０〜９）で入力してください。")
    return None


def _numeric_actual(plan: Plan, measure: Measure, part: Part, written: str, p: int, parts: int, policy: RatingPolicy,
                    problems: list[Problem]) -> float | None:
    """The actual as a float (NaN for a negative word such as 未把握), or None after recording a problem."""
    value = parse_value(written)
    if isinstance(value, Quantity):
        number = float(value.value)
        if not np.isfinite(number):  # parse_value keeps to 15 digits; a guard, should that change
            problems.append(_not_a_number(plan, measure, part, written, p, parts))
            return None
        if value.unit != part.unit:
            problems.append(Problem(
                f"{_where(plan, measure, p, parts)}の実績「{written}」の単位「{value.unit or '(なし)'}」が目標「{part.target}」の"
                f"単位「{part.unit or '(なし)'}」と異なります。目標と同じ単位で入力してください。",
                measure.key, "actual", p))
            return None
        if number < 0 and not part.negative_allowed:
            problems.append(Problem(
                f"{_where(plan, measure, p, parts)}の実績「{written}」が負の値です。この指標（目標「{part.target}」）の実績に"
                "負の値は入力できません。0以上の数値で入力してください。",
                measure.key, "actual", p))
            return None
        return number
    if overlong_number(written):
        problems.append(_not_a_number(plan, measure, part, written, p, parts))
        return None
    if is_negative(written, policy):
        return float("nan")
    problems.append(Problem(
        f"{_where(plan, measure, p, parts)}の実績「{written}」は数値ではありません。目標「{part.target}」と同じ単位の数値"
        "（把握できない場合は「未把握」）を入力してください。",
        measure.key, "actual", p))
    return None


def _not_a_number(plan: Plan, measure: Measure, part: Part, written: str, p: int, parts: int) -> Problem:
    return Problem(
        f"{_where(plan, measure, p, parts)}の実績「{visible(written, 30)}」は数値ではありません（桁数が多すぎます。"
        f"数値は{MAX_DIGITS}桁以内で入力してください）。目標「{part.target}」と同じ単位の数値を入力してください。",
        measure.key, "actual", p)


def _check_adjustment(plan: Plan, measure: Measure, adjustment: Adjustment, problems: list[Problem]) -> int:
    if not adjustment.justification.strip():
        problems.append(Problem(
            f"{named_measure(plan, measure)}の評価を「{adjustment.rating.value}」に変更するには、その理由の記載が必要です。",
            measure.key, "adjustment"))
    if adjustment.rating is Rating.NO_INDICATOR:
        problems.append(Problem(f"{named_measure(plan, measure)}の変更後の評価は◎・○・△のいずれかにしてください。",
                                measure.key, "adjustment"))
    return adjustment.rating.rank


def _check_reasons(plan: Plan, columns: _Columns, rated: np.ndarray, final: np.ndarray, problems: list[Problem],
                   refused_causes: set[str]) -> None:
    """△ needs a reason (an adjustment's justification counts); a cause tag must be a known one."""
    policy, measures = plan.rating, columns.measures
    not_achieved = np.flatnonzero(rated & (final == Rating.NOT_ACHIEVED.rank))
    results_of = columns.position[not_achieved]
    reasons = list(map(columns.reasons.__getitem__, results_of.tolist()))
    # most give a reason: only the measures giving none are looked at one by one
    blank = np.fromiter(map(not_, map(str.strip, reasons)), dtype=bool, count=len(reasons))
    for i, j in zip(not_achieved[blank].tolist(), results_of[blank].tolist()):
        adjustment = columns.adjustments[j]
        justification = adjustment.justification if adjustment else ""
        if not justification.strip():
            problems.append(Problem(
                f"{named_measure(plan, measures[i])}は未達成（△）のため、「未達成の理由及び今後の見込み等」を入力してください。",
                measures[i].key, "reason"))
    unknown = set(columns.causes) - {t.key for t in policy.cause_tags} - {None}
    if unknown:
        choices = "、".join(t.label for t in policy.cause_tags)
        for i in np.flatnonzero(columns.position >= 0).tolist():
            cause = columns.causes[columns.position[i]]
            if cause in unknown and measures[i].key not in refused_causes:
                problems.append(Problem(
                    f"{named_measure(plan, measures[i])}の要因「{cause}」は選択肢にありません（{choices}）。",
                    measures[i].key, "cause"))


def assess(plan: Plan, results: ResultSet, allow_missing: bool = False) -> Assessment:
    """Rate a fiscal year; raise ValidationFailed listing every problem if any."""
    problems, frame = check(plan, results, allow_missing)
    if problems:
        raise ValidationFailed(problems)
    return Assessment(plan=plan, fiscal_year=results.fiscal_year, results=results, measures=frame)



"""Adjusting a rating: the office sets a measure's rating other than the rule's, with a written
justification and who decided it (SPEC §2, 評価の調整).

Adjustments are entered in the ledger (`tenken adjust`); the latest one of a measure counts and
overrides the one a results file may carry (the merge is `results.adjustments_for`, used wherever
ratings are computed). Only a measure rated this year can be adjusted: one with an indicator and a
submitted result. Entering the rule's own rating is no adjustment: it is refused, unless an
adjustment is in effect for the measure, which it then withdraws (the rule's rating counts again).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

from tenken.core.assessment import characters_problem, check, named_measure
from tenken.core.errors import DomainError, ValidationFailed
from tenken.core.plan import Measure, Plan, Rating
from tenken.core.results import Adjustment
from tenken.core.values import visible
from tenken.core.wareki import wareki_year
from tenken.ledger.repository import AdjustmentRecord
from tenken.services.cycle import Cycle
from tenken.services.results import WITHDRAWN, ledger_adjustments, load_cycle

RATINGS = (Rating.EXCEEDED, Rating.ACHIEVED, Rating.NOT_ACHIEVED)
# What a person may type for a rating (after NFKC): the marks, the look-alike circles, the legend's words.
RATING_WORDS: dict[str, Rating] = {
    "◎": Rating.EXCEEDED, "○": Rating.ACHIEVED, "◯": Rating.ACHIEVED, "〇": Rating.ACHIEVED, "△": Rating.NOT_ACHIEVED,
    **{r.description: r for r in RATINGS},
}
MAX_BY = 200  # the ledger's column
# Problems that leave the rule's rating sound: a △ without a reason (an adjustment may be the answer), an
# unknown cause tag, an unreadable highlight, the adjustment in effect itself.
_AFTER_RATING = frozenset({"reason", "cause", "highlight", "adjustment"})


@dataclass(frozen=True)
class Standing:
    """A measure rated this year: the rule's rating and the adjustment in effect, if any."""

    measure: Measure
    rule: Rating
    adjustment: Adjustment | None
    source: str | None = None  # "ledger" or "results file", where the adjustment comes from
    recorded_at: datetime | None = None  # when the ledger's adjustment was entered

    @property
    def rating(self) -> Rating:
        return self.adjustment.rating if self.adjustment is not None else self.rule


@dataclass(frozen=True)
class Adjusted:
    """An adjustment entered, with the measure as it stood before."""

    record: AdjustmentRecord
    before: Standing

    @property
    def withdrawn(self) -> bool:
        return self.record.rating == WITHDRAWN


def parse_rating(text: str) -> Rating:
    """◎, ○ or △ (also ◯ 〇, full- or half-width, or the legend's word: 目標を上回った, 達成, 未達成)."""
    rating = RATING_WORDS.get(unicodedata.normalize("NFKC", text).strip())
    if rating is None:
        raise DomainError(f"評価「{visible(text)}」は使えません。変更後の評価は◎・○・△のいずれかにしてください。")
    return rating


def find_measure(plan: Plan, key: str) -> Measure:
    """The plan's measure of a key as typed (NFKC forgiven: Ⅰ-1-ｶ-1 is I-1-カ-1)."""
    for candidate in (key, unicodedata.normalize("NFKC", key).strip()):
        if candidate in plan.measures_by_key:
            return plan.measures_by_key[candidate]
    raise DomainError(f"{plan.measure_label} {visible(key)} は計画にありません。{plan.measure_label}番号を確認してください。")


def _not_rated(plan: Plan, measure: Measure, fiscal_year: int) -> str | None:
    """Why the measure has no rating of its own this year, or None."""
    year, named = wareki_year(fiscal_year), named_measure(plan, measure)
    year_plan = measure.years.get(fiscal_year)
    if year_plan is None:
        return f"{named}は{year}の点検の対象ではありません（計画に{year}の目標がありません）。"
    if year_plan.status == "finished":
        return f"{named}は{wareki_year(year_plan.finished_in)}で取組完了のため、{year}の評価はありません。"
    if year_plan.status == "no_indicator":
        return f"{named}は{year}の成果指標が設定されていない（評価「{Rating.NO_INDICATOR.value}」）ため、評価はありません。"
    return None


def standings(cycle: Cycle, keys: list[str] | None = None) -> list[Standing]:
    """The measures rated this year (those of `keys`, else those with an adjustment in effect), as they stand.

    For `keys`, raises DomainError for a measure not rated this year and ValidationFailed for one whose
    result has problems (it has no reliable rule rating to adjust).
    """
    plan, year = cycle.plan, cycle.fiscal_year
    measures = [find_measure(plan, key) for key in keys] if keys is not None else None
    for measure in measures or []:
        why = _not_rated(plan, measure, year)
        if why is not None:
            raise DomainError(why + "評価は調整できません。")
    loaded_plan, results = load_cycle(year, cycle.settings.config_dir, cycle.ledger)
    problems, frame = check(loaded_plan, results, allow_missing=True)
    rows = {row.key: row for row in frame.itertuples(index=False)}
    adjustments = {r.measure: r.adjustment for r in results.results if r.adjustment is not None}
    listing = measures is None
    if measures is None:
        measures = [m for m in plan.measures if m.key in adjustments and rows[m.key].status == "rated"]
    entered_at = {r.measure: r.recorded_at for r in cycle.ledger.adjustments(year)}
    entered = ledger_adjustments(cycle.ledger, year)
    found = []
    for measure in measures:
        row = rows[measure.key]
        rule = Rating(row.rule_rating)
        if not listing:
            if row.status == "missing":
                raise DomainError(f"{named_measure(plan, measure)}の{wareki_year(year)}の結果がまだ提出されていないため、"
                                  "評価は調整できません。結果を受け付けてから調整してください。")
            own = [p for p in problems if p.measure == measure.key and p.field not in _AFTER_RATING]
            if own:
                raise ValidationFailed(own)
            if rule is Rating.NO_INDICATOR:
                raise DomainError(f"{named_measure(plan, measure)}には規則による評価がないため、評価は調整できません。")
        adjustment = adjustments.get(measure.key)
        from_ledger = adjustment is not None and entered.get(measure.key) is not None
        source = None if adjustment is None else "ledger" if from_ledger else "results file"
        found.append(Standing(measure, rule, adjustment, source, entered_at[measure.key] if from_ledger else None))
    return found


def standing(cycle: Cycle, key: str) -> Standing:
    return standings(cycle, [key])[0]


def _check_text(plan: Plan, measure: str, why: str, by: str) -> tuple[str, str]:
    why, by = why.strip(), by.strip()
    if not why:
        raise DomainError("評価を変更する理由（--why）を書いてください。理由のない評価の変更は記録できません。")
    if not by:
        raise DomainError("評価を変更する人（--by）を書いてください。誰が変更したかのない評価の変更は記録できません。")
    if len(by) > MAX_BY:
        raise DomainError(f"変更者（--by）は{MAX_BY}文字以内で書いてください。")
    where = f"{plan.measure_label} {visible(measure)}"
    for message in (characters_problem(f"{where}の「評価変更の理由」", why, multiline=True),
                    characters_problem(f"{where}の「評価変更者」", by)):
        if message is not None:
            raise DomainError(message)
    return why, by


def record_adjustment(cycle: Cycle, measure: str, rating: str | Rating, why: str, by: str) -> Adjusted:
    """Enter the office's rating of a measure; nothing is recorded when it is refused (DomainError)."""
    why, by = _check_text(cycle.plan, measure, why, by)
    wanted = rating if isinstance(rating, Rating) else parse_rating(rating)
    if wanted not in RATINGS:
        raise DomainError("変更後の評価は◎・○・△のいずれかにしてください。")
    before = standing(cycle, measure)
    named = named_measure(cycle.plan, before.measure)
    if wanted is before.rule:
        if before.adjustment is None:
            raise DomainError(f"{named}の規則による評価は「{wanted.value}」です。同じ評価にすることは評価の変更ではないため、"
                              "記録しません。")
        stored = WITHDRAWN  # the rule's rating again: the adjustment in effect is withdrawn
    else:
        stored = wanted.value
    record = cycle.ledger.record_adjustment(cycle.fiscal_year, before.measure.key, stored, why, by)
    return Adjusted(record, before)


def adjust(cycle: Cycle, measure: str, rating: str | Rating, why: str, by: str) -> AdjustmentRecord:
    """Enter the office's rating of a measure (its rating is "" when it withdraws the adjustment in effect)."""
    return record_adjustment(cycle, measure, rating, why, by).record

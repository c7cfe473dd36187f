"""The rating rules (SPEC §2), vectorised over parts with numpy.

Codes in arrays are `Rating.rank`: 0 △, 1 ○, 2 ◎, -1 — (no rating).
"""

from __future__ import annotations

import numpy as np

from .plan import RATING_BY_RANK, Rating, RatingPolicy
from .values import normalize, same_text

NOT_ACHIEVED, ACHIEVED, EXCEEDED = 0, 1, 2
_EPSILON = 1e-9  # 75.3/60 must reach a 1.255 threshold despite binary floats


def numeric_codes(target: np.ndarray, actual: np.ndarray, lower: np.ndarray, threshold: float) -> np.ndarray:
    """Rate numeric parts. `actual` NaN means a negative word (未把握 …): not achieved.

    Higher is better: met when actual >= target; exceeded when also actual/target >= threshold
    (only for a positive target). Lower is better: met when actual <= target; exceeded when
    target/actual >= threshold, or when actual is 0 under a positive target.
    """
    target = np.asarray(target, dtype=float)
    actual = np.asarray(actual, dtype=float)
    lower = np.asarray(lower, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        met = np.where(lower, actual <= target, actual >= target)
        ratio_up = np.where(target > 0, actual / target, 0.0)
        ratio_down = np.where(actual > 0, target / actual, np.where(target > 0, np.inf, 0.0))
    ratio = np.where(lower, ratio_down, ratio_up)
    exceeded = met & (ratio >= threshold - _EPSILON)
    codes = np.where(exceeded, EXCEEDED, np.where(met, ACHIEVED, NOT_ACHIEVED))
    return np.where(np.isnan(actual), NOT_ACHIEVED, codes).astype(np.int8)


def rate_numeric(target: float, actual: float | None, lower: bool, threshold: float) -> Rating:
    """One numeric part; `actual` None is a negative word such as 未把握."""
    code = numeric_codes(
        np.array([target]), np.array([np.nan if actual is None else actual]), np.array([lower]), threshold
    )[0]
    return RATING_BY_RANK[int(code)]


def is_negative(text: str, policy: RatingPolicy) -> bool:
    """未実施, 未導入, 未把握, 開発中, 検討中 … anywhere in the text."""
    text = normalize(text)
    return any(word in text for word in policy.negative_words)


def suggest_qualitative(target: str, actual: str, policy: RatingPolicy) -> Rating | None:
    """The system's suggestion for a qualitative part; None when a person must judge."""
    if is_negative(actual, policy):
        return Rating.NOT_ACHIEVED
    if same_text(target, actual):
        return Rating.ACHIEVED
    return None

"""The form reviewers fill in the Prefect UI when the review pauses (kept flat: the UI draws it).

Defaults live here, not in `with_initial_data(...)`: Prefect rebuilds a field given there from its
annotation alone, and the form would lose the Japanese titles. The name has no default, so that no
decision is recorded without a reviewer.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from prefect.input import RunInput


class ReviewDecision(RunInput):
    decision: Literal["approve", "request_changes"] = Field(
        "approve", title="判断", description="approve: 承認して公表へ進む / request_changes: 差し戻して修正を求める")
    comments: str = Field("", title="コメント", description="差し戻す場合は修正してほしい点を記入してください")
    reviewer: str = Field(title="確認者の氏名", min_length=1)

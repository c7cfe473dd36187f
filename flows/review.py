"""The form reviewers fill in the Prefect UI when the review pauses (kept flat: the UI draws it)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from prefect.input import RunInput


class ReviewDecision(RunInput):
    decision: Literal["approve", "request_changes"] = Field(
        title="判断", description="approve: 承認して公表へ進む / request_changes: 差し戻して修正を求める")
    comments: str = Field("", title="コメント", description="差し戻す場合は修正してほしい点を記入してください")
    reviewer: str = Field(title="確認者の氏名")

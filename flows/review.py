"""The form reviewers fill in the Prefect UI when the review pauses (kept flat: the UI draws it).

No name field: who decided is the reviewer whose one-time code (sent to them alone) comes with the
answer (tenken.services.reviewing). Defaults live here, not in `with_initial_data(...)`: Prefect
rebuilds a field given there from its annotation alone, and the form would lose the Japanese titles.
The code has no default, so that no answer comes without one.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from prefect.input import RunInput


class ReviewDecision(RunInput):
    decision: Literal["approve", "request_changes"] = Field(
        "approve", title="判断", description="approve: 承認して公表へ進む / request_changes: 差し戻して修正を求める")
    comments: str = Field("", title="コメント", description="差し戻す場合は修正してほしい点を記入してください")
    code: str = Field(title="確認コード", min_length=1, max_length=64,
                      description="ご本人あての通知（Slack の DM またはメール）に届いた第N回の確認コード（例: ABCD-2345）")

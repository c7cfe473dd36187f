"""Who a message goes to: one type for departments, escalation contacts, reviewers and channels.

The plan's core knows departments by key and name only; how to reach a person or an office is the
notification side's business, read from departments.yaml and cycle.yaml at the edge. A recipient has
a Slack address, an e-mail address, or both; `address` is where a message goes today (Slack first).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, model_validator

from tenken.notify.base import NotificationError, parse_target


class Recipient(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = None
    slack: str | None = None
    email: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_target(cls, value):
        """A bare string in the config ("#tenken-review", "@head", "office@example.jp") is one address."""
        if isinstance(value, str):
            try:
                kind = parse_target(value).kind
            except NotificationError as exc:
                raise ValueError(str(exc)) from None  # a configuration mistake, reported with its file
            return {"email": value} if kind == "email" else {"slack": value}
        return value

    @property
    def address(self) -> str | None:
        return self.slack or self.email


@dataclass(frozen=True)
class Directory:
    """Each department's recipient and escalation contact, by department key."""

    departments: Mapping[str, Recipient] = field(default_factory=dict)
    escalations: Mapping[str, Recipient] = field(default_factory=dict)
    # People who may submit for a department from a conversation several departments share (Slack user IDs).
    submitters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def department(self, key: str) -> Recipient:
        return self.departments.get(key) or Recipient()

    def escalation(self, key: str) -> Recipient | None:
        return self.escalations.get(key)

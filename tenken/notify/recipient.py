"""Who a message goes to: one type for departments, escalation contacts, reviewers and channels.

The plan's core knows departments by key and name only; how to reach a person or an office is the
notification side's business, read from departments.yaml and cycle.yaml at the edge. A recipient has
a Slack address, an e-mail address, or both, and `via`: where messages go — `slack`, `email` (by mail,
as `mailto:` targets) or `both`; by default Slack when there is a Slack address, else mail.
`targets` are all the places a message to the recipient goes; `address` the first of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from tenken.notify.base import MAILTO, NotificationError, parse_target


class Recipient(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = None
    slack: str | None = None
    email: str | None = None
    via: Literal["slack", "email", "both"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_target(cls, value):
        """A bare string in the config ("#tenken-review", "@head", "office@example.jp") is one address."""
        if isinstance(value, str):
            try:
                kind = parse_target(value).kind
            except NotificationError as exc:
                raise ValueError(str(exc)) from None  # a configuration mistake, reported with its file
            if kind == "mail":
                return {"email": parse_target(value).value, "via": "email"}
            return {"email": value} if kind == "email" else {"slack": value}
        return value

    @model_validator(mode="after")
    def _via_has_its_address(self) -> Recipient:
        if self.via in ("slack", "both") and not self.slack:
            raise ValueError(f"via: {self.via} には slack の宛先が必要です（{self.name or self.email}）")
        if self.via in ("email", "both") and not self.email:
            raise ValueError(f"via: {self.via} には email の宛先が必要です（{self.name or self.slack}）")
        return self

    @property
    def targets(self) -> tuple[str, ...]:
        """Every place a message to this recipient goes: the Slack target, `mailto:` the address, or both."""
        via = self.via or ("slack" if self.slack else "email")
        found = []
        if via in ("slack", "both") and self.slack:
            found.append(self.slack)
        if via in ("email", "both") and self.email:
            found.append(MAILTO + self.email)
        return tuple(found)

    @property
    def address(self) -> str | None:
        """The first of `targets` (None: the recipient cannot be reached)."""
        return next(iter(self.targets), None)

    @property
    def mail_addresses(self) -> tuple[str, ...]:
        """Addresses a reply from this recipient may come from (lowercased)."""
        return (self.email.lower(),) if self.email else ()


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

    def mail_senders(self, key: str) -> tuple[str, ...]:
        """Addresses a department's reply may come from: its own e-mail and the addresses among its
        `submitters` (lowercased)."""
        own = self.department(key).mail_addresses
        return own + tuple(p for p in self.submitters.get(key, ()) if "@" in p and p not in own)

    def departments_of_sender(self, address: str) -> list[str]:
        address = (address or "").lower()
        return [key for key in self.departments if address and address in self.mail_senders(key)]

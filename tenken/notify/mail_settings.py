"""Where tenken's mail goes out and comes in: one dedicated mailbox of the office (SMTP out, IMAP in).

Built by tenken.settings from the environment or a Prefect Secret block; the mail notifier
(tenken.notify.mail) and the mailbox reader (tenken.notify.mailbox) take it as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Security = Literal["starttls", "ssl", "none"]


@dataclass(frozen=True)
class MailSettings:
    address: str  # the office's mailbox: From of every mail tenken sends, To of every reply it reads
    smtp_host: str
    smtp_port: int = 587
    smtp_security: Security = "starttls"
    imap_host: str | None = None  # None: nothing is read (and sent mail is not filed in a Sent folder)
    imap_port: int = 993
    imap_security: Security = "ssl"
    username: str | None = None  # login for both SMTP and IMAP (None: no SMTP login)
    password: str | None = field(default=None, repr=False)
    display_name: str = "点検事務局"
    signature: str = ""  # appended to every mail body (cycle.yaml mail.signature)
    inbox: str = "INBOX"
    taken_folder: str = "tenken/taken"  # replies taken in are moved here; anything else stays for a person
    sent_folder: str = "Sent"  # a copy of every mail sent, found again by its Message-ID
    timeout: float = 30.0

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2] or "localhost"

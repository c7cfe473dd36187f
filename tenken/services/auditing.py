"""Who sent what, through where, and what became of it: the audit trail of a cycle's submissions.

One row per file received (accepted or refused, with every reason), one per file that arrived again
with bytes already recorded (a repost), and one per file a channel delivered that is not taken in
yet. Everything comes from the ledger: the sender is what the channel recorded, never the file.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from tenken.ledger import Ledger

COLUMNS = ["received_at", "department", "outcome", "version", "channel", "sender", "conversation", "message_ts",
           "link", "file_name", "sha256", "reasons"]
OUTCOME_LABEL = {"accepted": "受付", "rejected": "差戻し", "repost": "再提出（同じ内容）", "pending": "未処理"}


def audit_rows(ledger: Ledger, fiscal_year: int) -> list[dict]:
    """Oldest first. `outcome`: accepted | rejected | repost | pending; `reasons` lists every problem."""
    submissions = ledger.submissions(fiscal_year)
    rows = [{"received_at": s.received_at, "department": s.department, "outcome": s.status, "version": s.version,
             "channel": s.channel, "sender": s.origin.user, "conversation": s.origin.channel,
             "message_ts": s.origin.message_ts, "link": s.origin.permalink or s.source, "file_name": s.file_name,
             "sha256": s.sha256, "reasons": [p.message for p in s.problems]} for s in submissions]
    by_id = {s.id: s for s in submissions}
    seen: Counter[int] = Counter()
    for arrival in ledger.arrivals(fiscal_year):
        if arrival.submission_id is not None:
            seen[arrival.submission_id] += 1
            if seen[arrival.submission_id] == 1:
                continue  # the arrival the submission row already stands for
            first = by_id.get(arrival.submission_id)
            outcome, when, digest = "repost", arrival.taken_at, first.sha256 if first else ""
        elif arrival.status == "taken":
            continue
        else:
            outcome, when, digest = "pending", arrival.claimed_at, ""
        rows.append({"received_at": when or arrival.claimed_at, "department": arrival.department, "outcome": outcome,
                     "version": None, "channel": arrival.channel, "sender": arrival.origin.user,
                     "conversation": arrival.origin.channel, "message_ts": arrival.origin.message_ts,
                     "link": arrival.origin.permalink, "file_name": arrival.file_name, "sha256": digest,
                     "reasons": []})
    return sorted(rows, key=lambda r: r["received_at"] or datetime.min)

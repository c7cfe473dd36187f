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


REVIEW_COLUMNS = ["at", "event", "round", "who", "detail"]
EVENT_LABEL = {"code_sent": "確認コード送付", "answer": "回答", "adjustment": "評価の調整", "publication": "公表"}
ANSWER_LABEL = {"accepted": "記録", "wrong": "誤ったコード", "stale": "前の回のコード", "reused": "使用済みのコード",
                "expired": "期限切れのコード", "locked": "ロック中"}


def review_rows(ledger: Ledger, fiscal_year: int) -> list[dict]:
    """The review's trail, oldest first: each code sent (to whom and where, never the code), each answer
    (accepted ones with the verified reviewer, decision and comments; refused ones with why), the office's
    adjustments, and each publication with its files' checksums."""
    rows = [{"at": c.sent_at, "event": "code_sent", "round": c.round, "who": c.reviewer,
             "detail": f"宛先 {c.contact}、有効期限 {c.expires_at.isoformat()}" + ("、使用済み" if c.used_at else "")}
            for c in ledger.review_codes(fiscal_year) if c.sent_at]
    comments = {(d.round, d.reviewer, d.decided_at): d.comments for d in ledger.review_decisions(fiscal_year)}
    for a in ledger.review_attempts(fiscal_year):
        detail = f"{a.decision}: {ANSWER_LABEL.get(a.outcome, a.outcome)}"
        if a.outcome == "accepted":
            detail += f"（{comments.get((a.round, a.reviewer, a.attempted_at), '')}）"
        rows.append({"at": a.attempted_at, "event": "answer", "round": a.round, "who": a.reviewer or "（不明）",
                     "detail": detail})
    for j in ledger.adjustments(fiscal_year):
        rows.append({"at": j.recorded_at, "event": "adjustment", "round": None, "who": j.by,
                     "detail": f"{j.measure} → {j.rating or '調整の取り消し'}（{j.justification}）"})
    for p in ledger.publications(fiscal_year):
        files = "、".join(f"{name} sha256:{digest}" for name, digest in sorted(p.files.items()))
        rows.append({"at": p.published_at, "event": "publication", "round": p.review_round,
                     "who": "承認なし（--unreviewed）" if p.review_round is None else f"第{p.review_round}回の承認",
                     "detail": f"第{p.version}版 {p.target}: {files}"})
    return sorted(rows, key=lambda r: r["at"] or datetime.min)

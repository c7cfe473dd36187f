"""Stage 5, review: the draft to the reviewers, each with a one-time code of their own; their answers
checked against the codes; the round decided by the office's rule (any, all, or N approvals).

Who decided is never what a form says: the form asks for 判断, コメント and 確認コード, and the decision
is recorded under the reviewer whose code came with it. Codes go to each reviewer's own channel (a
Slack DM or an e-mail address, see cycle_config.personal_address), are kept in the ledger only as
keyed digests, work once, expire with the round, and `lock_after` refused answers lock the round.
The draft is reached by a signed link on the review site (tenken.review_site), never a server path.

The waiting itself is Prefect's (the flow pauses for the form in the UI); everything around it is here.
Reminders to reviewers who have not answered, and the office's notice when a round runs out, come
from the daily `review-reminders` deployment (a paused run cannot act before its pause ends).
"""

from __future__ import annotations

import math
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from tenken.cycle_config import personal_address
from tenken.notify import Recipient, render
from tenken.review_site import draft_link, link_signer
from tenken.services.compiling import Compiled
from tenken.services.cycle import Cycle
from tenken.services.dispatch import Outgoing, message_key, to_recipient

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud and typed from a phone
CODE_LENGTH = 8
CODE_PURPOSE = "review-code"

RoundStatus = Literal["open", "approved", "changes", "locked", "expired"]


@dataclass(frozen=True)
class Artifact:
    """Something the office and the reviewers see beside the run (a Prefect artifact)."""

    kind: Literal["table", "markdown"]
    key: str
    description: str
    content: list[dict] | str


@dataclass(frozen=True)
class RoundState:
    """Where a review round stands, from the ledger and the clock."""

    round: int
    status: RoundStatus
    required: int  # approvals that publish
    approved_by: tuple[str, ...] = ()
    waiting_for: tuple[str, ...] = ()  # reviewers with no decision in the round
    changes_by: str | None = None
    expires_at: datetime | None = None
    failures: int = 0  # refused answers so far

    @property
    def open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True)
class Answered:
    """What became of one answer: the reason shown above the next form when it was refused."""

    accepted: bool
    outcome: str
    reviewer: str | None
    message: str


@dataclass(frozen=True)
class ReviewForm:
    """What the paused review shows above its form, and how long it waits for an answer."""

    description: str
    timeout_seconds: int


def now_utc() -> datetime:
    return datetime.now(UTC)


# ------------------------------------------------------------------ codes

def new_code() -> str:
    chars = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{chars[:4]}-{chars[4:]}"


def normalize_code(text: str) -> str:
    """What a person typed, as the code was made: full-width, case, spaces and dashes forgiven."""
    text = unicodedata.normalize("NFKC", text or "").upper()
    return "".join(c for c in text if c.isalnum())


def code_digest(cycle: Cycle, code: str) -> str:
    return cycle.signer.digest(CODE_PURPOSE, f"{cycle.fiscal_year}\x1f{normalize_code(code)}")


def _reviewers(cycle: Cycle) -> tuple[Recipient, ...]:
    return cycle.config.review.reviewers


# ------------------------------------------------------------------ rounds

def round_state(cycle: Cycle, round: int, now: datetime | None = None) -> RoundState:
    now = now or now_utc()
    review, year = cycle.config.review, cycle.fiscal_year
    decisions = [d for d in cycle.ledger.review_decisions(year) if d.round == round]
    codes = cycle.ledger.review_codes(year, round)
    failures = sum(1 for a in cycle.ledger.review_attempts(year) if a.round == round and a.outcome != "accepted")
    expires_at = min((c.expires_at for c in codes), default=None)
    approved = tuple(d.reviewer for d in decisions if d.decision == "approve")
    decided = {d.reviewer for d in decisions}
    waiting = tuple(r.name for r in review.reviewers if r.name not in decided)
    changes = next((d.reviewer for d in decisions if d.decision == "request_changes"), None)
    required = review.required_approvals
    if changes:
        status: RoundStatus = "changes"
    elif len(approved) >= required:
        status = "approved"
    elif failures >= review.lock_after:
        status = "locked"
    elif expires_at is not None and now > expires_at:
        status = "expired"
    else:
        status = "open"
    return RoundState(round, status, required, approved, waiting, changes, expires_at, failures)


def rounds_on_record(cycle: Cycle) -> list[int]:
    year = cycle.fiscal_year
    return sorted({c.round for c in cycle.ledger.review_codes(year)}
                  | {d.round for d in cycle.ledger.review_decisions(year)})


def next_round(cycle: Cycle, now: datetime | None = None) -> int:
    """The round to show now: the last one while it is still open (a run resumed after a crash finds
    its codes still valid), else the one after it."""
    rounds = rounds_on_record(cycle)
    if not rounds:
        return 1
    last = rounds[-1]
    return last if round_state(cycle, last, now).open else last + 1


def approved_round(cycle: Cycle) -> int | None:
    """The round whose approval stands: the last round on record, when the office's rule is met in it."""
    rounds = rounds_on_record(cycle)
    return rounds[-1] if rounds and round_state(cycle, rounds[-1]).status == "approved" else None


def open_round(cycle: Cycle, compiled: Compiled, run_url: str, now: datetime | None = None) -> datetime:
    """Send each reviewer their code of the round (once: a code already sent is not sent again), and
    the round's notice to the review channel. Returns when the round's codes and links expire."""
    now = now or now_utc()
    plan, year, round, review = cycle.plan, cycle.fiscal_year, compiled.round, cycle.config.review
    if not review.reviewers:
        from tenken.core.errors import DomainError

        raise DomainError("確認者がいません。cycle.yaml の review.reviewers に確認者（氏名と本人あての連絡先）を指定してください。")
    codes = {c.reviewer: c for c in cycle.ledger.review_codes(year, round)}
    expires_at = min((c.expires_at for c in codes.values()), default=now + timedelta(days=review.timeout_days))
    draft_url = draft_link_of(cycle, compiled, "pdf", expires_at)
    for i, reviewer in enumerate(review.reviewers):
        known = codes.get(reviewer.name)
        if known is not None and known.sent_at is not None:
            continue
        target, key = personal_address(reviewer), message_key(plan.id, f"{year}/review-code/round-{round}/{i}")
        if known is not None:  # stored, then the run stopped: was it sent before the record?
            found = cycle.notifier.find(target, key)
            if found is not None:
                cycle.ledger.mark_review_code_sent(year, round, reviewer.name, _ref(found))
                continue
        code = new_code()
        cycle.ledger.store_review_code(year, round, reviewer.name, target, code_digest(cycle, code), expires_at)
        text = render("review_code", plan=plan.name, fiscal_year=year, round=round, reviewer=reviewer.name,
                      code=code, expires_at=expires_at, draft_url=draft_url, run_url=run_url)
        receipt = cycle.notifier.post(target, text, key=key, kind="review_code")
        cycle.ledger.mark_review_code_sent(year, round, reviewer.name, _ref(receipt))
    if review.channel and review.channel.address:
        text = render("review_request", plan=plan.name, fiscal_year=year, round=round, draft_url=draft_url,
                      run_url=run_url, missing_departments=compiled.missing,
                      discrepancy_count=compiled.discrepancy_count, expires_at=expires_at,
                      approvals_needed=review.required_approvals)
        cycle.dispatcher.notice("review", f"round-{round}",
                                to_recipient(review.channel, text, f"{year}/review/round-{round}/channel", "review_request"))
    return expires_at


def _ref(receipt) -> str | None:
    return f"{receipt.channel}/{receipt.ts}" if receipt.ts else receipt.file_id


def draft_link_of(cycle: Cycle, compiled: Compiled, which: str, expires_at: datetime) -> str:
    """The signed review-site link to one file of the round's draft (pdf, html, csv, discrepancies)."""
    return draft_link(cycle.config.review.site_url, link_signer(cycle.settings), cycle.plan.id, cycle.fiscal_year,
                      compiled.round, Path(compiled.files[which]).name, expires_at)


def answer(cycle: Cycle, round: int, decision: str, code: str, comments: str, run_url: str,
           now: datetime | None = None) -> Answered:
    """One answer from the form: recorded as the code's reviewer's decision, or refused with the reason
    (nothing recorded as a decision). A request for changes tells the review channel; a locked round
    tells the office."""
    now = now or now_utc()
    review, year = cycle.config.review, cycle.fiscal_year
    verdict = cycle.ledger.answer_review(year, round, code_digest(cycle, code), decision, comments, now,
                                         review.lock_after)
    if verdict.accepted:
        if decision == "request_changes":
            _changes_requested(cycle, round, verdict.reviewer or "", comments, run_url)
        label = "承認" if decision == "approve" else "修正依頼"
        return Answered(True, verdict.outcome, verdict.reviewer, f"{verdict.reviewer} 様の判断（{label}）を記録しました。")
    if verdict.locked:
        tell_office_stopped(cycle, round, "locked", run_url, now)
    left = max(review.lock_after - verdict.failures, 0)
    tail = ("判断は記録されていません。" + (f"あと {left} 回誤るとこの回の確認はロックされます。" if left else
                                    "この回の確認はロックされました。点検事務局に連絡してください。"))
    reasons = {
        "wrong": "確認コードが正しくありません。ご本人あての通知に届いた第{round}回の確認コードを入力してください。",
        "stale": "この確認コードは前の回のもので、使えません。第{round}回の確認コードを入力してください。",
        "reused": "この確認コードは使用済みです（{reviewer} 様の判断は記録済みです）。",
        "expired": "この確認コードは期限切れです。",
        "locked": "この回の確認は、確認コードの誤りが続いたためロックされています。",
    }
    text = reasons[verdict.outcome].format(round=round, reviewer=verdict.reviewer or "")
    return Answered(False, verdict.outcome, verdict.reviewer, f"{text}{tail}")


def _changes_requested(cycle: Cycle, round: int, reviewer: str, comments: str, run_url: str) -> None:
    review = cycle.config.review
    recipients = [review.channel] if review.channel else list(review.reviewers)
    text = render("changes_requested", plan=cycle.plan.name, fiscal_year=cycle.fiscal_year, round=round,
                  reviewer=reviewer, comments=comments, run_url=run_url)
    cycle.dispatcher.notice("changes_requested", f"round-{round}", [
        message for i, r in enumerate(recipients)
        for message in to_recipient(r, text, f"{cycle.fiscal_year}/changes/round-{round}/{i}", "changes_requested")])


def tell_office_stopped(cycle: Cycle, round: int, why: Literal["locked", "expired"], run_url: str | None,
                        now: datetime | None = None) -> bool:
    """The office hears, once per round, that a round was locked or ran out without a decision."""
    office = cycle.config.office_recipient
    if office is None or not office.address:
        return False
    state = round_state(cycle, round, now)
    text = render("review_stopped", plan=cycle.plan.name, fiscal_year=cycle.fiscal_year, round=round, why=why,
                  failures=state.failures, expires_at=state.expires_at,
                  approvals_needed=state.required, approved_by=state.approved_by, waiting_for=state.waiting_for,
                  run_url=run_url)
    return cycle.dispatcher.notice("review_stopped", f"round-{round}", to_recipient(
        office, text, f"{cycle.fiscal_year}/review-stopped/round-{round}", "review_stopped"))


def remind_reviewers(cycle: Cycle, run_url: str | None = None, now: datetime | None = None) -> list[str]:
    """For the last round while it is open: remind each reviewer with no decision at each
    `remind_after_days` since the codes went out (once each); when it has run out, tell the office.
    Returns the keys of what was sent."""
    now = now or now_utc()
    rounds = rounds_on_record(cycle)
    if not rounds:
        return []
    round, review, year = rounds[-1], cycle.config.review, cycle.fiscal_year
    state = round_state(cycle, round, now)
    if state.status == "expired":
        return [f"review_stopped/round-{round}"] if tell_office_stopped(cycle, round, "expired", run_url, now) else []
    if not state.open:
        return []
    codes = {c.reviewer: c for c in cycle.ledger.review_codes(year, round)}
    started = min((c.issued_at for c in codes.values()), default=now)
    from tenken.report import report_name

    draft_url = draft_link(review.site_url, link_signer(cycle.settings), cycle.plan.id, year, round,
                           report_name(year, draft=True), state.expires_at or now)
    sent = []
    for k, days in enumerate(sorted(review.remind_after_days)):
        if now < started + timedelta(days=days):
            break
        for i, reviewer in enumerate(review.reviewers):
            if reviewer.name not in state.waiting_for or reviewer.name not in codes:
                continue
            key = f"round-{round}/{k + 1}/{i}"
            text = render("review_reminder", plan=cycle.plan.name, fiscal_year=year, round=round,
                          reviewer=reviewer.name, expires_at=state.expires_at, draft_url=draft_url,
                          run_url=run_url or "")
            if cycle.dispatcher.notice("review_reminder", key, [
                    Outgoing(codes[reviewer.name].contact, text, f"{year}/review-reminder/{key}", "review_reminder")]):
                sent.append(f"review_reminder/{key}")
    return sent


# ------------------------------------------------------------------ what the reviewers see

def review_form(cycle: Cycle, compiled: Compiled, notice: str = "", now: datetime | None = None) -> ReviewForm:
    now = now or now_utc()
    state = round_state(cycle, compiled.round, now)
    expires_at = state.expires_at or now + timedelta(days=cycle.config.review.timeout_days)
    # Rounded up: the pause must not end before the round does, or the run's end would read as a failure
    # instead of a round that ran out (the hook asks the ledger whether the round has expired).
    seconds = max(math.ceil((expires_at - now).total_seconds()), 1)
    return ReviewForm(review_form_text(cycle, compiled, state, notice, expires_at), seconds)


def review_form_text(cycle: Cycle, compiled: Compiled, state: RoundState, notice: str,
                     expires_at: datetime) -> str:
    """The markdown above the review form in the Prefect UI."""
    from tenken.notify.messages import _datetime_ja

    summary, label = compiled.summary, cycle.plan.measure_label
    missing = "、".join(compiled.missing) or "なし"
    approved = "、".join(state.approved_by) or "なし"
    waiting = "、".join(state.waiting_for) or "なし"
    lines = [f"### {cycle.plan.name} 点検報告書（案） 第{compiled.round}回確認", ""]
    if notice:
        lines += [f"> **{notice}**", ""]
    lines += [
        f"- 案: [報告書案（PDF）を開く]({draft_link_of(cycle, compiled, 'pdf', expires_at)})"
        f"（{_datetime_ja(expires_at)} まで）",
        f"- 承認: {len(state.approved_by)}/{state.required} 名（承認済み: {approved}／未回答: {waiting}）",
        f"- 達成率: {summary.rate}%（{summary.met}/{summary.rated}{label}）",
        f"- 未提出の所属: {missing}",
        f"- 確認が必要な事項: {compiled.discrepancy_count}件（Artifacts の一覧、全件は "
        f"[CSV]({draft_link_of(cycle, compiled, 'discrepancies', expires_at)})）",
        "",
        "内容を確認し、**approve**（承認）または **request_changes**（差し戻し）を選び、"
        "ご本人あての通知に届いた**確認コード**を入力してください。判断は、コードを受け取った確認者のものとして記録されます。",
    ]
    return "\n".join(lines)


def artifacts(cycle: Cycle, compiled: Compiled) -> list[Artifact]:
    """The summary table, who is missing, what to check: for the office and the reviewers."""
    label, key = cycle.plan.measure_label, f"fy{cycle.fiscal_year}-round-{compiled.round}"
    rows = [{"区分": f"{row.label} 小計" if row.kind == "pillar" else row.label, f"{label}数": row.rated,
             "◎": row.exceeded, "○": row.achieved, "△": row.not_achieved, "達成率": row.rate}
            for row in compiled.summary.rows()]
    missing = "\n".join(f"- {name}" for name in compiled.missing) or "未提出の所属はありません。"
    shown = f"（先頭{len(compiled.discrepancy_sample)}件。全件は報告書案と同じ場所の CSV）" \
        if compiled.discrepancy_count > len(compiled.discrepancy_sample) else ""
    found = [{label: d["key"], f"{label}名": d["name"], "種類": d["kind"], "内容": d["detail"]}
             for d in compiled.discrepancy_sample]
    return [
        Artifact("table", f"{key}-summary", "成果指標の達成状況（案）", rows),
        Artifact("markdown", f"{key}-missing", "未提出の所属", f"## 未提出の所属\n\n{missing}\n"),
        Artifact("table", f"{key}-discrepancies",
                 f"確認が必要な事項 {compiled.discrepancy_count}件{shown}"
                 "（自己評価と評価の相違、評価の変更、要因未選択、前年度と同じ理由）",
                 found or [{label: "", f"{label}名": "", "種類": "", "内容": "確認が必要な事項はありません"}]),
    ]

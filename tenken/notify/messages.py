"""The texts tenken sends, rendered from templates/messages/<kind>.txt.j2 (Japanese, Slack mrkdwn).

Autoescape is off because the output is mrkdwn, not HTML. Instead every value a template prints
passes through Slack's escaping (&, <, >), so a department name, file name, reviewer comment or
problem text can never become a mention (<!channel>) or a disguised link (<http://…|…>). Only our
own filters (`link`, `quote`) emit mrkdwn markup, and they escape what they wrap.

Each kind declares the variables it takes (KINDS); rendering with a missing or unknown variable
is an error, so a typo in a flow fails at once instead of sending a half-empty message. Kinds that
count or name measures take the plan's word for a measure (`measure_label`, default 施策).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from tenken.resources import MESSAGE_TEMPLATES
from tenken.core.wareki import wareki_date, wareki_year

TEMPLATE_DIR = MESSAGE_TEMPLATES
_TOKYO = ZoneInfo("Asia/Tokyo")
_WEEKDAYS = "月火水木金土日"
MEASURE_LABEL = "施策"  # Plan.measure_label's default; callers pass the plan's own word (事業 …)
_STAGE = re.compile(r"^(?:(before)_(\d+)|(due)_today|(overdue)_(\d+))$")


LISTED_PROBLEMS = 50


class MessageError(ValueError):
    """A message cannot be rendered: unknown kind, missing or unknown variables, a bad value."""


class _Mrkdwn(str):
    """Text our own filters produced and already escaped; printed as is."""


def escape_mrkdwn(text: str) -> str:
    """Slack's escaping for message text: only &, < and > are control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _finalize(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, _Mrkdwn):
        return value
    return escape_mrkdwn(str(value))


def _date_ja(day: date) -> str:
    if not isinstance(day, date):
        raise MessageError(f"日付が必要です: {day!r}")
    if isinstance(day, datetime):
        day = day.date()
    return f"{wareki_date(day)}（{_WEEKDAYS[day.weekday()]}）"


def _datetime_ja(moment: datetime) -> str:
    if not isinstance(moment, datetime):
        raise MessageError(f"日時が必要です: {moment!r}")
    if moment.tzinfo is not None:
        moment = moment.astimezone(_TOKYO)
    return f"{_date_ja(moment.date())}{moment:%H:%M}"


def _link(url: str, label: str) -> _Mrkdwn:
    """A Slack link <url|label>; a local path (a folder publication) stays plain text."""
    url = str(url)
    if not re.match(r"^https?://", url):
        return _Mrkdwn(escape_mrkdwn(url))
    # '|' would end the URL part of <url|label> early.
    return _Mrkdwn(f"<{escape_mrkdwn(url).replace('|', '%7C')}|{escape_mrkdwn(label)}>")


def _mention(user: str) -> _Mrkdwn:
    """A Slack user ID as a mention (<@U…>); anything else (an e-mail, an office login) as plain text."""
    user = str(user)
    if re.match(r"^[UW][A-Z0-9]{2,}$", user):
        return _Mrkdwn(f"<@{user}>")
    return _Mrkdwn(escape_mrkdwn(user))


def _quote(text: str) -> _Mrkdwn:
    lines = str(text).splitlines() or [""]
    return _Mrkdwn("\n".join(f"> {escape_mrkdwn(line)}" for line in lines))


def _reminder_stage(context: dict) -> dict:
    match = _STAGE.match(str(context["stage"]))
    if not match:
        raise MessageError(
            f"督促の段階 {context['stage']!r} を解釈できません（before_<日数>、due_today、overdue_<回数> のいずれか）")
    before, days_left, due, overdue, count = match.groups()
    phase = before or due or overdue
    today = context["today"]
    return {
        **context,
        "phase": phase,
        "days_left": int(days_left) if days_left else None,
        "overdue_count": int(count) if count else None,
        "days_overdue": (today - context["deadline"]).days if phase == "overdue" and today else None,
    }


def _problem_lines(context: dict) -> dict:
    def line(problem: Any) -> dict:
        if isinstance(problem, str):
            return {"cell": None, "measure": None, "message": problem}
        get = problem.get if isinstance(problem, Mapping) else lambda name: getattr(problem, name, None)
        if not get("message"):
            raise MessageError(f"問題の内容（message）がありません: {problem!r}")
        return {"cell": get("cell"), "measure": get("measure"), "message": get("message")}

    problems = [line(p) for p in context["problems"]]
    if not problems:
        raise MessageError("差し戻しの理由（problems）が空です")
    # Slack cuts a message at 40,000 characters: the first ones are listed, the rest counted.
    return {**context, "problems": problems[:LISTED_PROBLEMS], "more_problems": max(len(problems) - LISTED_PROBLEMS, 0)}


@dataclass(frozen=True)
class Kind:
    """The contract of one template: what the caller passes, and what render() adds."""

    required: tuple[str, ...]
    optional: Mapping[str, Any] = field(default_factory=dict)
    derived: tuple[str, ...] = ()
    prepare: Callable[[dict], dict] | None = None


KINDS: dict[str, Kind] = {
    "request": Kind(("plan", "fiscal_year", "department", "measure_count", "deadline", "filename"),
                    {"submit_to": None, "measure_label": MEASURE_LABEL, "by_mail": False}),
    "reminder": Kind(("plan", "fiscal_year", "department", "deadline", "stage"),
                     {"today": None, "escalation": None, "request_url": None, "submit_to": None, "by_mail": False},
                     derived=("phase", "days_left", "overdue_count", "days_overdue"), prepare=_reminder_stage),
    "rejection": Kind(("plan", "fiscal_year", "department", "filename", "problems"),
                      {"deadline": None, "marked_copy": None, "measure_label": MEASURE_LABEL, "again": False,
                       "by_mail": False},
                      derived=("more_problems",), prepare=_problem_lines),
    "accepted": Kind(("plan", "fiscal_year", "department", "filename", "received_at", "measure_count"),
                     {"version": None, "measure_label": MEASURE_LABEL, "again": False, "by_mail": False}),
    "sender_refused": Kind(("plan", "fiscal_year", "department", "filename", "sender", "reasons", "received_at"),
                           {"link": None}),
    "run_failed": Kind(("plan", "fiscal_year", "flow", "run", "error"),
                       {"run_url": None, "crashed": False, "details": ()}),
    "run_resolved": Kind(("plan", "fiscal_year", "flow", "run"), {"run_url": None, "failures": 1}),
    "preflight": Kind(("plan", "fiscal_year", "ok", "findings")),
    "review_request": Kind(("plan", "fiscal_year", "round", "draft_url", "run_url"),
                           {"missing_departments": (), "discrepancy_count": 0, "expires_at": None,
                            "approvals_needed": 0}),
    "review_code": Kind(("plan", "fiscal_year", "round", "reviewer", "code", "expires_at", "draft_url", "run_url")),
    "review_reminder": Kind(("plan", "fiscal_year", "round", "reviewer", "expires_at", "draft_url"),
                            {"run_url": None}),
    "review_stopped": Kind(("plan", "fiscal_year", "round", "why"),
                           {"failures": 0, "expires_at": None, "approvals_needed": 0, "approved_by": (),
                            "waiting_for": (), "run_url": None}),
    "changes_requested": Kind(("plan", "fiscal_year", "round", "reviewer", "comments"), {"run_url": None}),
    "published": Kind(("plan", "fiscal_year", "pdf_url", "html_url"), {"data_url": None, "index_url": None}),
}


def environment(template_dir: Path = TEMPLATE_DIR) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(template_dir),
        autoescape=False,
        finalize=_finalize,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters.update(wareki_year=wareki_year, date_ja=_date_ja, datetime_ja=_datetime_ja, link=_link,
                       quote=_quote, mention=_mention)
    return env


_ENV = environment()


def render(kind: str, **context: Any) -> str:
    """The text of one message; see docs/notifications.md for each kind's variables."""
    if kind not in KINDS:
        raise MessageError(f"メッセージの種類 {kind!r} はありません（{', '.join(KINDS)}）")
    spec = KINDS[kind]
    missing = [name for name in spec.required if name not in context]
    unknown = sorted(set(context) - set(spec.required) - set(spec.optional))
    if missing or unknown:
        raise MessageError(f"メッセージ {kind}: 不足している変数 {missing}、不明な変数 {unknown}")
    values = {**spec.optional, **context}
    if spec.prepare:
        values = spec.prepare(values)
    text = _ENV.get_template(f"{kind}.txt.j2").render(values)
    return re.sub(r"\n{3,}", "\n\n", text).strip()

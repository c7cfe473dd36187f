"""Preflight: what a year's cycle needs and lacks, before anything is sent.

`tenken check --year Y`, the yearly preflight deployment (weeks before the cycle opens, findings to
the office) and open-cycle (which refuses to open a cycle with errors) all call `preflight`. Errors
stop the cycle from opening; warnings are told but do not (messages that would go to the outbox,
an office channel not named).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tenken.core.errors import DomainError
from tenken.core.wareki import wareki_year
from tenken.settings import Settings

LISTED = 20  # measures and departments named one by one; the rest counted


@dataclass(frozen=True)
class Finding:
    severity: Literal["error", "warning"]
    text: str  # Japanese, naming what to fix and where


@dataclass
class Preflight:
    fiscal_year: int
    plan_name: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def text(self) -> str:
        head = f"{wareki_year(self.fiscal_year)}（{self.fiscal_year}年度）「{self.plan_name}」の点検の事前確認"
        if not self.findings:
            return f"{head}: 問題はありません。開始できます。"
        verdict = "開始できません。次の点を直してください。" if self.errors else "開始できます（注意点があります）。"
        lines = [f"{head}: {verdict}"]
        lines += [f"・{'【要対応】' if f.severity == 'error' else '【注意】'}{f.text}" for f in self.findings]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"fiscal_year": self.fiscal_year, "plan": self.plan_name, "ok": self.ok,
                "findings": [{"severity": f.severity, "text": f.text} for f in self.findings]}


class PreflightFailed(DomainError):
    """The cycle cannot open: the message is the whole list."""


def _listed(keys: list[str]) -> str:
    shown = "、".join(keys[:LISTED])
    return shown + (f" ほか{len(keys) - LISTED}件" if len(keys) > LISTED else "")


def preflight(settings: Settings, fiscal_year: int) -> Preflight:
    """Everything a year's cycle needs, checked without sending or recording anything."""
    from tenken.config import ConfigError, load_cycle_settings, load_directory, load_plan
    from tenken.workbook.layout import departments_on_form

    try:
        plan = load_plan(settings.config_dir)
        directory = load_directory(settings.config_dir)
        config = load_cycle_settings(settings.config_dir)
    except (ConfigError, DomainError, OSError, ValueError) as exc:
        return Preflight(fiscal_year, str(settings.config_dir),
                         [Finding("error", f"計画の設定（{settings.config_dir}）を読み込めません: {exc}")])
    report = Preflight(fiscal_year, plan.name)
    add = report.findings.append
    start, end = plan.period
    year = f"{wareki_year(fiscal_year)}（{fiscal_year}年度）"
    if not start <= fiscal_year <= end:
        add(Finding("error", f"{year}は計画の期間（{wareki_year(start)}〜{wareki_year(end)}）の外です。年度を確認してください。"))
    missing = [m.key for m in plan.measures if _lacks(m, fiscal_year)]
    if missing:
        add(Finding("error", f"{year}の指標・目標が plan.yaml にない{plan.measure_label}が {len(missing)}件あります"
                             f"（{_listed(missing)}）。各{plan.measure_label}の years に {fiscal_year} を追加してください。"))
    asked = departments_on_form(plan, fiscal_year)
    if not asked and not missing:
        add(Finding("error", f"{year}に実績を依頼する{plan.measure_label}がありません。"))
    unreachable = [plan.department(key).name for key in asked if directory.department(key).address is None]
    if unreachable:
        add(Finding("error", f"連絡先（slack または email）のない所属が {len(unreachable)}件あります"
                             f"（{_listed(unreachable)}）。departments.yaml に追加してください。"))
    review = config.review
    if not review.reviewers:
        add(Finding("error", "確認者がいません。cycle.yaml の review.reviewers に、確認コードを受け取る確認者"
                             "（氏名と、Slack の @ユーザー名またはメールアドレス）を設定してください。"))
    nameless = [r.name or "（名前なし）" for r in review.reviewers if r.address is None]
    if nameless:
        add(Finding("error", f"連絡先のない確認者がいます（{_listed(nameless)}）。cycle.yaml の review.reviewers に"
                             "slack または email を設定してください。"))
    if config.office_recipient is None or config.office_recipient.address is None:
        add(Finding("warning", "点検事務局への連絡先がありません（cycle.yaml の office）。"
                               "失敗した実行や受付を拒否したファイルの知らせが届きません。"))
    target = settings.publish_target(config.publish_target)
    if "://" not in target and not _writable(Path(target)):
        add(Finding("error", f"公表先のフォルダ {target} に書き込めません（cycle.yaml の publish_target）。"))
    if _to_outbox(settings):
        add(Finding("warning", "Slack のトークンが設定されていません（SLACK_BOT_TOKEN または Prefect の Secret ブロック"
                               "「tenken-slack-bot-token」）。依頼や督促は送信されず、outbox に書き出されるだけです。"))
    by_mail = [plan.department(key).name for key in asked
               if any(t.startswith("mailto:") for t in directory.department(key).targets)]
    if by_mail and settings.mail_settings() is None:
        add(Finding("warning", f"メールで連絡する所属が {len(by_mail)}件ありますが（{_listed(by_mail)}）、メールサーバーが"
                               "設定されていません（TENKEN_SMTP_HOST）。依頼は outbox に書き出されるだけです。"))
    elif by_mail and not settings.mail_settings().imap_host:
        add(Finding("warning", f"メールで提出する所属が {len(by_mail)}件ありますが、受信用メールボックス（TENKEN_IMAP_HOST）が"
                               "設定されていないため、返信された調書は取り込まれません。"))
    return report


def _to_outbox(settings: Settings) -> bool:
    from tenken.notify import OutboxNotifier

    try:
        return isinstance(settings.notifier().chat, OutboxNotifier)
    except Exception:  # noqa: BLE001 — a Secret block that cannot be read is no token either
        return True


def _lacks(measure, fiscal_year: int) -> bool:
    """A measure running that year with no entry for it: not one that starts later in the plan (its first
    year is after), nor one whose work finished in an earlier year."""
    if fiscal_year in measure.years:
        return False
    if measure.years and min(measure.years) > fiscal_year:
        return False
    return not any(year < fiscal_year and plan.status == "finished" for year, plan in measure.years.items())


def _writable(path: Path) -> bool:
    """Whether a folder can be made or written there (the nearest existing folder decides)."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate.is_dir() and os.access(candidate, os.W_OK | os.X_OK)
    return False


def require(settings: Settings, fiscal_year: int) -> Preflight:
    """The preflight, raising PreflightFailed (its whole list as the message) when the cycle cannot open."""
    checked = preflight(settings, fiscal_year)
    if not checked.ok:
        raise PreflightFailed(checked.text())
    return checked

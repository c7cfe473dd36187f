"""Departments and reviewers without Slack take part by mail, both ways, sender-checked.

Real parts: an SMTP server (aiosmtpd, tenken_demo.mail_standin) that stores what tenken sends and
delivers mail for the office's mailbox into a real dovecot IMAP server (tenken_demo.imap_server) in a
temporary folder; slack-sdk against the Slack stand-in for the departments that stay on Slack; a
SQLite ledger; the city plan's real workbooks. 消防局 (fire) is mail-only; the others are on Slack.
"""

from __future__ import annotations

import re
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid
from email.policy import SMTP
from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr

from tenken.config import load_results
from tenken.notify import SlackNotifier
from tenken.notify.mail import MailNotifier
from tenken.notify.mailbox import parse_mail
from tenken.notify.routing import RoutingNotifier
from tenken.services import Cycle, collecting, compiling, opening, reviewing
from tenken.settings import Settings
from tenken.workbook.writer import request_file_name
from tenken_demo.imap_server import ImapServer, dovecot_missing
from tenken_demo.mail_standin import MailStandIn
from tests.conftest import TEST_SUBMISSION_KEY
from tests.flows.conftest import FAST_RETRIES, standin_for
from tests.services.test_sending import DEADLINE, YEAR, city_config

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
OFFICE_BOX = "tenken@city.example.jp"
FIRE = "fire@city.example.jp"
REVIEWER = "hanako@city.example.jp"


@pytest.fixture
def mail(tmp_path):
    """The office's mailbox on dovecot, an SMTP server delivering into it, and the city cycle opened with
    消防局 and the reviewer on mail."""
    assert not dovecot_missing(), dovecot_missing()  # `make mail-packages`; never skipped
    config = city_config(tmp_path)
    departments = yaml.safe_load((config / "departments.yaml").read_text(encoding="utf-8"))
    for entry in departments["departments"]:
        if entry["key"] == "fire":
            entry.pop("slack", None)
            entry.update(email=FIRE, via="email")
    (config / "departments.yaml").write_text(yaml.safe_dump(departments, allow_unicode=True), encoding="utf-8")
    cycle_yaml = yaml.safe_load((config / "cycle.yaml").read_text(encoding="utf-8"))
    cycle_yaml["review"]["reviewers"] = [{"name": "審査 花子", "email": REVIEWER}]
    cycle_yaml.update(office="#digital", mail_signature="みなと市 デジタル課 点検担当（内線 1234）")
    (config / "cycle.yaml").write_text(yaml.safe_dump(cycle_yaml, allow_unicode=True), encoding="utf-8")

    with ImapServer(users={"tenken": "secret"}) as imap:
        def deliver(recipient: str, raw: bytes) -> None:
            if recipient.lower() == OFFICE_BOX:
                imap.deliver("tenken", raw)

        with MailStandIn(deliver=deliver, login=("tenken", "secret")) as smtp, standin_for(config) as slack:
            var = tmp_path / "var"
            settings = Settings(var_dir=var, database_url=f"sqlite:///{var / 'tenken.db'}",
                                submission_key=TEST_SUBMISSION_KEY, config_dir=config,
                                mail={"mail_address": OFFICE_BOX, "smtp_host": smtp.host, "smtp_port": str(smtp.port),
                                      "smtp_security": "none", "imap_host": imap.host, "imap_port": str(imap.port),
                                      "imap_security": "none", "mail_user": "tenken"},
                                mail_password=SecretStr("secret"))
            notifier = RoutingNotifier(SlackNotifier(slack.token, base_url=slack.base_url, retry_interval=FAST_RETRIES),
                                       MailNotifier(settings.mail_settings(), retry_wait=0))
            with settings.open_ledger() as ledger:
                cycle = Cycle.build(settings, YEAR, ledger, notifier)
                opening.send_requests(cycle, opening.open_cycle(cycle))
                yield cycle, smtp, imap, slack, tmp_path


def filled_workbook(cycle, department: str, folder: Path) -> Path:
    written = opening.write_request_files(cycle.plan, YEAR, folder, DEADLINE, departments=[department],
                                          filled=load_results(cycle.settings.config_dir, YEAR),
                                          signer=cycle.signer)
    return written[department]


def reply(smtp, sender: str, to_message, attachment: Path | None, *, subject: str | None = None,
          filename: str | None = None, charset: str = "utf-8") -> str:
    """A department's mail client answers tenken's mail, with the form attached."""
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = OFFICE_BOX
    message["Subject"] = subject or f"Re: {to_message.subject}"
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    if to_message is not None:
        message["In-Reply-To"] = to_message.message_id
        message["References"] = to_message.message_id
    message.set_content("記入しましたので提出します。", charset=charset)
    if attachment is not None:
        message.add_attachment(attachment.read_bytes(), maintype="application",
                               subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                               filename=filename or attachment.name)
    with smtplib.SMTP(smtp.host, smtp.port) as client:  # the department's own mail server, as it were
        client.login("tenken", "secret")
        client.send_message(message)
    return message["Message-ID"] or ""


def test_a_mail_only_department_gets_its_request_by_mail_with_the_workbook_and_the_others_on_slack(mail):
    cycle, smtp, imap, slack, _ = mail

    [request] = smtp.messages_to(FIRE)
    assert "点検調書の提出のお願い" in request.subject
    assert [a.get_filename() for a in request.attachments] == [request_file_name(YEAR, "fire")]
    assert "消防局" in request.text and "みなと市 デジタル課 点検担当" in request.text, "the office's signature"
    assert "<http" not in request.text, "plain text, no Slack markup"
    assert "このメールに、記入済みのファイルを添付して返信" in request.text and "スレッド" not in request.text
    assert not slack.messages_to("#fire") and slack.messages_to("#crisis"), "Slack for the others only"
    [record] = [r for r in cycle.ledger.requests(YEAR) if r.department == "fire"]
    assert record.status == "sent"


def test_a_reply_with_the_workbook_is_accepted_answered_in_the_conversation_and_taken_once(mail):
    cycle, smtp, imap, slack, tmp = mail
    [request] = smtp.messages_to(FIRE)
    sent_id = reply(smtp, FIRE, request, filled_workbook(cycle, "fire", tmp / "filled"))

    report = collecting.collect(cycle)

    assert [(a["department"], a["via"]) for a in report.accepted] == [("fire", "mail")]
    [latest] = [s for s in cycle.ledger.submissions(YEAR) if s.department == "fire"]
    assert (latest.version, latest.channel, latest.origin.user) == (1, "mail", FIRE)
    [answer] = [m for m in smtp.messages_to(FIRE) if m is not request]
    assert answer.message["In-Reply-To"] == sent_id and answer.subject == f"Re: {request.subject}", "same thread"
    assert "受け付けました" in answer.text and "第1版" in answer.text and "スレッド" not in answer.text

    again = collecting.collect(cycle)  # a rerun: the reply was moved to the taken folder
    assert again.accepted == [] and again.rejected == [] and len(smtp.messages_to(FIRE)) == 2
    assert len(cycle.ledger.submissions(YEAR)) == 1


def test_the_same_reply_seen_again_after_a_crash_before_it_was_moved_is_not_taken_twice(mail):
    cycle, smtp, imap, slack, tmp = mail
    [request] = smtp.messages_to(FIRE)
    reply(smtp, FIRE, request, filled_workbook(cycle, "fire", tmp / "filled"))
    raw = smtp.messages_to(OFFICE_BOX)[-1].raw
    collecting.collect(cycle)
    imap.deliver("tenken", raw)  # the move never happened: the same mail is in the inbox again

    again = collecting.collect(cycle)

    assert again.accepted == [] and again.rejected == []
    assert len(cycle.ledger.submissions(YEAR)) == 1 and len(smtp.messages_to(FIRE)) == 2


def test_a_reply_from_an_unregistered_address_is_refused_the_office_told_and_nobody_answered(mail):
    cycle, smtp, imap, slack, tmp = mail
    [request] = smtp.messages_to(FIRE)
    reply(smtp, "someone@evil.example", request, filled_workbook(cycle, "fire", tmp / "filled"))

    report = collecting.collect(cycle)

    assert report.accepted == [] and len(report.rejected) == 1
    assert not [s for s in cycle.ledger.submissions(YEAR) if s.department == "fire" and s.accepted]
    assert not smtp.messages_to("someone@evil.example"), "tenken does not write to unknown addresses"
    office = [m.text for m in slack.messages_to("#digital") if "someone@evil.example" in m.text]
    assert len(office) == 1 and "登録されていない" in office[0]


def test_another_departments_workbook_from_a_registered_address_is_refused_and_answered(mail):
    cycle, smtp, imap, slack, tmp = mail
    [request] = smtp.messages_to(FIRE)
    reply(smtp, FIRE, request, filled_workbook(cycle, "crisis", tmp / "filled"))

    report = collecting.collect(cycle)

    assert report.accepted == [] and len(report.rejected) == 1
    assert cycle.ledger.department_status(YEAR).get("fire") is None or \
        cycle.ledger.department_status(YEAR)["fire"].latest is None
    answer = [m for m in smtp.messages_to(FIRE) if m is not request]
    assert len(answer) == 1 and "受け付けできませんでした" in answer[0].text and "自所属の依頼ファイル" in answer[0].text
    assert any("消防局" in m.text for m in slack.messages_to("#digital")), "the office is told"


def test_japanese_mail_clients_encodings_are_read_and_a_mail_without_a_form_is_left_for_a_person(mail):
    cycle, smtp, imap, slack, tmp = mail
    [request] = smtp.messages_to(FIRE)
    reply(smtp, FIRE, None, None, subject="点検の記入方法について質問です")
    reply(smtp, FIRE, request, filled_workbook(cycle, "fire", tmp / "filled"), filename="消防局 点検調書.xlsx",
          subject="Re: 点検調書（消防局）", charset="iso-2022-jp")

    report = collecting.collect(cycle)

    assert [a["department"] for a in report.accepted] == ["fire"]
    [record] = [s for s in cycle.ledger.submissions(YEAR) if s.department == "fire"]
    assert record.file_name == "消防局 点検調書.xlsx"
    from tenken.notify.mailbox import Mailbox

    with Mailbox(cycle.settings.mail_settings()) as box:
        assert [m.subject for m in box.messages()] == [], "the question is left (flagged), the reply taken"
    inbox = list((imap.maildir("tenken") / "new").iterdir()) + list((imap.maildir("tenken") / "cur").iterdir())
    assert len(inbox) == 1, "only the question stays in the inbox, for a person"
    assert "質問です" in parse_mail(inbox[0].read_bytes()).subject


def test_a_mail_only_reviewer_gets_the_code_by_mail_and_it_decides(mail):
    cycle, smtp, imap, slack, tmp = mail
    compiled = compiling.compile_draft(cycle, 1)
    reviewing.open_round(cycle, compiled, "http://ui.example/runs/flow-run/1")

    [code_mail] = smtp.messages_to(REVIEWER)
    assert "確認コード" in code_mail.subject
    code = re.search(r"確認コード：([2-9A-Z]{4}-[2-9A-Z]{4})", code_mail.text).group(1)
    assert code not in " ".join(m.text for m in slack.messages_to("#digital"))

    answered = reviewing.answer(cycle, 1, "approve", code, "確認しました。", "")

    assert answered.accepted and answered.reviewer == "審査 花子"
    assert reviewing.round_state(cycle, 1).status == "approved"

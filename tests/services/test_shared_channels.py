"""Two plans, one office: one ledger, one var folder, the same Slack conversations and the one mailbox.
One plan's collection never takes, refuses, answers or moves what belongs to the other.

Plan A is the bundled Kanagawa plan (FY2020, as shipped); plan B a copy of the city plan (FY2024) whose
危機管理課 (crisis) keeps its Slack channel in Kanagawa 観光課's #tenken-tourism, whose 消防局 (fire) is
asked by mail at Kanagawa 観光課's address (tourism@example.jp, registered in A as 観光課's), and whose
市民安全課 (safety) is asked by mail at an address A does not know. Real parts as in
test_slack_collect / test_mail_round_trip: slack-sdk against the stand-in, dovecot and an SMTP server.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr

from tenken.config import load_cycle_settings, load_directory, load_results
from tenken.notify import SlackNotifier
from tenken.notify.mail import MailNotifier
from tenken.notify.mailbox import Mailbox
from tenken.notify.routing import RoutingNotifier
from tenken.services import Cycle, collecting, opening
from tenken.settings import Settings
from tenken_demo.imap_server import ImapServer, dovecot_missing
from tenken_demo.mail_standin import MailStandIn
from tenken_demo.slack_standin import SlackStandIn, clerk_of
from tests.conftest import TEST_SUBMISSION_KEY
from tests.flows.conftest import FAST_RETRIES, KANAGAWA, standin_for
from tests.services.test_mail_round_trip import OFFICE_BOX, filled_workbook
from tests.services.test_mail_round_trip import reply as mail_reply
from tests.services.test_sending import YEAR as B_YEAR
from tests.services.test_sending import city_config
from tests.services.test_slack_collect import filled as b_form
from tests.services.test_slack_collect import in_thread

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
A_YEAR = 2020
A_ASKED = ("tourism", "digital-strategy")  # Kanagawa's departments asked in these tests (not all 34: time)
SHARED_CHANNEL = "#tenken-tourism"  # Kanagawa 観光課's; B's 危機管理課 too
SHARED_ADDRESS = "tourism@example.jp"  # Kanagawa 観光課's (registered, asked on Slack); B asks 消防局 here by mail
B_ONLY_ADDRESS = "safety@city.example.jp"  # B's 市民安全課, by mail; unknown to A


@dataclass
class Office:
    a: Cycle  # Kanagawa FY2020
    b: Cycle  # the city plan FY2024
    slack: SlackStandIn
    smtp: MailStandIn
    imap: ImapServer
    tmp: Path


def b_config(tmp_path: Path) -> Path:
    config = city_config(tmp_path)
    plan = yaml.safe_load((config / "plan.yaml").read_text(encoding="utf-8"))
    plan["plan"]["id"] = "city"
    (config / "plan.yaml").write_text(yaml.safe_dump(plan, allow_unicode=True), encoding="utf-8")
    departments = yaml.safe_load((config / "departments.yaml").read_text(encoding="utf-8"))
    for entry in departments["departments"]:
        if entry["key"] == "crisis":
            entry["slack"] = SHARED_CHANNEL
        elif entry["key"] in ("fire", "safety"):
            entry.pop("slack", None)
            entry.update(email=SHARED_ADDRESS if entry["key"] == "fire" else B_ONLY_ADDRESS, via="email")
    (config / "departments.yaml").write_text(yaml.safe_dump(departments, allow_unicode=True), encoding="utf-8")
    return config


def workspace_for_both(a: Path, b: Path) -> SlackStandIn:
    """Kanagawa's workspace (tenken_demo's) with what the city plan names besides: its channels and clerks."""
    slack = standin_for(a)
    directory, settings = load_directory(b), load_cycle_settings(b)
    recipients = [*directory.departments.values(), *directory.escalations.values(), settings.review.channel,
                  settings.announce_channel, settings.office]
    for target in {r.slack for r in recipients if r is not None and r.slack}:
        if target.startswith("#") and target != SHARED_CHANNEL:
            slack.add_channel(target)
        elif target.startswith("@"):
            slack.add_user(target[1:], email=f"{target[1:]}@example.jp", display_name=target[1:])
    for key in directory.departments:
        slack.add_user(clerk_of(key), email=f"{clerk_of(key)}@example.jp", display_name=clerk_of(key))
    return slack


@pytest.fixture
def office(tmp_path):
    """Both plans' cycles opened on one ledger and one var folder, their requests sent (A's on Slack, B's
    on Slack and by mail), one Slack workspace and the office's one mailbox."""
    assert not dovecot_missing(), dovecot_missing()  # `make mail-packages`; never skipped
    city = b_config(tmp_path)
    var = tmp_path / "var"
    with ImapServer(users={"tenken": "secret"}) as imap:
        def deliver(recipient: str, raw: bytes) -> None:
            if recipient.lower() == OFFICE_BOX:
                imap.deliver("tenken", raw)

        with MailStandIn(deliver=deliver, login=("tenken", "secret")) as smtp, workspace_for_both(KANAGAWA, city) as slack:
            def settings(config: Path) -> Settings:
                return Settings(var_dir=var, database_url=f"sqlite:///{var / 'tenken.db'}",
                                submission_key=TEST_SUBMISSION_KEY, config_dir=config,
                                mail={"mail_address": OFFICE_BOX, "smtp_host": smtp.host, "smtp_port": str(smtp.port),
                                      "smtp_security": "none", "imap_host": imap.host, "imap_port": str(imap.port),
                                      "imap_security": "none", "mail_user": "tenken"},
                                mail_password=SecretStr("secret"))

            def notifier(s: Settings) -> RoutingNotifier:
                return RoutingNotifier(SlackNotifier(slack.token, base_url=slack.base_url, retry_interval=FAST_RETRIES),
                                       MailNotifier(s.mail_settings(), retry_wait=0))

            a_settings, b_settings = settings(KANAGAWA), settings(city)
            with a_settings.open_ledger() as a_ledger, b_settings.open_ledger() as b_ledger:
                a = Cycle.build(a_settings, A_YEAR, a_ledger, notifier(a_settings))
                b = Cycle.build(b_settings, B_YEAR, b_ledger, notifier(b_settings))
                opening.send_requests(a, opening.open_cycle(a, departments=A_ASKED))
                opening.send_requests(b, opening.open_cycle(b))
                yield Office(a, b, slack, smtp, imap, tmp_path)


def a_form(cycle: Cycle, department: str, folder: Path, token: bool = True) -> Path:
    """A Kanagawa department's request workbook filled in from the example, with its own token (or none)."""
    return opening.write_request_files(cycle.plan, cycle.fiscal_year, folder, cycle.deadline, departments=[department],
                                       filled=load_results(cycle.settings.config_dir, cycle.fiscal_year),
                                       signer=cycle.signer if token else None)[department]


def request_thread(cycle: Cycle, department: str) -> tuple[str, str]:
    """(conversation, ts) of the department's request in the cycle (test_slack_collect's thread_of, any year)."""
    [record] = [r for r in cycle.ledger.requests(cycle.fiscal_year) if r.department == department]
    channel, ts = record.message_ref.split("/")
    return channel, ts


def answers(slack: SlackStandIn, message) -> Counter:
    """The bot's answers in a file's thread, by kind."""
    return Counter(m.key.split("/")[2] for m in in_thread(slack, message) if m.key and "/" in m.key)  # plan/year/kind/…


def office_notices(slack: SlackStandIn, channel: str) -> list:
    return [m for m in slack.messages_to(channel) if m.key and "/sender-refused/" in m.key]


def submitted(cycle: Cycle) -> list[tuple[str | None, str, bool]]:
    return sorted((s.department, s.channel, s.accepted) for s in cycle.ledger.submissions(cycle.fiscal_year))


def inbox(office: Office) -> list[str]:
    """Subjects of the mails in the INBOX that no run moved or flagged (Mailbox skips $TenkenLeft)."""
    with Mailbox(office.a.settings.mail_settings()) as box:
        return [m.subject for m in box.messages()]


# ------------------------------------------------------------------------------------------------ Slack


def test_the_shared_channel_really_carries_both_plans_requests(office):
    a_channel, _ = request_thread(office.a, "tourism")
    b_channel, _ = request_thread(office.b, "crisis")
    assert a_channel == b_channel == office.slack.channel_id(SHARED_CHANNEL)
    assert {p for p, _, _ in office.a.ledger.other_plans_requests()} == {"city"}
    assert {p for p, _, _ in office.b.ledger.other_plans_requests()} == {"kanagawa"}


def test_a_reply_in_the_other_plans_thread_is_left_by_one_plan_and_taken_by_its_own(office):
    a, b, slack = office.a, office.b, office.slack
    channel, b_ts = request_thread(b, "crisis")
    _, a_ts = request_thread(a, "tourism")
    b_posted = slack.post_file(clerk_of("crisis"), channel, "危機管理課.xlsx", b_form(b, "crisis"), thread_ts=b_ts)
    a_posted = slack.post_file(clerk_of("tourism"), channel, "観光課.xlsx",
                               a_form(a, "tourism", office.tmp / "a").read_bytes(), thread_ts=a_ts)

    a_report = collecting.collect(a)

    assert [(e["department"], e["via"]) for e in a_report.accepted] == [("tourism", "slack")]
    assert a_report.rejected == a_report.failed == []
    assert [x.ref for x in a.ledger.arrivals(A_YEAR, "slack")] == [a_posted.files[0]], "B's file is not claimed"
    assert answers(slack, b_posted) == Counter(), "nothing said in B's thread"
    assert office_notices(slack, "#tenken-office") == []
    assert not slack.downloads(b_posted.files[0]), "not even read"

    b_report = collecting.collect(b)

    assert [(e["department"], e["via"]) for e in b_report.accepted] == [("crisis", "slack")]
    assert b_report.rejected == b_report.failed == []
    assert [x.ref for x in b.ledger.arrivals(B_YEAR, "slack")] == [b_posted.files[0]]

    for cycle in (a, b, a, b):  # reruns, in either order: nothing new, nothing said twice
        again = collecting.collect(cycle)
        assert again.accepted == again.rejected == again.failed == []
    assert answers(slack, b_posted) == Counter({"accepted": 1})
    assert answers(slack, a_posted) == Counter({"accepted": 1})
    assert submitted(a) == [("tourism", "slack", True)]
    assert submitted(b) == [("crisis", "slack", True)]
    assert office_notices(slack, "#tenken-office") == office_notices(slack, "#digital") == []


def test_top_level_files_in_a_shared_channel_go_to_the_plan_whose_token_they_carry(office):
    a, b, slack = office.a, office.b, office.slack
    channel = slack.channel_id(SHARED_CHANNEL)
    b_top = slack.post_file(clerk_of("crisis"), channel, "危機管理課.xlsx", b_form(b, "crisis"))
    a_top = slack.post_file(clerk_of("tourism"), channel, "観光課.xlsx",
                            a_form(a, "tourism", office.tmp / "a").read_bytes())
    nobodys = slack.post_file(clerk_of("tourism"), channel, "メモ.xlsx", b_form(b, "crisis", token=None))

    a_report = collecting.collect(a)

    assert [e["department"] for e in a_report.accepted] == ["tourism"] and a_report.rejected == []
    assert [x.ref for x in a.ledger.arrivals(A_YEAR, "slack")] == [a_top.files[0]]
    assert answers(slack, b_top) == answers(slack, nobodys) == Counter(), "no refusal, no answer"

    b_report = collecting.collect(b)

    assert [e["department"] for e in b_report.accepted] == ["crisis"] and b_report.rejected == []
    assert [x.ref for x in b.ledger.arrivals(B_YEAR, "slack")] == [b_top.files[0]]
    for cycle in (a, b):
        assert collecting.collect(cycle).accepted == []
    assert answers(slack, a_top) == answers(slack, b_top) == Counter({"accepted": 1})
    assert answers(slack, nobodys) == Counter(), "a file neither plan's token marks is nobody's to refuse"
    assert office_notices(slack, "#tenken-office") == office_notices(slack, "#digital") == []
    assert submitted(a) == [("tourism", "slack", True)] and submitted(b) == [("crisis", "slack", True)]


def test_in_a_conversation_only_one_plan_uses_a_stray_file_is_refused_and_answered_as_ever(office):
    a, slack = office.a, office.slack
    stray = slack.post_file(clerk_of("digital-strategy"), "#tenken-digital-strategy", "メモ.xlsx",
                            a_form(a, "digital-strategy", office.tmp / "a", token=False).read_bytes())

    report = collecting.collect(a)

    assert [e["department"] for e in report.rejected] == ["digital-strategy"]
    assert answers(slack, stray) == Counter({"rejection": 1})
    assert office_notices(slack, "#tenken-office"), "the office hears of it"


# ------------------------------------------------------------------------------------------------- mail


def test_a_mail_reply_to_the_other_plans_request_stays_in_the_inbox_until_its_own_plan_takes_it(office):
    a, b, smtp = office.a, office.b, office.smtp
    [request] = smtp.messages_to(SHARED_ADDRESS)  # B's request to 消防局; A asked 観光課 on Slack
    assert "消防局" in request.text
    mail_reply(smtp, SHARED_ADDRESS, request, filled_workbook(b, "fire", office.tmp / "b"))
    mail_reply(smtp, SHARED_ADDRESS, request, None, subject="Re: 記入方法の質問")  # a question: no form

    a_report = collecting.collect(a)

    assert a_report.accepted == a_report.rejected == a_report.failed == []
    assert sorted(inbox(office)) == sorted([f"Re: {request.subject}", "Re: 記入方法の質問"]), \
        "neither moved nor flagged"
    assert a.ledger.arrivals(A_YEAR, "mail") == [] and submitted(a) == []
    assert len(smtp.messages_to(SHARED_ADDRESS)) == 1, "A answered nothing"
    assert office_notices(office.slack, "#tenken-office") == []

    b_report = collecting.collect(b)

    assert [(e["department"], e["via"]) for e in b_report.accepted] == [("fire", "mail")]
    assert inbox(office) == [], "B took its reply and left its question for a person"
    for cycle in (a, b):
        assert collecting.collect(cycle).accepted == []
    [answer] = [m for m in smtp.messages_to(SHARED_ADDRESS) if m is not request]
    assert "受け付けました" in answer.text
    assert submitted(a) == [] and submitted(b) == [("fire", "mail", True)]


def test_a_mail_from_an_address_only_the_other_plan_asked_is_left_for_it(office):
    a, b, smtp = office.a, office.b, office.smtp
    mail_reply(smtp, B_ONLY_ADDRESS, None, filled_workbook(b, "safety", office.tmp / "b"), subject="提出します")

    a_report = collecting.collect(a)

    assert a_report.accepted == a_report.rejected == a_report.failed == []
    assert inbox(office) == ["提出します"], "not refused as an unknown sender, not moved"
    assert office_notices(office.slack, "#tenken-office") == [] and submitted(a) == []

    b_report = collecting.collect(b)

    assert [e["department"] for e in b_report.accepted] == ["safety"] and inbox(office) == []
    assert len([m for m in smtp.messages_to(B_ONLY_ADDRESS) if "受け付けました" in m.text]) == 1


def test_a_new_mail_from_an_address_both_plans_know_goes_to_the_plan_whose_token_it_carries(office):
    a, b, smtp = office.a, office.b, office.smtp
    # tourism@ is Kanagawa 観光課's registered address, and the city asked its 消防局 there: a new mail
    # (no In-Reply-To) with the city's form is the city's, whichever plan's run reads it first.
    mail_reply(smtp, SHARED_ADDRESS, None, filled_workbook(b, "fire", office.tmp / "b"), subject="消防局の提出")

    assert collecting.collect(a).accepted == [] and inbox(office) == ["消防局の提出"]
    assert len(smtp.messages_to(SHARED_ADDRESS)) == 1 and submitted(a) == []

    assert [e["department"] for e in collecting.collect(b).accepted] == ["fire"] and inbox(office) == []
    assert submitted(b) == [("fire", "mail", True)]


def test_a_mail_names_every_message_it_answers_whatever_its_client_wrote():
    from tenken.notify.mailbox import parse_mail

    mail = parse_mail(b"From: fire@city.example.jp\r\nMessage-ID: <r@city.example.jp>\r\n"
                      b"In-Reply-To: <tenken.b@example.jp> <other@x>\r\n"
                      b"References: <root@x>\r\n <tenken.b@example.jp>\r\nReferences: <late@x>\r\n\r\nbody\r\n")
    bare = parse_mail(b"From: fire@city.example.jp\r\nIn-Reply-To: tenken.b@example.jp\r\n\r\nbody\r\n")

    assert mail.in_reply_to == "<tenken.b@example.jp>" and mail.references == ("<root@x>", "<tenken.b@example.jp>")
    assert mail.replied_to == ("<tenken.b@example.jp>", "<other@x>", "<root@x>", "<late@x>")
    assert bare.in_reply_to == "<tenken.b@example.jp>" and bare.replied_to == ("<tenken.b@example.jp>",)

"""Mail out: MailNotifier against the aiosmtpd stand-in on loopback (real SMTP, no TLS)."""

import imaplib
import re
import signal
import socket
import subprocess
import sys
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.parser import BytesParser

import pytest

from tenken.notify import KINDS, NotificationError, render
from tenken.notify.mail import (
    DEFAULT_SUBJECT,
    SUBJECTS,
    MailNotifier,
    mail_address,
    message_id,
    plain_text,
    subject_for,
)
from tenken.notify.mail_settings import MailSettings
from tenken_demo.mail_standin import MailStandIn

OFFICE = "tenken@pref.example.jp"
KANKO = "kanko@pref.example.jp"
WORKBOOK = "令和2年度点検調書_観光課.xlsx"
SIGNATURE = "〇〇県 総合政策部 企画課（点検事務局）\n電話 000-000-0000"


@pytest.fixture
def mail():
    with MailStandIn() as standin:
        yield standin


@pytest.fixture
def sleeps():
    return []


def settings_for(standin, **changes):
    values = {"address": OFFICE, "smtp_host": standin.host, "smtp_port": standin.port, "smtp_security": "none",
              "signature": SIGNATURE, "timeout": 5.0}
    return MailSettings(**{**values, **changes})


@pytest.fixture
def notifier(mail, sleeps):
    return MailNotifier(settings_for(mail), retries=3, retry_wait=0.5, sleep=sleeps.append)


@pytest.fixture
def workbook(tmp_path):
    path = tmp_path / WORKBOOK
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    return path


def header_text(raw: bytes) -> str:
    return raw.split(b"\r\n\r\n", 1)[0].decode("ascii")


def test_a_request_with_its_workbook_arrives_once_in_japanese_mail_conventions(mail, notifier, workbook):
    text = ("観光課 ご担当者様\n\n・記入様式：" + WORKBOOK + "\n"
            "*記入済みのファイルをこのメールに返信してください。* 詳しくは <https://example.jp/tenken?a=1&amp;b=2|説明のページ>"
            " と <https://example.jp/faq> をご覧ください（A &amp; B &lt;注&gt;）。\n> 引用の行")

    receipt = notifier.upload(f"mailto:{KANKO}", workbook, key="2020/kanko/request", initial_comment=text,
                              kind="request")

    [received] = mail.messages
    assert received.rcpt_tos == (KANKO,) and received.mail_from == OFFICE
    assert receipt.key == "2020/kanko/request" and receipt.target == f"mailto:{KANKO}"
    assert receipt.channel == KANKO and receipt.file_id is None and receipt.via == "mail"
    assert receipt.ts == received.message_id == message_id("2020/kanko/request", "pref.example.jp")

    message = received.message
    assert message["Subject"] == "[点検] 点検調書の提出のお願い"
    assert message["From"].addresses[0].display_name == "点検事務局"
    assert message["From"].addresses[0].addr_spec == OFFICE and message["To"] == KANKO
    assert message["Date"].datetime.utcoffset().total_seconds() == 9 * 3600
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Tenken-Kind"] == "request" and message["X-Tenken-Key"] == "2020/kanko/request"

    [attachment] = received.attachments
    assert attachment.get_filename() == WORKBOOK
    assert attachment.get_content_type() == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert attachment.get_content() == workbook.read_bytes()

    raw = received.raw
    head = header_text(raw)
    assert "=?utf-8?b?" in head and "点検" not in head  # Subject and From name as RFC 2047 encoded-words
    assert raw.isascii() and all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert "filename*=utf-8''%E4%BB%A4%E5%92%8C2" in raw.decode()  # RFC 2231, one line
    # ... and RFC 2047 in Content-Type's name= for older clients, each word within RFC 2047's 75 characters
    name = re.search(r'name="((?:=\?utf-8\?b\?[A-Za-z0-9+/=]+\?=\s*)+)"', raw.decode()).group(1)
    assert all(len(word) <= 75 for word in name.split())
    assert str(make_header(decode_header(name))) == WORKBOOK

    body = received.message.get_body(preferencelist=("plain",))
    assert body.get_content_type() == "text/plain" and body.get_content_charset() == "utf-8"
    assert body["Content-Transfer-Encoding"] == "base64"
    assert received.text.replace("\r\n", "\n") == (
        "観光課 ご担当者様\n\n・記入様式：" + WORKBOOK + "\n"
        "記入済みのファイルをこのメールに返信してください。 詳しくは 説明のページ（https://example.jp/tenken?a=1&b=2）"
        " と https://example.jp/faq をご覧ください（A & B <注>）。\n> 引用の行\n\n-- \n" + SIGNATURE + "\n")


def test_a_rendered_message_reads_as_plain_text():
    text = render("published", plan="第3次観光振興計画", fiscal_year=2020, pdf_url="https://example.jp/r.pdf",
                  html_url="https://example.jp/r.html")

    plain = plain_text(text)

    assert "PDF を開く（https://example.jp/r.pdf）" in plain and "HTML 版を開く（https://example.jp/r.html）" in plain
    assert "<" not in plain and "&amp;" not in plain


def test_plain_text_converts_mrkdwn_once_and_leaves_the_rest_alone():
    assert plain_text("<https://a.example/x?p=1&amp;q=2|A &amp; B>") == "A & B（https://a.example/x?p=1&q=2）"
    assert plain_text("&amp;lt; は &lt; と書きます") == "&lt; は < と書きます"  # unescaped once, not twice
    assert plain_text("<@U0123ABC> <!here> <#C0123|tenken-review> <mailto:a@example.jp|a@example.jp>") == (
        "@U0123ABC @here tenken-review a@example.jp")
    assert plain_text("・一つ目\n・二つ目\n> 引用\n> 続き") == "・一つ目\n・二つ目\n> 引用\n> 続き"
    assert plain_text("*大事* です、A*B と C*D はそのまま") == "大事 です、A*B と C*D はそのまま"


def test_replies_carry_in_reply_to_and_references_and_answer_the_subject(mail, notifier):
    first = notifier.post(KANKO, "依頼です", key="2020/kanko/request", kind="request")
    notifier.post(KANKO, "受け付けました", key="2020/kanko/accepted/1", kind="accepted", thread_ts=first.ts)

    reply = mail.messages[1].message
    assert reply["In-Reply-To"] == first.ts and reply["References"] == first.ts
    assert reply["Subject"] == "Re: [点検] 点検調書の提出のお願い"

    # A message this notifier did not send (and no IMAP to look it up in): the kind's own subject.
    other = MailNotifier(notifier.settings, sleep=lambda _: None)
    other.post(KANKO, "受け付けました", key="2020/kanko/accepted/2", kind="accepted",
               thread_ts="CAF1234@mail.example.jp")
    answer = mail.messages[2].message
    assert answer["In-Reply-To"] == "<CAF1234@mail.example.jp>" == answer["References"]
    assert answer["Subject"] == "[点検] 点検調書を受け付けました"

    # A Slack ts is no Message-ID: the mail starts a thread of its own.
    notifier.post(KANKO, "受け付けました", key="2020/kanko/accepted/3", kind="accepted", thread_ts="1700000000.000100")
    assert "In-Reply-To" not in mail.messages[3].message and "References" not in mail.messages[3].message


def test_the_message_id_is_the_keys_so_a_message_sent_again_is_the_same_message(mail, notifier):
    assert re.fullmatch(r"<tenken\.[0-9a-f]{40}@pref\.example\.jp>", message_id("k", "pref.example.jp"))
    assert message_id("k", "pref.example.jp") == message_id("k", "pref.example.jp") != message_id("k2", "pref.example.jp")

    one = notifier.post(KANKO, "本文", key="2020/kanko/reminder/overdue_1", kind="reminder")
    two = notifier.post(KANKO, "本文", key="2020/kanko/reminder/overdue_1", kind="reminder")

    assert one.ts == two.ts == mail.messages[0].message_id == mail.messages[1].message_id


def test_temporary_failures_are_retried_with_backoff_and_the_message_arrives_once(mail, notifier, sleeps):
    mail.fail_next(2)  # DATA: 451 twice

    notifier.post(KANKO, "本文", key="k", kind="reminder")

    assert len(mail.messages) == 1 and sleeps == [0.5, 1.0]

    mail.fail_next(1, 450, "4.2.1 greylisted, come back later", at="RCPT")
    notifier.post(KANKO, "本文", key="k2", kind="reminder")
    assert len(mail.messages) == 2 and sleeps == [0.5, 1.0, 0.5]


def test_a_temporary_failure_that_lasts_fails_after_the_retries(mail, notifier, sleeps):
    mail.fail_next(10)

    with pytest.raises(NotificationError, match="再試行 3 回") as raised:
        notifier.post(KANKO, "本文", key="k", kind="reminder")

    assert mail.messages == [] and sleeps == [0.5, 1.0, 2.0]
    assert "451 4.3.0 try again later" in str(raised.value) and raised.value.target == KANKO


def test_a_permanent_failure_fails_at_once(mail, notifier, sleeps):
    mail.fail_next(1, 554, "5.7.1 message content rejected")

    with pytest.raises(NotificationError, match="554 5.7.1 message content rejected"):
        notifier.post(KANKO, "本文", key="k", kind="reminder")

    assert mail.messages == [] and sleeps == []


def test_a_refused_recipient_is_named(mail, notifier, sleeps):
    mail.refuse("nobody@pref.example.jp")

    with pytest.raises(NotificationError, match="nobody@pref.example.jp") as raised:
        notifier.post("mailto:nobody@pref.example.jp", "本文", key="k", kind="reminder")

    assert "550" in str(raised.value) and "宛先が受け付けられませんでした" in str(raised.value)
    assert mail.messages == [] and sleeps == []


def test_without_imap_find_knows_nothing_and_there_are_no_permalinks(notifier):
    notifier.post(KANKO, "本文", key="k", kind="reminder")

    assert notifier.find(f"mailto:{KANKO}", "k") is None
    assert notifier.permalink(KANKO, message_id("k", "pref.example.jp")) is None


@pytest.mark.parametrize("target", ["#tenken-tourism", "U0123ABC", "mailto:", "kanko@localhost", "kanko",
                                    "kanko@pref.example.jp\r\nBcc: all@pref.example.jp", "観光@pref.example.jp"])
def test_targets_other_than_an_address_are_refused(notifier, mail, target):
    with pytest.raises(NotificationError, match="メールの送信先"):
        notifier.post(target, "本文", key="k")
    assert mail.messages == []


def test_targets_read_mailto_and_bare_addresses():
    assert mail_address("mailto:kanko@pref.example.jp") == mail_address(" kanko@pref.example.jp ") == KANKO
    assert mail_address("MAILTO:kanko%40pref.example.jp?subject=x") == KANKO


def test_every_message_kind_has_a_subject():
    assert set(KINDS) <= set(SUBJECTS)
    assert subject_for("run_failed") == subject_for("preflight") == "[点検] 点検の処理について（事務局あて）"
    assert subject_for("file") == "[点検] " + DEFAULT_SUBJECT == "[点検] 点検のお知らせ"


def test_an_ascii_attachment_name_and_no_comment(mail, notifier, tmp_path):
    path = tmp_path / "report 2020.pdf"
    path.write_bytes(b"%PDF-1.7")

    notifier.upload(KANKO, path, key="k", title="報告書")

    [attachment] = mail.messages[0].attachments
    assert attachment.get_filename() == "report 2020.pdf" and attachment.get_content_type() == "application/pdf"
    assert 'name="report 2020.pdf"' in mail.messages[0].raw.decode()
    assert mail.messages[0].text.startswith("添付ファイル：報告書")


def test_a_missing_attachment_is_an_error(notifier, tmp_path):
    with pytest.raises(NotificationError, match="添付ファイルがありません"):
        notifier.upload(KANKO, tmp_path / "none.xlsx", key="k")


def test_check_says_where_mail_goes_and_fails_in_japanese_when_it_cannot(mail, notifier):
    assert notifier.check() == f"メール（127.0.0.1:{mail.port}、送信元 {OFFICE}）"

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    nowhere = MailNotifier(settings_for(mail, smtp_port=closed), retries=1, sleep=lambda _: None)
    with pytest.raises(NotificationError, match="接続できませんでした"):
        nowhere.check()


def test_starttls_is_required_when_configured(mail, sleeps):
    notifier = MailNotifier(settings_for(mail, smtp_security="starttls"), sleep=sleeps.append)

    with pytest.raises(NotificationError, match="STARTTLS に対応していません"):
        notifier.post(KANKO, "本文", key="k")

    assert mail.messages == [] and sleeps == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # the stand-in has no TLS
def test_login_when_a_user_is_configured():
    with MailStandIn(login=("tenken", "secret")) as mail:
        MailNotifier(settings_for(mail, username="tenken", password="secret")).post(KANKO, "本文", key="k")
        assert len(mail.messages) == 1

        wrong = MailNotifier(settings_for(mail, username="tenken", password="wrong"), sleep=lambda _: None)
        with pytest.raises(NotificationError, match="ログインに失敗しました（ユーザー tenken）"):
            wrong.post(KANKO, "本文", key="k2")
        without = MailNotifier(settings_for(mail), retries=0)
        with pytest.raises(NotificationError, match="530"):
            without.post(KANKO, "本文", key="k3")
        assert len(mail.messages) == 1


def test_the_standin_writes_maildirs_for_an_imap_server(tmp_path, workbook):
    with MailStandIn(deliver_to=tmp_path / "mail") as mail:
        MailNotifier(settings_for(mail)).upload(KANKO, workbook, key="k", initial_comment="本文", kind="request")

    maildir = tmp_path / "mail" / "kanko" / "Maildir"
    assert {p.name for p in maildir.iterdir()} == {"cur", "new", "tmp"}
    [delivered] = (maildir / "new").iterdir()
    assert not any((maildir / "tmp").iterdir())
    data = delivered.read_bytes()
    assert b"\r\n" not in data and data.startswith(f"Return-Path: <{OFFICE}>\nDelivered-To: {KANKO}\n".encode())
    parsed = BytesParser(policy=policy.default).parsebytes(data)
    assert parsed["Subject"] == "[点検] 点検調書の提出のお願い"
    assert next(parsed.iter_attachments()).get_filename() == WORKBOOK


def test_the_standin_runs_as_a_program_until_sigterm(tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "tenken_demo.mail_standin", "--port", "0",
                                "--maildirs", str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert "not a real mail server" in line
        port = int(re.search(r"smtp://127\.0\.0\.1:(\d+)", line).group(1))
        settings = MailSettings(address=OFFICE, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")
        MailNotifier(settings).post(KANKO, "本文", key="k")
        assert len(list((tmp_path / "kanko" / "Maildir" / "new").iterdir())) == 1
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


# ---------------------------------------------------------------------------------------- with a real IMAP server

@pytest.fixture
def imap():
    from tenken_demo.imap_server import ImapServer, dovecot_missing

    assert not dovecot_missing(), dovecot_missing()  # `make mail-packages` installs it; never skipped
    with ImapServer(users={"tenken": "secret"}) as server:
        yield server


def imap_settings(standin, server, **changes):
    return settings_for(standin, imap_host=server.host, imap_port=server.port, imap_security="none",
                        username="tenken", password="secret", **changes)


def sent_folder(server, folder="Sent"):
    """(flags, Message-ID) of each message in the office's Sent folder."""
    client = imaplib.IMAP4(server.host, server.port)
    try:
        client.login("tenken", "secret")
        assert client.select(f'"{folder}"', readonly=True)[0] == "OK"
        _, data = client.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        items = [item for item in data if isinstance(item, tuple)]
        parse = BytesParser(policy=policy.default).parsebytes
        return [(set(imaplib.ParseFlags(head)) - {rb"\Recent"}, parse(body)["Message-ID"]) for head, body in items]
    finally:
        client.logout()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_sent_mail_is_filed_and_found_again_by_its_key(imap, workbook):
    with MailStandIn(login=("tenken", "secret"), deliver=imap.deliver) as mail:
        settings = imap_settings(mail, imap, sent_folder="Sent Items/tenken")  # created, with a space and a level
        notifier = MailNotifier(settings, sleep=lambda _: None)
        assert notifier.check().endswith(f"、送信済みの控え {imap.host}:{imap.port} の Sent Items/tenken）")

        sent = notifier.upload(f"mailto:{KANKO}", workbook, key="2020/kanko/request", initial_comment="依頼",
                               kind="request")

        assert sent_folder(imap, "Sent Items/tenken") == [({rb"\Seen"}, sent.ts)]
        assert notifier.find(f"mailto:{KANKO}", "2020/kanko/request") == sent
        assert MailNotifier(settings).find(KANKO, "2020/kanko/request").ts == sent.ts  # after a restart, too
        assert notifier.find(KANKO, "2020/kanko/reminder/overdue_1") is None
        assert notifier.find("somu@pref.example.jp", "2020/kanko/request") is None  # the same key, elsewhere

        # A notifier that did not send it answers in its thread with the subject filed in the Sent folder.
        MailNotifier(settings).post(KANKO, "受け付けました", key="2020/kanko/accepted", kind="accepted",
                                    thread_ts=sent.ts)
        assert mail.messages[-1].subject == "Re: [点検] 点検調書の提出のお願い"

        # The department's answer in the office's inbox: the answer to it keeps one "Re:" and the whole chain.
        answer = EmailMessage()
        answer["Subject"] = "Re: [点検] 点検調書の提出のお願い"
        answer["From"], answer["To"] = KANKO, OFFICE
        answer["Message-ID"], answer["References"] = "<answer-1@pref.example.jp>", sent.ts
        answer.set_content("提出します")
        imap.deliver("tenken", answer.as_bytes(policy=policy.SMTP))
        MailNotifier(settings).post(KANKO, "受け付けました", key="2020/kanko/accepted/2", kind="accepted",
                                    thread_ts="<answer-1@pref.example.jp>")
        reply = mail.messages[-1].message
        assert reply["Subject"] == "Re: [点検] 点検調書の提出のお願い"
        assert reply["References"] == f"{sent.ts} <answer-1@pref.example.jp>"
        assert reply["In-Reply-To"] == "<answer-1@pref.example.jp>"

    # The stand-in delivered into the same Maildirs: the department's mailbox has what was sent to it.
    assert len(list((imap.maildir("kanko") / "new").iterdir())) == 3


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_without_the_imap_server_mail_still_goes_but_find_says_it_cannot_tell(imap, caplog):
    with MailStandIn(login=("tenken", "secret")) as mail:
        settings = imap_settings(mail, imap)
        imap.stop()
        notifier = MailNotifier(settings, sleep=lambda _: None)

        sent = notifier.post(KANKO, "本文", key="k", kind="reminder")

        assert [m.message_id for m in mail.messages] == [sent.ts]
        assert "could not be filed in Sent" in caplog.text
        with pytest.raises(NotificationError, match="送信済みのメールを確認できませんでした"):
            notifier.find(KANKO, "k")

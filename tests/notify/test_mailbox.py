"""The office's mailbox read over IMAP, against a real dovecot on loopback (tenken_demo.imap_server).

One dovecot per module; every test has an account of its own, so the tests do not see each other's mail.
"""

import base64
import imaplib
import itertools
import os
import re
import ssl
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tenken.notify.base import NotificationError
from tenken.notify.mail_settings import MailSettings
from tenken.notify.mailbox import LEFT_KEYWORD, IncomingMail, Mailbox, _utf7, parse_mail
from tenken_demo.imap_server import ImapServer, dovecot_missing

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_accounts = itertools.count(1)


@pytest.fixture(scope="module")
def server():
    missing = dovecot_missing()
    if missing:
        pytest.fail(missing)  # not a skip: the mail tests are part of `make test`
    with ImapServer(users={}, tls=True) as running:
        yield running


@pytest.fixture(autouse=True)
def quick_reconnects(monkeypatch):
    monkeypatch.setattr(Mailbox, "_backoff", 0.01)


class Account:
    def __init__(self, server: ImapServer):
        self.server = server
        self.user = f"tenken{next(_accounts)}-{os.getpid()}@example.jp"
        self.password = "pass-" + self.user
        server.add_user(self.user, self.password)

    def settings(self, **changes) -> MailSettings:
        values = {"address": self.user, "smtp_host": "127.0.0.1", "imap_host": self.server.host,
                  "imap_port": self.server.port, "imap_security": "none", "username": self.user,
                  "password": self.password, "timeout": 10.0}
        values.update(changes)
        return MailSettings(**values)

    def mailbox(self, **options) -> Mailbox:
        return Mailbox(self.settings(), **options)

    def deliver(self, *mails: bytes) -> None:
        for raw in mails:
            self.server.deliver(self.user, raw)

    def folder(self, name: str = "INBOX") -> dict[str, set[str]]:
        """Message-ID -> flags of every mail in a folder, seen by a client of our own (read-only)."""
        client = imaplib.IMAP4(self.server.host, self.server.port, timeout=10)
        try:
            client.login(self.user, self.password)
            typ, _ = client.select('"' + _utf7(name) + '"', readonly=True)
            assert typ == "OK", f"no folder {name}"
            _, found = client.uid("SEARCH", "ALL")
            result = {}
            for uid in found[0].split():
                _, data = client.uid("FETCH", uid.decode(), "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
                flags = re.search(rb"FLAGS \(([^)]*)\)", data[0][0]).group(1).decode().split()
                message_id = re.search(rb"<[^>]*>", data[0][1])
                result[message_id.group(0).decode() if message_id else f"uid {uid.decode()}"] = set(flags) - {"\\Recent"}
            return result
        finally:
            client.logout()


@pytest.fixture
def account(server):
    return Account(server)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def jis_word(text: str) -> str:
    return f"=?ISO-2022-JP?B?{b64(text.encode('iso2022_jp'))}?="


def reply(message_id: str, *, subject: bytes = b"Re: request", parts: list[bytes] | None = None,
          text: bytes = b"Attached.", charset: str = "us-ascii", extra: bytes = b"",
          sender: bytes = b"tourism@example.jp") -> bytes:
    """A reply as a department's mail client writes it: a text part and the given attachment parts."""
    head = (b"From: " + sender + b"\r\nTo: tenken@example.jp\r\nSubject: " + subject + b"\r\n"
            b"Message-ID: " + message_id.encode() + b"\r\nDate: Mon, 1 Jun 2020 10:00:00 +0900\r\n" + extra +
            b"MIME-Version: 1.0\r\n")
    if parts is None:
        return head + f"Content-Type: text/plain; charset={charset}\r\n\r\n".encode() + text + b"\r\n"
    body = b"--BOUNDARY\r\nContent-Type: text/plain; charset=" + charset.encode() + b"\r\n\r\n" + text + b"\r\n"
    for part in parts:
        body += b"--BOUNDARY\r\n" + part
    return head + b'Content-Type: multipart/mixed; boundary="BOUNDARY"\r\n\r\n' + body + b"--BOUNDARY--\r\n"


def attachment(headers: bytes, data: bytes) -> bytes:
    encoded = base64.encodebytes(data).replace(b"\n", b"\r\n")
    return headers + b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded


def workbook(filename_parameters: bytes, data: bytes, content_type: str = XLSX) -> bytes:
    return attachment(f"Content-Type: {content_type}\r\n".encode() +
                      b"Content-Disposition: attachment;\r\n " + filename_parameters + b"\r\n", data)


def read_all(account: Account, **options) -> list[IncomingMail]:
    with account.mailbox(**options) as mailbox:
        return list(mailbox.messages())


# -- reading ---------------------------------------------------------------------------------------------------


def test_a_reply_with_a_workbook_comes_with_its_decoded_name_and_bytes_intact(account):
    data = os.urandom(200_000)
    subject = "Re: 【依頼】令和2年度 点検表の提出について"
    raw = reply(
        "<reply-1@tourism.example.jp>",
        subject=jis_word(subject).encode(),
        sender=f'{jis_word("観光課 山田")} <Tourism.Yamada@Example.JP>'.encode(),
        text="点検表を提出します。\r\nよろしくお願いします。".encode("iso2022_jp"), charset="ISO-2022-JP",
        extra=b"In-Reply-To: <request-7@tenken.example.jp>\r\n"
              b"References: <request-1@tenken.example.jp>\r\n <request-7@tenken.example.jp>\r\n"
              b"Reply-To: Kanko <kanko@example.jp>\r\n"
              b"Authentication-Results: mx.example.jp;\r\n spf=pass smtp.mailfrom=example.jp\r\n",
        parts=[workbook(b"filename*=UTF-8''" + quote("点検表_観光課.xlsx").encode(), data)])
    account.deliver(raw)

    [mail] = read_all(account)

    assert mail.subject == subject
    assert (mail.sender, mail.sender_name) == ("tourism.yamada@example.jp", "観光課 山田")
    assert mail.reply_to == "kanko@example.jp"
    assert mail.message_id == "<reply-1@tourism.example.jp>"
    assert mail.in_reply_to == "<request-7@tenken.example.jp>"
    assert mail.references == ("<request-1@tenken.example.jp>", "<request-7@tenken.example.jp>")
    assert mail.date == datetime(2020, 6, 1, 10, tzinfo=timezone(timedelta(hours=9)))
    assert mail.body == "点検表を提出します。\nよろしくお願いします。"
    assert mail.authentication_results == "mx.example.jp; spf=pass smtp.mailfrom=example.jp"
    assert mail.auto_submitted is False
    assert mail.uid > 0 and mail.uidvalidity > 0
    [sheet] = mail.attachments
    assert (sheet.index, sheet.filename, sheet.content_type, sheet.size) == (0, "点検表_観光課.xlsx", XLSX, 200_000)
    assert sheet.content == data
    assert account.folder()["<reply-1@tourism.example.jp>"] == set(), "read with BODY.PEEK: still unseen"


def _jis_with_nec_extension() -> bytes:
    """点検表①.xlsx as Japanese Outlook writes it: ① is cp932's NEC row 13 (JIS 0x2D21)."""
    return "点検表".encode("iso2022_jp")[:-3] + b"\x2d\x21\x1b(B.xlsx"


JAPANESE = {
    "iso-2022-jp in RFC 2047": (
        f"Subject: {jis_word('提出：観光課')}\r\n".encode(),
        b'Content-Type: application/octet-stream;\r\n name="=?ISO-2022-JP?B?' + b64(_jis_with_nec_extension()).encode()
        + b'?="\r\nContent-Disposition: attachment;\r\n filename="=?ISO-2022-JP?B?'
        + b64(_jis_with_nec_extension()).encode() + b'?="\r\n',
        "提出：観光課", "点検表①.xlsx"),
    "shift_jis in RFC 2231, continued": (
        b"Subject: =?Shift_JIS?B?" + base64.b64encode("提出～予算表".encode("cp932")) + b"?=\r\n",
        (b"Content-Type: application/octet-stream\r\nContent-Disposition: attachment;\r\n"
         b" filename*0*=shift_jis''%93%5F%8C%9F%95%5C;\r\n filename*1*=%81%40%97%5C%8EZ.xlsx\r\n"),
        "提出～予算表", "点検表　予算.xlsx"),
    "raw cp932 bytes in the headers": (
        b"Subject: " + "Re: 予算表の提出（ソフト事業）".encode("cp932") + b"\r\n",
        b'Content-Type: application/octet-stream; name="' + "予算表".encode("cp932") + b'"\r\n'
        b'Content-Disposition: attachment; filename="' + "能力表.xlsx".encode("cp932") + b'"\r\n',
        "Re: 予算表の提出（ソフト事業）", "能力表.xlsx"),
    "raw utf-8 bytes in the headers": (
        "Subject: 提出します（デジタル推進課）\r\n".encode(),
        'Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="点検表.xlsx"\r\n'.encode(),
        "提出します（デジタル推進課）", "点検表.xlsx"),
    "utf-8 in RFC 2047, Q and split words": (
        b"Subject: =?UTF-8?Q?=E6=8F=90=E5=87=BA?= =?UTF-8?B?" + base64.b64encode("します".encode()[:4]) + b"?=\r\n"
        b" =?UTF-8?B?" + base64.b64encode("します".encode()[4:]) + b"?=\r\n",
        b'Content-Type: application/octet-stream\r\nContent-Disposition: inline;\r\n filename="=?UTF-8?B?'
        + base64.b64encode("点検表（確定）.xlsx".encode()) + b'?="\r\n',
        "提出します", "点検表（確定）.xlsx"),
}


@pytest.mark.parametrize("case", JAPANESE, ids=list(JAPANESE))
def test_japanese_subjects_and_file_names_decode(account, case):
    subject_header, part_headers, subject, filename = JAPANESE[case]
    raw = (b"From: dept@example.jp\r\n" + subject_header + b"Message-ID: <jp@example.jp>\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee\r\n'
           b"--b\r\n" + part_headers + b"\r\nPK\x03\x04 workbook\r\n--b--\r\n")
    account.deliver(raw)

    [mail] = read_all(account)

    assert mail.subject == subject
    assert [(a.filename, a.content) for a in mail.attachments] == [(filename, b"PK\x03\x04 workbook")]


def test_a_mail_without_a_workbook_and_auto_replies_are_yielded_and_after_leave_stay_unread(account):
    account.deliver(
        reply("<question@example.jp>", subject=b"Question", text=b"When is the deadline?"),
        reply("<away@example.jp>", subject=b"Out of office", extra=b"Auto-Submitted: auto-replied\r\n"),
        reply("<away2@example.jp>", subject=b"Away", extra=b"X-Autoreply: yes\r\n"),
        reply("<bulk@example.jp>", subject=b"Newsletter", extra=b"Precedence: bulk\r\n"),
        reply("<human@example.jp>", subject=b"Not auto", extra=b"Auto-Submitted: no\r\n"),
    )

    with account.mailbox() as mailbox:
        mails = list(mailbox.messages())
        assert [(m.message_id, m.auto_submitted, m.attachments) for m in mails] == [
            ("<question@example.jp>", False, ()), ("<away@example.jp>", True, ()), ("<away2@example.jp>", True, ()),
            ("<bulk@example.jp>", True, ()), ("<human@example.jp>", False, ())]
        assert mails[0].body == "When is the deadline?"
        for mail in mails[:3]:
            mailbox.leave(mail)
        mailbox.leave(mails[0])  # twice is fine

    assert [m.message_id for m in read_all(account)] == ["<bulk@example.jp>", "<human@example.jp>"]
    inbox = account.folder()
    assert inbox["<question@example.jp>"] == inbox["<away@example.jp>"] == {LEFT_KEYWORD}, "left, and unread"
    assert inbox["<bulk@example.jp>"] == set()


@pytest.mark.parametrize("taken_folder", ["tenken/taken", "点検/受領済み"])
def test_mark_taken_moves_the_mail_to_the_taken_folder_and_is_idempotent(account, taken_folder):
    account.deliver(reply("<one@example.jp>"), reply("<two@example.jp>"))
    settings = account.settings(taken_folder=taken_folder)

    with Mailbox(settings) as mailbox:
        first = next(iter(mailbox.messages()))
        mailbox.mark_taken(first)
        mailbox.mark_taken(first)  # already gone: fine
    with Mailbox(settings) as mailbox:
        assert [m.message_id for m in mailbox.messages()] == ["<two@example.jp>"]
        mailbox.mark_taken(first)  # from another session too

    assert list(account.folder()) == ["<two@example.jp>"]
    assert account.folder(taken_folder) == {"<one@example.jp>": set()}, "moved as it was: unread"


@pytest.mark.parametrize("missing", [{"MOVE"}, {"MOVE", "UIDPLUS"}], ids=["copy-uid-expunge", "copy-expunge"])
def test_mark_taken_on_a_server_without_move(account, missing):
    class OlderServer(Mailbox):
        def _open(self, *, readonly):
            super()._open(readonly=readonly)
            self._capabilities -= missing

    account.deliver(reply("<a@example.jp>"), reply("<b@example.jp>"))
    with OlderServer(account.settings()) as mailbox:
        mails = list(mailbox.messages())
        mailbox.mark_taken(mails[1])
        mailbox.mark_taken(mails[1])

    assert list(account.folder()) == ["<a@example.jp>"]
    assert list(account.folder("tenken/taken")) == ["<b@example.jp>"]


MALFORMED = [
    b"From: x@example.jp\r\nMessage-ID: <bad1@x>\r\nContent-Type: multipart/mixed\r\n\r\n--nowhere\r\nhello\r\n",
    (b"From: \xff\xfe <x@example.jp>\r\nMessage-ID: <bad2@x>\r\nSubject: =?x-klingon?B?!!!?= \x81\r\n"
     b"Content-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\nContent-Type: text/plain; charset=x-klingon\r\n"
     b"Content-Transfer-Encoding: base64\r\n\r\n!!!@@@\r\n--z\r\nContent-Type: application/x; name==?utf-8?B?broken\r\n"
     b"Content-Transfer-Encoding: quoted-printable\r\n\r\n=ZZ=\r\n"),  # no closing boundary either
    (b"Message-ID: <bad3@x>\r\nContent-Type: ;;;===\"\r\nContent-Disposition: attachment; filename*0*=nonsense''%ZZ\r\n"
     b"Date: yesterday\r\nFrom: ;;;\r\n\r\n\x00\x00\x00"),
    b"\r\n\r\nno headers at all",
]


def test_malformed_mail_does_not_stop_the_loop(account):
    account.deliver(reply("<before@example.jp>"), *MALFORMED, reply("<after@example.jp>"))

    mails = read_all(account)

    assert len(mails) == 2 + len(MALFORMED)
    assert [m.message_id for m in mails[:4]] == ["<before@example.jp>", "<bad1@x>", "<bad2@x>", "<bad3@x>"]
    assert mails[-1].message_id == "<after@example.jp>"
    assert mails[1].body.startswith("--nowhere")
    assert mails[2].sender == "x@example.jp"
    assert mails[3].date is None and mails[3].sender == ""
    assert re.fullmatch(r"<uid-\d+-\d+@mailbox>", mails[4].message_id), "a stable synthetic Message-ID"
    assert read_all(account)[4].message_id == mails[4].message_id


def test_an_attachment_over_max_bytes_comes_with_its_size_and_no_content(account):
    big, small = os.urandom(300_000), os.urandom(5_000)
    account.deliver(reply("<big@example.jp>", text=b"two files",
                          parts=[workbook(b'filename="huge.xlsx"', big), workbook(b'filename="small.xlsx"', small)]))

    [mail] = read_all(account, max_bytes=100_000)

    assert mail.body == "two files"
    assert [(a.index, a.filename, a.size, a.content) for a in mail.attachments] == [
        (0, "huge.xlsx", 300_000, None), (1, "small.xlsx", 5_000, small)]
    [whole] = read_all(account)  # the same mail under the default limit: same indexes and names
    assert [(a.index, a.filename, a.size) for a in whole.attachments] == [(0, "huge.xlsx", 300_000),
                                                                           (1, "small.xlsx", 5_000)]
    assert whole.attachments[0].content == big


NESTED = (
    b"From: =?UTF-8?B?" + base64.b64encode("総務課".encode()) + b"?= <soumu@example.jp>\r\nMessage-ID: <nested@example.jp>\r\n"
    b'Subject: nested\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="outer"\r\n\r\n'
    b'--outer\r\nContent-Type: multipart/alternative; boundary="alt"\r\n\r\n'
    b"--alt\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\n\r\n" + "本文です".encode("iso2022_jp") + b"\r\n"
    b'--alt\r\nContent-Type: multipart/related; boundary="rel"\r\n\r\n'
    b"--rel\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>" + "本文です".encode() + b"</p>\r\n"
    b'--rel\r\nContent-Type: image/png; name="logo.png"\r\nContent-Disposition: inline\r\nContent-ID: <logo>\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(b"\x89PNG" * 300).replace(b"\n", b"\r\n") +
    b"--rel--\r\n\r\n--alt--\r\n\r\n"
    b"--outer\r\n" + workbook(b"filename*=UTF-8''" + quote("点検表.xlsx").encode(), b"PK" * 2000) +
    b'--outer\r\nContent-Type: text/csv; charset=utf-8; name="a.csv"\r\nContent-Transfer-Encoding: quoted-printable\r\n'
    b"\r\n" + "名前=3D値,".encode() + b"=E5=80=A4\r\n"
    b"--outer\r\nContent-Type: message/rfc822\r\n\r\nSubject: forwarded\r\n\r\nold mail\r\n"
    b"--outer--\r\n")


def test_a_mail_read_whole_and_read_part_by_part_gives_the_same_attachments(account):
    account.deliver(NESTED)

    [whole] = read_all(account)
    [by_parts] = read_all(account, max_bytes=1_000)  # the mail is larger: structure first, small parts only

    assert whole.body == by_parts.body == "本文です"
    assert whole.sender_name == by_parts.sender_name == "総務課"
    expected = [(0, "logo.png", "image/png", 1_200), (1, "点検表.xlsx", XLSX, 4_000), (2, "a.csv", "text/csv", 14),
                (3, "", "message/rfc822", None)]
    for mail in (whole, by_parts):
        assert [(a.index, a.filename, a.content_type, a.size if a.index < 3 else None)
                for a in mail.attachments] == expected
    assert whole.attachments[2].content == by_parts.attachments[2].content == "名前=値,値".encode()
    assert [a.content is None for a in by_parts.attachments] == [True, True, False, False]
    assert b"old mail" in by_parts.attachments[3].content


def test_a_large_mail_of_one_part_and_a_server_without_binary(account):
    pdf = os.urandom(150_000)
    account.deliver(b"From: a@example.jp\r\nMessage-ID: <pdf@example.jp>\r\nContent-Type: application/pdf\r\n"
                    b'Content-Disposition: attachment; filename="scan.pdf"\r\nContent-Transfer-Encoding: base64\r\n'
                    b"\r\n" + base64.encodebytes(pdf).replace(b"\n", b"\r\n"))

    class WithoutBinary(Mailbox):
        def _open(self, *, readonly):
            super()._open(readonly=readonly)
            self._capabilities.discard("BINARY")

    [mail] = read_all(account, max_bytes=50_000)
    assert [(a.filename, a.content_type, a.size, a.content) for a in mail.attachments] == [
        ("scan.pdf", "application/pdf", 150_000, None)]
    with WithoutBinary(account.settings(), max_bytes=50_000) as mailbox:
        [estimated] = mailbox.messages()
    assert abs(estimated.attachments[0].size - 150_000) < 1_000, "estimated from the encoded size"


def test_a_disconnect_in_the_middle_continues_after_the_last_mail_yielded(account, server):
    ids = [f"<mail-{n}@example.jp>" for n in range(5)]
    account.deliver(*(reply(message_id) for message_id in ids))
    logins = server.logins(account.user)

    yielded = []
    with account.mailbox() as mailbox:
        for mail in mailbox.messages():
            yielded.append(mail.message_id)
            if len(yielded) == 2:
                server.kill_connections(account.user)  # the server drops the session after the 2nd mail

    assert yielded == ids, "every mail exactly once, in order"
    assert server.logins(account.user) == logins + 2, "it did reconnect"


def test_disconnects_while_taking_each_mail_lose_nothing_and_take_nothing_twice(account, server):
    ids = [f"<take-{n}@example.jp>" for n in range(4)]
    account.deliver(*(reply(message_id) for message_id in ids))

    yielded = []
    with account.mailbox() as mailbox:
        for mail in mailbox.messages():
            yielded.append(mail.message_id)
            server.kill_connections(account.user)
            mailbox.mark_taken(mail)  # reconnects, then the iteration goes on on the new session

    assert yielded == ids
    assert account.folder() == {}
    assert sorted(account.folder("tenken/taken")) == sorted(ids)


def test_check_logs_in_and_says_what_it_read(account, server):
    account.deliver(reply("<c@example.jp>"))
    with account.mailbox() as mailbox:
        said = mailbox.check()
    assert "INBOX" in said and "1 通" in said and "注意" not in said

    with pytest.raises(NotificationError, match="開けません"):
        Mailbox(account.settings(inbox="存在しない")).check()
    with pytest.raises(NotificationError, match="設定されていません"):
        Mailbox(account.settings(imap_host=None)).check()


def test_a_wrong_password_and_a_server_that_stays_away_fail_the_run_in_japanese(account):
    # a server of its own: after a failed login dovecot holds back the next login from the address for seconds
    with ImapServer(users={account.user: account.password}) as other:
        other.deliver(account.user, reply("<x1@example.jp>"))
        other.deliver(account.user, reply("<x2@example.jp>"))
        mailbox = Mailbox(account.settings(imap_port=other.port), reconnects=2)
        mails = mailbox.messages()
        assert next(mails).message_id == "<x1@example.jp>"
        with pytest.raises(NotificationError, match="ログインできません"):
            Mailbox(account.settings(imap_port=other.port, password="wrong")).check()
        other.stop()
        with pytest.raises(NotificationError, match="接続に 3 回続けて失敗しました"):
            next(mails)
        mailbox.close()


def test_check_of_a_port_nobody_listens_on(account):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(NotificationError, match="接続できません"):
        Mailbox(account.settings(imap_port=port)).check()


@pytest.fixture
def trusting_the_test_certificate(monkeypatch, server):
    original = ssl.create_default_context
    monkeypatch.setattr(ssl, "create_default_context", lambda *args, **kwargs: original(cafile=str(server.certificate)))


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_reading_over_tls(account, server, trusting_the_test_certificate, security):
    account.deliver(reply("<tls@example.jp>"))
    port = server.ssl_port if security == "ssl" else server.port
    with Mailbox(account.settings(imap_security=security, imap_port=port)) as mailbox:
        assert f"（{security}）" in mailbox.check()
        assert [m.message_id for m in mailbox.messages()] == ["<tls@example.jp>"]


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_a_certificate_nobody_vouches_for_is_refused(account, server, security):
    port = server.ssl_port if security == "ssl" else server.port
    with pytest.raises(NotificationError, match="証明書を確認できません"):
        Mailbox(account.settings(imap_security=security, imap_port=port)).check()


# -- decoding, without a server -----------------------------------------------------------------------------------


@hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2000))
def test_parse_mail_never_raises_on_random_bytes(raw):
    mail = parse_mail(raw, uid=1, uidvalidity=1)
    assert mail.message_id


SAMPLE = reply("<s@example.jp>", subject=jis_word("点検").encode(),
               parts=[workbook(b"filename*=shift_jis''%93%5F%8C%9F.xlsx", b"data")])


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(SAMPLE) - 1), st.binary(min_size=0, max_size=8)), max_size=6))
def test_parse_mail_never_raises_on_a_damaged_reply(edits):
    raw = bytearray(SAMPLE)
    for position, junk in edits:
        raw[position:position + len(junk)] = junk
    parse_mail(bytes(raw))


def test_hostile_headers_and_structures_are_read_in_linear_time():
    n = 200_000
    hostile = [
        b"From: " + b"a" * n + b"\r\n\r\nx",
        b"Content-Type: application/x\r\nContent-Disposition: attachment"
        + b"".join(b"; filename*%d*=%%41" % i for i in range(10_000)) + b"\r\n\r\nx",
        b"Content-Type: multipart/mixed; boundary=b0\r\n\r\n"
        + b"".join(b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i, i + 1) for i in range(2000)),
        b"Subject: " + b"=?utf-8?B?44GC?= " * 20_000 + b"\r\nContent-Type: text/html\r\n\r\n" + b"<p>" * n,
    ]
    started = time.monotonic()
    mails = [parse_mail(raw) for raw in hostile]
    assert time.monotonic() - started < 5
    assert mails[1].attachments[0].filename == "A" * 10_000
    assert mails[3].subject == "あ" * 20_000


def test_the_stray_backslash_of_shift_jis_does_not_end_a_quoted_name():
    raw = (b'From: a@example.jp\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; '
           b'filename="' + "予算表".encode("cp932") + b'"; size=3\r\n\r\nabc')
    [sheet] = parse_mail(raw).attachments
    assert sheet.filename == "予算表"


def test_file_names_lose_folders_and_control_characters():
    raw = (b"From: a@example.jp\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
           b'Content-Disposition: attachment; filename="..\\\\..\\\\evil\x07.xlsx"\r\n\r\nx\r\n--b\r\n'
           b'Content-Disposition: attachment; filename="../../etc/passwd"\r\n\r\ny\r\n--b--\r\n')
    assert [a.filename for a in parse_mail(raw).attachments] == ["evil.xlsx", "passwd"]

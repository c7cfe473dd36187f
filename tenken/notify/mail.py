"""Sending by mail (SMTP), for departments and reviewers without Slack (closed administrative networks).

Same interface as SlackNotifier and OutboxNotifier. A target is `mailto:someone@example.jp` or the
bare address. Each send opens its own SMTP connection (EHLO, STARTTLS or SSL, login when a user is
configured), sends one message to one recipient and quits, so the notifier can be shared by threads.

Idempotency. The Message-ID is derived from the ledger's key (`message_id`), so a message sent twice
carries the same Message-ID and mail clients show it once. When an IMAP server is configured, every
message sent is also filed (APPEND, flagged \\Seen) into the office's Sent folder, and `find()` looks
for the key's Message-ID there: after a crash between sending and recording, the dispatcher finds
the message instead of sending it again. Without IMAP, find() answers None and the message is sent
again (same Message-ID). The window that remains: a crash (or a failed IMAP APPEND, which is logged,
never raised, because the mail did go out) between the server's 250 and the copy being filed; the
next run then sends the message once more, with the same Message-ID. The same holds when the
connection drops after the message's data went out but before the server's answer arrived (that is
retried as a temporary failure).

Retries live here and nowhere else: temporary failures (4xx replies, a dropped connection, a timeout)
are retried `retries` times, waiting `retry_wait * 2**n` seconds before retry n; a permanent failure
(5xx) raises NotificationError at once with the server's reply.

Japanese mail conventions: UTF-8 text/plain body in base64; Subject and the From display name as
RFC 2047 encoded-words; an attachment's name both as RFC 2231 `filename*=utf-8''…` (Content-
Disposition) and as an RFC 2047 `name="=?utf-8?b?…?="` (Content-Type), which older clients (Outlook,
Becky!) read; Date in Asia/Tokyo. The message texts are Slack mrkdwn (tenken.notify.messages);
`plain_text` turns them into plain text, and the office's signature follows a `-- ` line.

smtp_security "none" sends in clear text: meant for the loopback stand-in (tenken_demo.mail_standin)
and tests. Mailbox names (sent_folder, inbox) must be ASCII (no modified UTF-7 here).
"""

from __future__ import annotations

import base64
import hashlib
import imaplib
import ipaddress
import logging
import mimetypes
import re
import smtplib
import socket
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo

from tenken.notify.base import NotificationError, Receipt
from tenken.notify.mail_settings import MailSettings

log = logging.getLogger(__name__)

_T = TypeVar("_T")
_TOKYO = ZoneInfo("Asia/Tokyo")

SUBJECT_PREFIX = "[点検] "
DEFAULT_SUBJECT = "点検のお知らせ"
_OFFICE = "点検の処理について（事務局あて）"
SUBJECTS: dict[str, str] = {  # message kind -> subject (without SUBJECT_PREFIX)
    "request": "点検調書の提出のお願い",
    "reminder": "点検調書の提出について（お知らせ）",
    "accepted": "点検調書を受け付けました",
    "rejection": "点検調書を受け付けできませんでした（修正のお願い）",
    "sender_refused": "提出元を確認できないファイルがありました",
    "review_code": "点検報告書（案）の確認のお願い（確認コード）",
    "review_request": "点検報告書（案）ができました",
    "review_reminder": "点検報告書（案）の確認について（お知らせ）",
    "review_stopped": "点検報告書（案）の確認を打ち切りました",
    "changes_requested": "点検報告書（案）の修正依頼",
    "published": "点検報告書を公表しました",
    "run_failed": _OFFICE,
    "run_resolved": _OFFICE,
    "preflight": _OFFICE,
}

# Generated headers are folded by the policy; the two attachment headers written by hand
# (_attachment_headers) are kept as written: refold_source="none" applies to those only.
POLICY = policy.SMTP.clone(refold_source="none")

_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
_REPLY_PREFIX = re.compile(r"^\s*(re|ｒｅ)\s*[:：]", re.IGNORECASE)
_REMEMBERED = 2000  # subjects of sent messages kept for "Re: …" answers in their threads
_REFERENCES = 20  # at most this many Message-IDs in References


def message_id(key: str, domain: str) -> str:
    """The Message-ID of the message sent for this idempotency key: the same key, the same ID."""
    return f"<tenken.{hashlib.sha256(key.encode('utf-8')).hexdigest()[:40]}@{domain}>"


def mail_address(target: str) -> str:
    """The address of a target `mailto:someone@example.jp` or `someone@example.jp`."""
    text = target.strip()
    if text[:7].lower() == "mailto:":
        text = unquote(text[7:].partition("?")[0]).strip()
    if not _ADDRESS.match(text):
        raise NotificationError(
            f"メールの送信先 {target!r} を解釈できません（mailto:アドレス、またはメールアドレスで指定してください）",
            target=target)
    return text


def subject_for(kind: str) -> str:
    """The subject of a message of this kind ('[点検] …')."""
    return SUBJECT_PREFIX + SUBJECTS.get(kind, DEFAULT_SUBJECT)


# ---------------------------------------------------------------------------------------- mrkdwn -> text

_TOKEN = re.compile(r"<([^<>\n]*)>|&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
# *bold* as Slack reads it: at a word boundary, not starting or ending with a space.
_BOLD = re.compile(r"(?<![^\s(（「『【〔・：:])\*(?=[^\s*])([^*\n]*?[^\s*])\*(?=$|[\s)）」』】〕、。,.!?！？:：])",
                   re.MULTILINE)


def _unescape(text: str) -> str:
    return re.sub(r"&(amp|lt|gt);", lambda m: _ENTITIES[m.group(1)], text)


def _link(inner: str) -> str:
    target, _, label = inner.partition("|")
    if target.startswith(("@", "#")):  # <@U…>, <#C…|name>: a mention of a user or a channel
        return _unescape(label) if label else target
    if target.startswith("!"):  # <!here>, <!subteam^S…|@team>
        return _unescape(label) if label else "@" + target[1:].partition("^")[0]
    url, label = _unescape(target), _unescape(label)
    url = url.removeprefix("mailto:")
    if not label or label == url:
        return url
    return f"{label}（{url}）"


def plain_text(mrkdwn: str) -> str:
    """Slack mrkdwn as plain mail text: <url|label> -> label（url）, <url> -> url, *bold* -> bold,
    &amp; &lt; &gt; unescaped; quote lines ('> ') and bullet lines stay as they are."""
    text = _BOLD.sub(r"\1", mrkdwn)
    return _TOKEN.sub(lambda m: _link(m.group(1)) if m.group(1) is not None else _ENTITIES[m.group(2)], text)


# ---------------------------------------------------------------------------------------- attachments

def _encoded_words(text: str, limit: int = 39) -> list[str]:
    """RFC 2047 'B' encoded-words of at most `limit` UTF-8 bytes each (64 characters), split between
    characters, never inside one."""
    words, chunk = [], b""
    for char in text:
        data = char.encode("utf-8")
        if chunk and len(chunk) + len(data) > limit:
            words.append(chunk)
            chunk = b""
        chunk += data
    words.append(chunk)
    return [f"=?utf-8?b?{base64.b64encode(word).decode('ascii')}?=" for word in words if word]


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _attachment_headers(filename: str, mimetype: str) -> tuple[str, str]:
    """Content-Type and Content-Disposition values for an attachment, folded by hand.

    A non-ASCII name goes into Content-Disposition once, as RFC 2231 `filename*=utf-8''…` on one line
    (no `filename*0*` continuations, which fewer clients read), and into Content-Type as RFC 2047
    encoded-words in a quoted `name=`, one word a line (folding whitespace between encoded-words is
    dropped by decoders)."""
    if filename.isascii() and not any(ord(c) < 32 or c == "\x7f" for c in filename):
        return f"{mimetype};\n name={_quoted(filename)}", f"attachment;\n filename={_quoted(filename)}"
    words = "\n ".join(_encoded_words(filename))
    return (f'{mimetype};\n name="{words}"',
            f"attachment;\n filename*=utf-8''{quote(filename, safe='')}")


def _set_raw_header(part: EmailMessage, name: str, value: str) -> None:
    """Replace a header with a value written out as it is, keeping the header's place."""
    items = list(part.raw_items())
    for header in {n.lower() for n, _ in items}:
        del part[header]
    for header, existing in items:
        part.set_raw(header, value if header.lower() == name.lower() else existing)


# ---------------------------------------------------------------------------------------- the notifier

class MailNotifier:
    """Sends each message as one mail from the office's mailbox (settings.address) to one recipient."""

    def __init__(self, settings: MailSettings, *, retries: int = 4, retry_wait: float = 2.0,
                 sleep: Callable[[float], None] = time.sleep):
        self.settings = settings
        self.retries = retries
        self.retry_wait = retry_wait
        self._sleep = sleep
        self._lock = threading.Lock()
        self._threads: OrderedDict[str, tuple[str, tuple[str, ...]]] = OrderedDict()  # Message-ID: (subject, refs)
        if settings.smtp_security == "none" and not _loopback(settings.smtp_host):
            log.warning("SMTP to %s without TLS (smtp_security 'none'): everything, the login included, "
                        "goes in clear text", settings.smtp_host)

    # ------------------------------------------------------------------ the Notifier interface

    def check(self) -> str:
        """Connect, greet (STARTTLS or SSL, login) and quit; say where mail goes."""
        s = self.settings
        self._retrying(None, self._probe)
        where = f"メール（{s.smtp_host}:{s.smtp_port}、送信元 {s.address}"
        if s.imap_host:
            where += f"、送信済みの控え {s.imap_host}:{s.imap_port} の {s.sent_folder}"
        return where + "）"

    def post(self, target: str, text: str, *, key: str, kind: str = "message",
             thread_ts: str | None = None) -> Receipt:
        address = mail_address(target)
        message = self.compose(address, text, key=key, kind=kind, thread_ts=thread_ts)
        return self._send(target, address, message, key)

    def upload(
        self,
        target: str,
        path: str | Path,
        *,
        key: str,
        title: str | None = None,
        initial_comment: str | None = None,
        kind: str = "file",
        thread_ts: str | None = None,
    ) -> Receipt:
        address = mail_address(target)
        path = Path(path)
        if not path.is_file():
            raise NotificationError(f"添付ファイルがありません: {path}", target=target)
        text = initial_comment if initial_comment else f"添付ファイル：{title or path.name}"
        message = self.compose(address, text, key=key, kind=kind, thread_ts=thread_ts, attachment=path)
        return self._send(target, address, message, key)

    def find(self, target: str, key: str, *, thread_ts: str | None = None) -> Receipt | None:
        """The message sent to `target` with this key, if the Sent folder has it (None without IMAP).

        An IMAP server that cannot be reached raises NotificationError: answering None would send again."""
        address = mail_address(target)
        if not self.settings.imap_host:
            return None
        mid = message_id(key, self.settings.domain)
        folder = self.settings.sent_folder
        try:
            with self._imap() as imap:
                status, _ = imap.select(_mailbox(folder), readonly=True)
                if status != "OK":  # no Sent folder yet: nothing was filed
                    return None
                status, data = imap.search(None, "HEADER", "Message-ID", _quoted(mid), "TO", _quoted(address))
        except (imaplib.IMAP4.error, OSError) as exc:
            raise NotificationError(
                f"送信済みのメールを確認できませんでした（IMAP {self.settings.imap_host}:{self.settings.imap_port} の"
                f" {folder}）: {exc}", target=target, api_method="imap") from exc
        if status == "OK" and data and data[0] and data[0].split():
            return Receipt(key=key, target=target, channel=address, ts=mid, file_id=None, via="mail")
        return None

    def permalink(self, channel: str, ts: str) -> str | None:
        """A mail has no link a person could open."""
        return None

    # ------------------------------------------------------------------ composing

    def compose(self, address: str, text: str, *, key: str, kind: str = "message", thread_ts: str | None = None,
                attachment: Path | None = None) -> EmailMessage:
        """The message for one send (text is mrkdwn); `thread_ts` is the Message-ID it answers (anything
        without an '@', such as a Slack ts, is ignored)."""
        s = self.settings
        message = EmailMessage(policy=POLICY)
        subject = subject_for(kind)
        if thread_ts and "@" not in thread_ts:  # not a Message-ID (a Slack ts, say): no thread to answer
            log.debug("thread_ts %r is not a Message-ID: the mail starts its own thread", thread_ts)
            thread_ts = None
        if thread_ts:
            parent = _angle(thread_ts)
            parent_subject, references = self._parent(parent)
            if parent_subject:
                subject = parent_subject if _REPLY_PREFIX.match(parent_subject) else f"Re: {parent_subject}"
            refs = [r for r in references if r != parent][-(_REFERENCES - 1):] + [parent]
            message["In-Reply-To"] = parent
            message["References"] = " ".join(refs)
        message["Subject"] = subject
        message["From"] = Address(display_name=s.display_name, addr_spec=s.address)
        message["To"] = address
        message["Date"] = datetime.now(_TOKYO)
        message["Message-ID"] = message_id(key, s.domain)
        message["Auto-Submitted"] = "auto-generated"
        message["X-Auto-Response-Suppress"] = "All"  # Outlook/Exchange: no out-of-office replies to us
        message["X-Tenken-Kind"] = kind
        message["X-Tenken-Key"] = key
        body = plain_text(text).rstrip()
        if s.signature.strip():
            body += "\n\n-- \n" + s.signature.strip("\n")
        message.set_content(body + "\n", charset="utf-8", cte="base64")
        if attachment is not None:
            mimetype = mimetypes.guess_type(attachment.name)[0] or "application/octet-stream"
            maintype, _, subtype = mimetype.partition("/")
            message.add_attachment(attachment.read_bytes(), maintype=maintype, subtype=subtype,
                                   filename=attachment.name)
            part = next(message.iter_attachments())
            del part["MIME-Version"]  # EmailMessage adds one to each part it makes; the top level has it
            content_type, disposition = _attachment_headers(attachment.name, mimetype)
            _set_raw_header(part, "Content-Type", content_type)
            _set_raw_header(part, "Content-Disposition", disposition)
        return message

    # ------------------------------------------------------------------ sending

    def _send(self, target: str, address: str, message: EmailMessage, key: str) -> Receipt:
        raw = message.as_bytes()
        mid = str(message["Message-ID"])
        self._retrying(address, lambda: self._transmit(address, raw))
        with self._lock:
            self._threads[mid] = (str(message["Subject"]), tuple(str(message.get("References", "")).split()))
            while len(self._threads) > _REMEMBERED:
                self._threads.popitem(last=False)
        if self.settings.imap_host:
            self._file_copy(raw, mid)
        return Receipt(key=key, target=target, channel=address, ts=mid, file_id=None, via="mail")

    def _transmit(self, address: str, raw: bytes) -> None:
        smtp = self._connect()
        try:
            smtp.sendmail(self.settings.address, [address], raw)
        finally:
            _quit(smtp)

    def _probe(self) -> None:
        smtp = self._connect()
        try:
            smtp.noop()
        finally:
            _quit(smtp)

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.smtp_security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, local_hostname=_helo_name(s.domain),
                                                  timeout=s.timeout, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, local_hostname=_helo_name(s.domain), timeout=s.timeout)
        try:
            smtp.ehlo()
            if s.smtp_security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise NotificationError(
                        f"SMTP サーバー {s.smtp_host}:{s.smtp_port} が STARTTLS に対応していません"
                        "（暗号化しないまま送ることはしません。smtp_security を確認してください）",
                        api_method="smtp")
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if s.username:
                smtp.login(s.username, s.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _retrying(self, address: str | None, operation: Callable[[], _T]) -> _T:
        s = self.settings
        where = f"SMTP サーバー {s.smtp_host}:{s.smtp_port}" + (f"、宛先 {address}" if address else "")
        doing = "メールを送信できませんでした" if address else "メールの送信を準備できませんでした"
        attempt = 0
        while True:
            try:
                return operation()
            except NotificationError as exc:
                exc.target = exc.target or address
                raise
            except smtplib.SMTPRecipientsRefused as exc:
                replies = {rcpt: f"{code} {_text(reply)}" for rcpt, (code, reply) in exc.recipients.items()}
                temporary = all(400 <= code < 500 for code, _ in exc.recipients.values())
                if not temporary or attempt >= self.retries:
                    refused = "、".join(f"{rcpt}（{reply}）" for rcpt, reply in replies.items())
                    again = f"（再試行 {attempt} 回の後）" if temporary else ""
                    raise NotificationError(f"{doing}（{where}）。宛先が受け付けられませんでした{again}: {refused}",
                                            target=address, api_method="smtp") from exc
                reason = f"宛先の一時的な拒否 {'、'.join(replies.values())}"
            except smtplib.SMTPAuthenticationError as exc:
                if 400 <= exc.smtp_code < 500 and attempt < self.retries:
                    reason = f"{exc.smtp_code} {_text(exc.smtp_error)}"
                else:
                    raise NotificationError(
                        f"{doing}（{where}）。ログインに失敗しました（ユーザー {s.username}）。"
                        f"サーバーの応答: {exc.smtp_code} {_text(exc.smtp_error)}",
                        target=address, api_method="smtp") from exc
            except smtplib.SMTPResponseException as exc:
                reply = f"{exc.smtp_code} {_text(exc.smtp_error)}"
                if not 400 <= exc.smtp_code < 500:
                    raise NotificationError(f"{doing}（{where}）。サーバーが拒否しました: {reply}",
                                            target=address, api_method="smtp") from exc
                if attempt >= self.retries:
                    raise NotificationError(
                        f"{doing}（{where}）。一時的なエラーが再試行 {self.retries} 回の後も続きました: {reply}",
                        target=address, api_method="smtp") from exc
                reason = reply
            except (smtplib.SMTPServerDisconnected, ConnectionError, TimeoutError) as exc:
                if attempt >= self.retries:
                    raise NotificationError(
                        f"{doing}（{where}）。接続できませんでした（再試行 {self.retries} 回の後）: {exc!r}",
                        target=address, api_method="smtp") from exc
                reason = repr(exc)
            except (smtplib.SMTPException, OSError) as exc:  # TLS, name resolution, protocol: not temporary
                raise NotificationError(f"{doing}（{where}）: {exc!r}", target=address, api_method="smtp") from exc
            wait = self.retry_wait * 2 ** attempt
            log.info("SMTP temporary failure (%s), retry %d of %d in %.1f s", reason, attempt + 1, self.retries, wait)
            self._sleep(wait)
            attempt += 1

    # ------------------------------------------------------------------ the Sent folder (IMAP)

    @contextmanager
    def _imap(self) -> Iterator[imaplib.IMAP4]:
        s = self.settings
        assert s.imap_host
        if s.imap_security == "ssl":
            imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(s.imap_host, s.imap_port, ssl_context=ssl.create_default_context(),
                                                    timeout=s.timeout)
        else:
            imap = imaplib.IMAP4(s.imap_host, s.imap_port, timeout=s.timeout)
        try:
            if s.imap_security == "starttls":
                imap.starttls(ssl_context=ssl.create_default_context())
            if s.username:
                imap.login(s.username, s.password or "")
            yield imap
        finally:
            try:
                imap.logout()
            except (imaplib.IMAP4.error, OSError):
                pass

    def _file_copy(self, raw: bytes, mid: str) -> None:
        """APPEND the message sent to the Sent folder (created if missing), flagged \\Seen; logged on failure."""
        folder = self.settings.sent_folder
        try:
            with self._imap() as imap:
                when = imaplib.Time2Internaldate(time.time())
                status, data = imap.append(_mailbox(folder), r"(\Seen)", when, raw)
                if status != "OK":
                    imap.create(_mailbox(folder))
                    status, data = imap.append(_mailbox(folder), r"(\Seen)", when, raw)
                if status != "OK":
                    raise imaplib.IMAP4.error(f"APPEND {status} {_text(data[0] if data else b'')}")
        except (imaplib.IMAP4.error, OSError) as exc:
            log.warning("Mail %s was sent but could not be filed in %s on %s: %r (find() will not see it)",
                        mid, folder, self.settings.imap_host, exc)

    def _parent(self, parent: str) -> tuple[str | None, tuple[str, ...]]:
        """Subject and References of the message answered: one this notifier sent, else looked up over
        IMAP (Sent folder, then the inbox); (None, ()) when unknown."""
        with self._lock:
            if parent in self._threads:
                return self._threads[parent]
        if not self.settings.imap_host:
            return None, ()
        try:
            with self._imap() as imap:
                for folder in (self.settings.sent_folder, self.settings.inbox):
                    status, _ = imap.select(_mailbox(folder), readonly=True)
                    if status != "OK":
                        continue
                    status, data = imap.search(None, "HEADER", "Message-ID", _quoted(parent))
                    numbers = data[0].split() if status == "OK" and data and data[0] else []
                    if not numbers:
                        continue
                    status, data = imap.fetch(numbers[0], "(BODY.PEEK[HEADER.FIELDS (SUBJECT REFERENCES)])")
                    for item in data if status == "OK" else []:
                        if isinstance(item, tuple):
                            headers = BytesParser(policy=policy.default).parsebytes(item[1], headersonly=True)
                            subject = str(headers.get("Subject", "")).strip() or None
                            return subject, tuple(str(headers.get("References", "")).split())
        except (imaplib.IMAP4.error, OSError) as exc:
            log.info("Could not look up the subject of %s over IMAP: %r", parent, exc)
        return None, ()


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _angle(message_id_text: str) -> str:
    text = message_id_text.strip()
    return text if text.startswith("<") else f"<{text}>"


def _mailbox(name: str) -> str:
    return _quoted(name)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _helo_name(domain: str) -> str:
    """This host's name for EHLO when it is fully qualified, else the mail domain (servers often refuse a
    bare EHLO name). No DNS lookup (socket.getfqdn can hang where reverse DNS is missing)."""
    host = socket.gethostname()
    return host if "." in host and not host.endswith((".localdomain", ".local")) else domain

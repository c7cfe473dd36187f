"""A local SMTP server for tests and the demo (aiosmtpd). It is not a real mail server: it relays
nothing, keeps what it receives in memory and, when asked, drops it into Maildirs.

    with MailStandIn() as mail:                      # 127.0.0.1, a free port, no TLS
        settings = MailSettings(address="tenken@example.jp", smtp_host=mail.host, smtp_port=mail.port,
                                smtp_security="none")
        ...                                          # code under test sends
        [received] = mail.messages_to("kanko@example.jp")
        received.message["Subject"]                  # an email.message.EmailMessage (policy.default)

Faults are scripted and consumed in order:

    mail.fail_next(2)                                # the next 2 DATA answers: 451 4.3.0 try again later
    mail.fail_next(1, 550, "5.7.1 rejected", at="RCPT")
    mail.refuse("nobody@example.jp")                 # RCPT TO that address: 550 5.1.1, every time

With `deliver_to`, every message is also written to <deliver_to>/<local part>/Maildir/new/ for each
recipient (tmp/ first, then renamed, as Maildir wants), so an IMAP server can serve the mailboxes; run
as root, what it creates belongs to the owner of <deliver_to>/<local part> (or of <deliver_to>), since
dovecot runs no mail process as root. Or `deliver=callable(recipient, raw)` hands each message over,
e.g. `deliver=imap.deliver` of tenken_demo.imap_server.ImapServer.
`login=(user, password)` makes it offer AUTH (PLAIN, LOGIN) without TLS and require it.
"""

from __future__ import annotations

import itertools
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Literal, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

HOSTNAME = "mail-standin.localhost"


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str  # the envelope sender (MAIL FROM)
    rcpt_tos: tuple[str, ...]  # the envelope recipients (RCPT TO)
    raw: bytes  # the message as it came (CRLF line ends, dot-unstuffed)
    message: EmailMessage = field(repr=False)  # parsed with email.policy.default
    time: float = 0.0

    @property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))

    @property
    def message_id(self) -> str:
        return str(self.message.get("Message-ID", "")).strip()

    @property
    def text(self) -> str:
        """The plain-text body."""
        body = self.message.get_body(preferencelist=("plain",))
        return body.get_content() if body is not None else ""

    @property
    def attachments(self) -> list[EmailMessage]:
        return list(self.message.iter_attachments())


@dataclass
class _Fault:
    at: str  # "DATA" or "RCPT"
    code: int
    text: str
    remaining: int


class _Controller(Controller):
    """aiosmtpd's Controller on a port the system chooses (port 0)."""

    def _trigger_server(self):
        if self.port == 0:
            assert self.server is not None
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class MailStandIn:
    """An SMTP server on loopback that accepts everything (unless told otherwise) and keeps it."""

    def __init__(self, *, host: str = "127.0.0.1", deliver_to: str | Path | None = None,
                 deliver: Callable[[str, bytes], object] | None = None, login: tuple[str, str] | None = None):
        self.host = host
        self.port = 0
        self.deliver_to = Path(deliver_to) if deliver_to is not None else None
        self.deliver = deliver
        self.login = login
        self._lock = threading.Lock()
        self._messages: list[ReceivedMail] = []
        self._faults: list[_Fault] = []
        self._refused: set[str] = set()
        self._refusal = (550, "5.1.1 no such user")
        self._counter = itertools.count(1)
        self._controller: _Controller | None = None

    # ------------------------------------------------------------------ running

    def start(self, port: int = 0) -> Self:
        kwargs = {}
        if self.login is not None:
            kwargs = {"authenticator": self._authenticate, "auth_required": True, "auth_require_tls": False}
        self._controller = _Controller(self, hostname=self.host, port=port, server_hostname=HOSTNAME,
                                       ready_timeout=10.0, **kwargs)
        self._controller.start()
        self.port = self._controller.port
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Self:
        return self.start() if self._controller is None else self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # ------------------------------------------------------------------ what arrived

    @property
    def messages(self) -> list[ReceivedMail]:
        with self._lock:
            return list(self._messages)

    def messages_to(self, address: str) -> list[ReceivedMail]:
        address = address.lower()
        return [m for m in self.messages if address in (r.lower() for r in m.rcpt_tos)]

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()
            self._faults.clear()

    # ------------------------------------------------------------------ faults

    def fail_next(self, n: int, code: int = 451, message: str = "4.3.0 try again later", *,
                  at: Literal["DATA", "RCPT"] = "DATA") -> None:
        """The next n answers to DATA (or RCPT TO) are `code message` (a temporary failure by default)."""
        with self._lock:
            self._faults.append(_Fault(at, code, message, n))

    def refuse(self, *addresses: str, code: int = 550, message: str = "5.1.1 no such user") -> None:
        """RCPT TO any of these addresses is refused, every time."""
        with self._lock:
            self._refused |= {a.lower() for a in addresses}
            self._refusal = (code, message)

    def _fault(self, at: str) -> str | None:
        with self._lock:
            for fault in self._faults:
                if fault.at == at and fault.remaining > 0:
                    fault.remaining -= 1
                    return f"{fault.code} {fault.text}"
        return None

    # ------------------------------------------------------------------ aiosmtpd handler hooks

    async def handle_RCPT(self, server: SMTPServer, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if address.lower() in self._refused:
            code, text = self._refusal
            return f"{code} <{address}>: {text}"
        fault = self._fault("RCPT")
        if fault:
            return fault
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        fault = self._fault("DATA")
        if fault:
            return fault
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        received = ReceivedMail(
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            raw=raw,
            message=BytesParser(policy=policy.default).parsebytes(raw),
            time=time.time(),
        )
        for recipient in received.rcpt_tos:
            if self.deliver_to is not None:
                self._deliver(recipient, received)
            if self.deliver is not None:
                self.deliver(recipient, raw)
        with self._lock:
            self._messages.append(received)
        return "250 2.0.0 OK: queued (stand-in, not delivered anywhere)"

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if isinstance(auth_data, LoginPassword) and self.login is not None:
            user, password = auth_data.login.decode(), auth_data.password.decode()
            if (user, password) == self.login:
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    # ------------------------------------------------------------------ Maildir

    def _deliver(self, recipient: str, received: ReceivedMail) -> Path:
        assert self.deliver_to is not None
        local = recipient.rpartition("@")[0] or recipient
        if not local or local.startswith(".") or "/" in local or "\\" in local:
            raise ValueError(f"cannot make a Maildir for {recipient!r}")
        home = self.deliver_to / local
        maildir = home / "Maildir"
        self.deliver_to.mkdir(parents=True, exist_ok=True)
        owner = (home if home.exists() else self.deliver_to).stat() if os.geteuid() == 0 else None
        for folder in (home, maildir, maildir / "tmp", maildir / "new", maildir / "cur"):
            if not folder.exists():
                folder.mkdir(exist_ok=True)
                if owner is not None:
                    os.chown(folder, owner.st_uid, owner.st_gid)
        now = time.time()
        name = f"{int(now)}.M{int(now % 1 * 1e6)}P{os.getpid()}Q{next(self._counter)}.{socket.gethostname()}"
        head = f"Return-Path: <{received.mail_from}>\r\nDelivered-To: {recipient}\r\n".encode()
        # Maildir files have LF line ends.
        data = (head + received.raw).replace(b"\r\n", b"\n")
        temporary = maildir / "tmp" / name
        temporary.write_bytes(data)
        if owner is not None:
            os.chown(temporary, owner.st_uid, owner.st_gid)
        final = maildir / "new" / name
        os.rename(temporary, final)
        return final


def _quiet_auth_warnings() -> None:
    """AUTH without TLS on loopback is what the stand-in is for: aiosmtpd says so on every connection and login."""
    import logging
    import warnings

    warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
    noise = ("auth_required == True but auth_require_tls == False", "Session.login_data is deprecated")
    logging.getLogger("mail.log").addFilter(lambda record: not record.getMessage().startswith(noise))


def main(argv: Iterable[str] | None = None) -> None:
    """Serve a stand-in SMTP server (not a real mail server) until stopped."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(prog="python -m tenken_demo.mail_standin", description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4325)
    parser.add_argument("--maildirs", help="write every message to <folder>/<local part>/Maildir/new/ too")
    parser.add_argument("--login-file", metavar="FILE",
                        help="require SMTP AUTH with the NAME:PASSWORD on this file's first line (kept off the "
                             "command line, which other users can read)")
    options = parser.parse_args(list(argv) if argv is not None else None)
    login = None
    if options.login_file:
        user, _, password = Path(options.login_file).read_text(encoding="utf-8").splitlines()[0].partition(":")
        if not user or not password:
            parser.error(f"{options.login_file}: expected NAME:PASSWORD on the first line")
        login = (user, password)
        _quiet_auth_warnings()
    standin = MailStandIn(host=options.host, deliver_to=options.maildirs, login=login)
    # Block the signals first, so that one arriving while the server starts is not lost.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    standin.start(port=options.port)
    where = f", Maildirs under {options.maildirs}" if options.maildirs else ""
    auth = f", login required ({login[0]})" if login else ""
    print(f"Mail stand-in (not a real mail server): smtp://{standin.host}:{standin.port}, no TLS{auth}{where}",
          flush=True)
    signal.sigwait({signal.SIGINT, signal.SIGTERM})
    standin.stop()


if __name__ == "__main__":
    main()

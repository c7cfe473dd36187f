"""The mail half of `make demo MAIL=1`: departments split between Slack and mail.

    python -m tenken_demo.mail_demo config SRC DEST     # SRC's plan folder, every 3rd department asked by mail

scripts/stack.sh writes that plan folder (var/run/config) and serves an SMTP stand-in that writes every
recipient's mail into <maildirs>/<local part>/Maildir (tenken_demo.mail_standin) and dovecot's IMAP server
on the same folders (tenken_demo.imap_server), where tenken reads the office's mailbox. The demo's mail
departments play their clerks here: each finds tenken's request in its own Maildir and replies to the
office's address with the filled workbook, as a mail client does (`reply_with_file`). `transcript` is the
readable record of every mail sent and received that the demo writes at its end (var/deployed/mail.txt).
"""

from __future__ import annotations

import argparse
import re
import shutil
import smtplib
import time
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid, parsedate_to_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

MAIL_EVERY = 3  # every 3rd department with an e-mail address (the 3rd, 6th, ...) is asked by mail
TOKYO = ZoneInfo("Asia/Tokyo")
XLSX = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
_PARSE = BytesParser(policy=policy.default)


# ------------------------------------------------------------------------------------------ the plan folder

def mail_config(source: Path, destination: Path) -> list[str]:
    """Copy the plan folder `source` to `destination` with every MAIL_EVERY-th department that has an
    e-mail address on `via: email` (its escalation contact too, when it has an address); the Slack
    addresses stay (via decides). Deterministic; returns the keys of the departments on mail."""
    source, destination = Path(source).resolve(), Path(destination).resolve()
    if source == destination:
        raise ValueError(f"{source}: the copy must go elsewhere")
    data = yaml.safe_load((source / "departments.yaml").read_text(encoding="utf-8")) or {}
    entries = data.get("departments", [])
    with_mail = [entry["key"] for entry in entries if entry.get("email")]
    chosen = with_mail[MAIL_EVERY - 1::MAIL_EVERY]
    for index, entry in enumerate(entries):
        if entry["key"] in chosen:
            escalation = entry.get("escalation")
            if isinstance(escalation, dict) and escalation.get("email"):
                entry["escalation"] = _on_mail(escalation)
            entries[index] = _on_mail(entry)
    staging = destination.with_name(f".{destination.name}.new")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging)
    header = (f"# Written by tenken_demo.mail_demo for `make demo MAIL=1` from {source}:\n"
              f"# every {MAIL_EVERY}rd department with an e-mail address is asked by mail (via: email).\n")
    (staging / "departments.yaml").write_text(
        header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000), encoding="utf-8")
    shutil.rmtree(destination, ignore_errors=True)
    staging.rename(destination)
    return chosen


def _on_mail(contact: dict) -> dict:
    """The contact with `via: email`, written right after its address."""
    changed = {}
    for name, value in contact.items():
        if name != "via":
            changed[name] = value
        if name == "email":
            changed["via"] = "email"
    return changed


# ------------------------------------------------------------------------------------------ the clerks

def maildir_of(maildirs: Path, address: str) -> Path:
    """Where the stand-in writes the mail of `address`."""
    return Path(maildirs) / address.rpartition("@")[0] / "Maildir"


def find_mail(maildirs: Path, address: str, message_id: str, timeout: float = 15) -> EmailMessage:
    """The message with this Message-ID in the Maildir of `address` (waiting up to `timeout` seconds)."""
    folder = maildir_of(maildirs, address)
    deadline = time.monotonic() + timeout
    while True:
        for path in _mail_files(folder):
            message = _PARSE.parsebytes(path.read_bytes())
            if str(message.get("Message-ID", "")).strip() == message_id:
                return message
        if time.monotonic() > deadline:
            raise LookupError(f"no mail {message_id} in {folder}")
        time.sleep(0.2)


def reply_with_file(mail_settings, sender: str, request: EmailMessage, path: Path, text: str) -> str:
    """The department's mail client answers tenken's request: From its registered address to the office,
    In-Reply-To and References the request, the filled workbook attached under the name it came with.
    Sent through the demo's SMTP server with the same login as tenken's. Returns the reply's Message-ID."""
    attached = [part.get_filename() for part in request.iter_attachments() if part.get_filename()]
    request_id = str(request["Message-ID"]).strip()
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = sender
    message["To"] = mail_settings.address
    message["Subject"] = f"Re: {request['Subject']}"
    message["Date"] = format_datetime(datetime.now(TOKYO))
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    message["In-Reply-To"] = request_id
    message["References"] = request_id
    message.set_content(text, charset="utf-8")
    message.add_attachment(Path(path).read_bytes(), maintype=XLSX[0], subtype=XLSX[1],
                           filename=attached[0] if attached else Path(path).name)
    with smtplib.SMTP(mail_settings.smtp_host, mail_settings.smtp_port, timeout=30) as client:
        if mail_settings.username:
            client.login(mail_settings.username, mail_settings.password or "")
        client.send_message(message)
    return message["Message-ID"]


# ------------------------------------------------------------------------------------------ the record

def transcript(maildirs: Path, since: float = 0.0, body_lines: int = 6) -> str:
    """Every mail in the Maildirs (each once, by Message-ID) dated from `since` on, oldest first: date,
    from, to, subject, attachments and the first lines of the body."""
    seen: dict[str, tuple[tuple, EmailMessage]] = {}
    for path in sorted(Path(maildirs).glob("*/Maildir/**/*")):
        if not path.is_file() or path.parent.name not in ("new", "cur"):
            continue
        message = _PARSE.parsebytes(path.read_bytes())
        key = str(message.get("Message-ID", "")).strip() or str(path)
        when = _date(message)
        if key in seen or (when is not None and when.timestamp() < since - 1):
            continue
        seen[key] = ((when.timestamp() if when else 0.0, _stamp(path.name)), message)
    entries = [message for _, message in sorted(seen.values(), key=lambda item: item[0])]
    lines = [f"メールの記録（送受信 {len(entries)} 通、古い順。日時は実際に送られた時刻）", ""]
    for message in entries:
        when = _date(message)
        lines.append(f"==== {when.astimezone(TOKYO):%Y-%m-%d %H:%M:%S}" if when else "==== （日時なし）")
        lines.append(f"差出人: {message.get('From', '')}")
        lines.append(f"宛先:   {message.get('To', '')}")
        lines.append(f"件名:   {message.get('Subject', '')}")
        if message.get("In-Reply-To"):
            lines.append(f"返信先: {message['In-Reply-To']}")
        for part in message.iter_attachments():
            size = len(part.get_payload(decode=True) or b"")
            lines.append(f"添付:   {part.get_filename() or '（名前なし）'}（{size:,} バイト）")
        body = message.get_body(preferencelist=("plain",))
        text = [line for line in (body.get_content() if body is not None else "").splitlines() if line.strip()]
        lines += [f"  | {line}" for line in text[:body_lines]]
        if len(text) > body_lines:
            lines.append(f"  | …（ほか {len(text) - body_lines} 行）")
        lines.append("")
    return "\n".join(lines)


def _mail_files(maildir: Path) -> list[Path]:
    return [p for sub in ("new", "cur") if (maildir / sub).is_dir() for p in (maildir / sub).iterdir() if p.is_file()]


def _date(message: EmailMessage) -> datetime | None:
    try:
        return parsedate_to_datetime(str(message["Date"])) if message.get("Date") else None
    except (TypeError, ValueError):
        return None


def _stamp(name: str) -> tuple[int, int]:
    """Maildir file names begin with the delivery time: '<seconds>.M<microseconds>...'."""
    found = re.match(r"(\d+)\.M(\d+)", name)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tenken_demo.mail_demo", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    config = commands.add_parser("config", help="copy a plan folder with every 3rd department asked by mail")
    config.add_argument("source", type=Path)
    config.add_argument("destination", type=Path)
    options = parser.parse_args(argv)
    if options.command == "config":
        chosen = mail_config(options.source, options.destination)
        print(f"plan folder {options.destination}: {len(chosen)} departments asked by mail ({', '.join(chosen)})")


if __name__ == "__main__":
    main()

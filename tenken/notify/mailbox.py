"""Reading the office's mailbox over IMAP: the departments' replies with the filled workbook attached.

    with Mailbox(settings) as mailbox:                 # settings: tenken.notify.mail_settings.MailSettings
        for mail in mailbox.messages():                # oldest first, every mail not left before
            if is_submission(mail):                    # the caller decides (sender, workbook, token)
                claim(mail.message_id, attachment.index)   # the ledger is the source of truth...
                mailbox.mark_taken(mail)               # ...moving the mail away is the tidy-up
            else:
                mailbox.leave(mail)                    # stays unread in the INBOX for a person

Nothing is ever deleted: a mail is either moved to `settings.taken_folder` or flagged with the keyword
`$TenkenLeft` (which later runs skip, as they skip mails flagged \\Deleted). Mails are fetched with BODY.PEEK,
so none is marked read. A mail stays in the INBOX until `mark_taken`: a run that stops before it (a crash, a
disconnect) yields the mail again next time, and the caller's ledger claim (Message-ID + attachment index) says
it was taken already. A mail the caller neither moves nor flags (a reply that belongs to another plan's
conversation, found by `mail.replied_to`: the office has one mailbox for every plan) stays in the INBOX as it
came, unread, for whichever run it belongs to.

A dropped connection (imaplib.IMAP4.abort, OSError, a socket timeout) is reconnected, up to `reconnects`
times in a row; `messages()` then continues after the last UID it yielded, so no mail is yielded twice
in one call and none is missed.

Decoding never raises (`parse_mail`): whatever MIME, header or charset a mail has, the mail comes out with
what could be read. Japanese mail is read the way Japanese mail clients write it: ISO-2022-JP (with the
NEC/IBM extensions of cp932, as Outlook sends), Shift_JIS (as cp932) and UTF-8, in RFC 2047 encoded-words
(also inside quoted parameters), RFC 2231 parameters, and raw 8-bit bytes in headers (tried as UTF-8, then
cp932, then ISO-2022-JP). An attachment larger than `max_bytes` is not downloaded: it comes with
`content=None` and its size (the mail's structure is fetched first and only the small parts are loaded).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import contextlib
import email.utils
import imaplib
import itertools
import logging
import re
import socket
import ssl
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from html.parser import HTMLParser
from typing import Any, ClassVar, Self, TypeVar

from tenken.notify.base import NotificationError
from tenken.notify.mail_settings import MailSettings

__all__ = ["LEFT_KEYWORD", "IncomingMail", "MailAttachment", "Mailbox", "decode_bytes", "decode_header_text",
           "parse_mail"]

logger = logging.getLogger(__name__)

LEFT_KEYWORD = "$TenkenLeft"  # IMAP keyword of mails left for a person
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
_MAX_PARTS = 500  # leaves of a mail's MIME tree looked at; the rest of a hostile mail is ignored
_MAX_DEPTH = 40
_MAX_REFERENCES = 200  # Message-IDs kept of a References header (the first: the conversation's root comes first)
_MAX_HEADERS = 20  # In-Reply-To / References headers read of one mail

_DROPPED = (imaplib.IMAP4.abort, OSError, EOFError)  # socket.timeout and ssl.SSLError are OSErrors
T = TypeVar("T")


@dataclass(frozen=True)
class MailAttachment:
    index: int  # position among the mail's attachments, from 0
    filename: str  # decoded; without any folder part; '' when the part has no name
    content_type: str  # 'type/subtype', lowercase
    content: bytes | None  # decoded bytes; None when over max_bytes (size is still known)
    size: int  # decoded size (for a part not downloaded: the server's BINARY.SIZE, else an estimate)


@dataclass(frozen=True)
class IncomingMail:
    uid: int
    uidvalidity: int
    message_id: str  # as in the header ('<…>'); '<uid-{uidvalidity}-{uid}@mailbox>' if missing
    sender: str  # the From address, lowercase, without display name ('' if unparseable)
    sender_name: str
    reply_to: str | None
    subject: str
    date: datetime | None
    in_reply_to: str | None  # the first Message-ID of In-Reply-To (also one written without '<…>')
    references: tuple[str, ...]  # the Message-IDs of the (first) References header, oldest first
    body: str  # the text/plain part (or the text/html part stripped), for people; may be ''
    attachments: tuple[MailAttachment, ...]
    authentication_results: str | None  # the topmost Authentication-Results header, unfolded, for the audit
    auto_submitted: bool  # Auto-Submitted other than 'no', X-Autoreply/X-Autorespond, Precedence auto_reply/bulk/junk
    # Every Message-ID the mail says it answers or follows: all of In-Reply-To's, then those of every
    # References header, once each, in that order. What tells whose conversation a reply belongs to (the
    # office's one mailbox serves every plan: a reply to one plan's request is that plan's).
    replied_to: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------------------------
# Charsets


_CHARSET_ALIASES = {
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932", "s-jis": "cp932",
    "ms_kanji": "cp932", "csshiftjis": "cp932", "windows-31j": "cp932", "cp932": "cp932", "ms932": "cp932",
    "x-ms-cp932": "cp932", "shift_jisx0213": "shift_jisx0213",
    "euc-jp": "euc_jp", "x-euc-jp": "euc_jp", "eucjp": "euc_jp", "ujis": "euc_jp",
    "ks_c_5601-1987": "cp949", "gb2312": "gb18030", "gbk": "gb18030",
    "utf8": "utf-8", "utf-8": "utf-8",
}
_UNKNOWN_CHARSETS = {"unknown-8bit", "x-unknown", "unknown", "default", "x-user-defined", "8bit", "binary"}
_GUESSES = ("utf-8", "cp932", "iso-2022-jp")


def decode_bytes(raw: bytes, charset: str | None = None) -> str:
    """Text from bytes: the declared charset when it decodes them, else UTF-8, cp932, ISO-2022-JP; never raises."""
    candidates: list[str] = []
    if charset:
        candidates.append(charset)
    if b"\x1b" in raw:  # ISO-2022-JP is 7-bit: it would pass for UTF-8
        candidates.append("iso-2022-jp")
    candidates.extend(_GUESSES)
    for candidate in candidates:
        text = _decode_as(raw, candidate)
        if text is not None:
            return text
    return raw.decode("utf-8", "replace")


def _decode_as(raw: bytes, charset: str) -> str | None:
    name = charset.strip().strip("\"'").lower()
    name = name.split("*", 1)[0]  # RFC 2231 language suffix: iso-2022-jp*ja
    if not name or name in _UNKNOWN_CHARSETS:
        return None
    if name.startswith(("iso-2022-jp", "iso2022jp")) or name in ("csiso2022jp", "jis"):
        return _decode_jis(raw)
    codec = _CHARSET_ALIASES.get(name, name)
    try:
        codecs.lookup(codec)
        text = raw.decode(codec, "strict")
    except (LookupError, UnicodeDecodeError, ValueError):
        return None
    return text.removeprefix("\ufeff")


def _decode_jis(raw: bytes) -> str | None:
    """ISO-2022-JP as Windows writes it (cp932's NEC and IBM rows included), else the stricter codecs."""
    converted = _jis_to_cp932(raw)
    if converted is not None:
        try:
            return converted.decode("cp932", "strict")
        except UnicodeDecodeError:
            pass
    for codec in ("iso2022_jp_2", "iso2022_jp_2004", "iso2022_jp_3", "iso2022_jp_ext"):
        try:
            return raw.decode(codec, "strict")
        except UnicodeDecodeError:
            continue
    return None


def _jis_to_cp932(raw: bytes) -> bytes | None:
    out = bytearray()
    mode = "ascii"
    i, n = 0, len(raw)
    while i < n:
        byte = raw[i]
        if byte == 0x1B:
            sequence = raw[i + 1:i + 3]
            if sequence in (b"$B", b"$@"):
                mode = "jis"
            elif sequence in (b"(B", b"(J"):
                mode = "ascii"
            elif sequence == b"(I":
                mode = "kana"
            else:
                return None  # JIS X 0212 and other sets cp932 has not
            i += 3
            continue
        if byte == 0x0E:  # SO/SI: half-width katakana
            mode, i = "kana", i + 1
            continue
        if byte == 0x0F:
            mode, i = "ascii", i + 1
            continue
        if byte >= 0x80:
            return None
        if mode == "jis" and byte not in (0x0A, 0x0D, 0x20, 0x09):
            if i + 1 >= n:
                return None
            c1, c2 = byte, raw[i + 1]
            if not (0x21 <= c1 <= 0x7E and 0x21 <= c2 <= 0x7E):
                return None
            s1 = ((c1 - 0x21) >> 1) + 0x81
            if s1 > 0x9F:
                s1 += 0x40
            if c1 & 1:
                s2 = c2 + 0x1F
                if s2 >= 0x7F:
                    s2 += 1
            else:
                s2 = c2 + 0x7E
            out += bytes((s1, s2))
            i += 2
            continue
        if mode == "kana" and 0x21 <= byte <= 0x5F:
            out.append(byte + 0x80)
        else:
            out.append(byte)
        i += 1
    return bytes(out)


# ---------------------------------------------------------------------------------------------------------------
# Headers


_ENCODED_WORD = re.compile(r"=\?([^?\s]*)\?([bBqQ])\?([^?]*)\?=")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_ANGLE = re.compile(r"<[^<>\s]*>")
_ADDRESS_LIMIT = 2000
_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")


def _raw_bytes(value: str) -> bytes:
    """A header value as the bytes it came from (the parser keeps 8-bit bytes as surrogate escapes)."""
    try:
        return value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape")


def _header_text(value: str) -> str:
    """A header value as text, unfolded, raw 8-bit bytes decoded; encoded-words left as they are."""
    raw = _raw_bytes(value)
    text = decode_bytes(raw) if (b"\x1b" in raw or any(b > 0x7F for b in raw)) else raw.decode("ascii")
    return re.sub(r"\r?\n(?=[ \t])", "", text).replace("\r", "").replace("\n", "")


def decode_header_text(value: str | None) -> str:
    """A header value decoded for people: raw 8-bit bytes and RFC 2047 encoded-words; never raises."""
    if value is None:
        return ""
    try:
        text = _decode_words(_header_text(value))
    except Exception:
        logger.debug("header not decoded: %r", value, exc_info=True)
        text = _raw_bytes(value).decode("utf-8", "replace")
    return _CONTROL.sub("", text.replace("\t", " ")).strip()


def _decode_words(text: str) -> str:
    """RFC 2047 encoded-words; adjacent words of one charset are joined before decoding (mailers split
    multibyte characters across words), whitespace between words is dropped."""
    pieces: list[str] = []
    pending: list[bytes] = []
    pending_charset: str | None = None
    position = 0
    last_was_word = False

    def flush() -> None:
        nonlocal pending_charset
        if pending:
            pieces.append(decode_bytes(b"".join(pending), pending_charset))
            pending.clear()
        pending_charset = None

    for match in _ENCODED_WORD.finditer(text):
        gap = text[position:match.start()]
        charset, encoding, payload = match.group(1), match.group(2).upper(), match.group(3)
        position = match.end()
        decoded = _decode_word(encoding, payload)
        if decoded is None:  # not decodable: kept as it stands
            flush()
            pieces.append(gap + match.group(0))
            last_was_word = False
            continue
        if last_was_word and not gap.strip():
            if charset.split("*")[0].lower() != (pending_charset or "").split("*")[0].lower():
                flush()
        else:
            flush()
            pieces.append(gap)
        pending.append(decoded)
        pending_charset = charset
        last_was_word = True
    flush()
    pieces.append(text[position:])
    return "".join(pieces)


def _decode_word(encoding: str, payload: str) -> bytes | None:
    try:
        if encoding == "B":
            data = re.sub(r"[^A-Za-z0-9+/]", "", payload)
            if not data and payload:
                return None
            data += "=" * (-len(data) % 4)
            if len(data) % 4 == 1:
                data = data[:-1]
            return base64.b64decode(data)
        data = payload.replace("_", " ").encode("ascii", "surrogateescape")
        return re.sub(rb"=([0-9A-Fa-f]{2})", lambda m: bytes((int(m.group(1), 16),)), data)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return None


def _headers(message: Message) -> dict[str, list[str]]:
    """Header name (lowercase) to its raw values, top first."""
    found: dict[str, list[str]] = {}
    try:
        items = message.raw_items()
        for name, value in items:
            found.setdefault(str(name).strip().lower(), []).append(value if isinstance(value, str) else str(value))
    except Exception:
        logger.debug("headers not read", exc_info=True)
    return found


def _first(headers: dict[str, list[str]], name: str) -> str | None:
    values = headers.get(name)
    return values[0] if values else None


def _address(value: str | None) -> tuple[str, str]:
    """(display name decoded, address lowercase) of an address header; ('', '') if none can be read."""
    if not value:
        return "", ""
    text = _header_text(value)[:_ADDRESS_LIMIT]  # the regular expressions below are not linear on junk
    name, address = "", ""
    with contextlib.suppress(Exception):
        name, address = email.utils.parseaddr(text)
    if "@" not in address or any(c.isspace() for c in address):
        match = _ADDRESS.search(text)
        address = match.group(0) if match else ""
        if not name and match:
            name = text[:match.start()].strip().strip("<\"' ")
    return decode_header_text(name), address.strip().lower()


def _message_ids(value: str | None) -> list[str]:
    if not value:
        return []
    return _ANGLE.findall(_header_text(value))


def _message_id(value: str | None) -> str | None:
    """The Message-ID for a ledger key: printable ASCII in '<…>', at most 500 characters, else None."""
    if not value:
        return None
    ids = _message_ids(value)
    if ids:
        found = ids[0]
    else:
        bare = _header_text(value).strip()
        found = f"<{bare}>" if bare and not any(c.isspace() or c in "<>" for c in bare) else ""
    if len(found) <= 2 or len(found) > 500 or not all(0x21 <= ord(c) <= 0x7E for c in found):
        return None
    return found


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(_header_text(value).strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _auto_submitted(headers: dict[str, list[str]]) -> bool:
    auto = _first(headers, "auto-submitted")
    if auto is not None and _header_text(auto).split(";")[0].strip().lower() not in ("", "no"):
        return True
    if "x-autoreply" in headers or "x-autorespond" in headers:
        return True
    precedence = _first(headers, "precedence")
    return precedence is not None and _header_text(precedence).strip().lower() in ("auto_reply", "bulk", "junk")


# ---------------------------------------------------------------------------------------------------------------
# MIME parameters (our own parser: raw 8-bit values, Shift_JIS 0x5C bytes, RFC 2231, encoded-words in quotes)


def _split_parameters(raw: bytes) -> list[bytes]:
    parts: list[bytes] = []
    current = bytearray()
    quoted = False
    previous = 0
    i = 0
    while i < len(raw):
        byte = raw[i]
        if quoted:
            # a backslash right after a cp932 lead byte is the trail byte of a character (表 is 95 5C)
            if byte == 0x5C and i + 1 < len(raw) and not (0x81 <= previous <= 0x9F or 0xE0 <= previous <= 0xFC):
                current += raw[i:i + 2]
                previous = raw[i + 1]
                i += 2
                continue
            if byte == 0x22:
                quoted = False
        elif byte == 0x22:
            quoted = True
        elif byte == 0x3B:
            parts.append(bytes(current))
            current.clear()
            previous, i = byte, i + 1
            continue
        current.append(byte)
        previous = byte
        i += 1
    parts.append(bytes(current))
    return parts


def _unquote(value: bytes) -> bytes:
    value = value.strip()
    if len(value) >= 2 and value[:1] == b'"':
        inner = value[1:-1] if value.endswith(b'"') else value[1:]
        out = bytearray()
        i = 0
        previous = 0
        while i < len(inner):
            byte = inner[i]
            if byte == 0x5C and i + 1 < len(inner) and not (0x81 <= previous <= 0x9F or 0xE0 <= previous <= 0xFC):
                out.append(inner[i + 1])
                previous = inner[i + 1]
                i += 2
                continue
            out.append(byte)
            previous = byte
            i += 1
        return bytes(out)
    return value


def _percent_decode(value: bytes) -> bytes:
    return re.sub(rb"%([0-9A-Fa-f]{2})", lambda m: bytes((int(m.group(1), 16),)), value)


def _parameters(value: str | None) -> tuple[str, dict[str, str]]:
    """('type/subtype' or disposition lowercase, {parameter name: decoded value}) of a MIME header."""
    if value is None:
        return "", {}
    raw = re.sub(rb"\r?\n(?=[ \t])", b"", _raw_bytes(value))
    pieces = _split_parameters(raw)
    main = pieces[0].strip().decode("ascii", "replace").lower()
    plain: dict[str, bytes] = {}
    extended: dict[str, dict[int, tuple[bool, bytes]]] = {}
    for piece in pieces[1:]:
        name, equals, data = piece.partition(b"=")
        if not equals:
            continue
        key = name.strip().decode("ascii", "replace").lower()
        if "*" in key:
            base, _, rest = key.partition("*")
            encoded = rest.endswith("*") or rest == ""
            number = rest.rstrip("*")
            section = int(number) if number.isdigit() else 0
            extended.setdefault(base, {})[section] = (encoded, _unquote(data))
        elif key not in plain:
            plain[key] = _unquote(data)
    result = {key: decode_header_text(data.decode("ascii", "surrogateescape")) for key, data in plain.items()}
    for base, sections in extended.items():
        try:
            result[base] = _rfc2231(sections)
        except Exception:
            logger.debug("RFC 2231 parameter %s not decoded", base, exc_info=True)
    return main, result


def _rfc2231(sections: dict[int, tuple[bool, bytes]]) -> str:
    charset = None
    data = bytearray()
    first = min(sections)
    for number in sorted(sections):
        encoded, value = sections[number]
        if encoded:
            if number == first and value.count(b"'") >= 2:
                declared, _, rest = value.partition(b"'")
                _, _, value = rest.partition(b"'")
                charset = declared.decode("ascii", "replace") or None
            data += _percent_decode(value)
        else:
            data += value
    return decode_header_text(decode_bytes(bytes(data), charset))


def _clean_filename(name: str) -> str:
    name = unicodedata.normalize("NFC", _CONTROL.sub("", name.replace("\t", " "))).strip()
    name = re.split(r"[\\/]", name)[-1].strip()
    return "" if name in (".", "..") else name


# ---------------------------------------------------------------------------------------------------------------
# Parts


@dataclass
class _Leaf:
    """One leaf of a mail's MIME tree, as the parser or the server's BODYSTRUCTURE sees it."""

    part: Message
    content: bytes | None  # decoded payload; None if not loaded
    size: int | None = None  # when not loaded


def _content_type(part: Message) -> tuple[str, dict[str, str]]:
    headers = _headers(part)
    main, parameters = _parameters(_first(headers, "content-type"))
    if main.count("/") != 1 or not all(main.split("/")):
        main = "text/plain" if not main else "application/octet-stream"
    return main, parameters


def _is_attachment(part: Message, content_type: str, parameters: dict[str, str]) -> tuple[bool, str]:
    disposition, disposition_parameters = _parameters(_first(_headers(part), "content-disposition"))
    name = disposition_parameters.get("filename") or parameters.get("name") or ""
    filename = _clean_filename(name)
    attachment = bool(filename) or disposition.startswith("attachment") or content_type.startswith("message/")
    return attachment, filename


def _payload(part: Message) -> bytes:
    """The decoded bytes of a leaf part; never raises."""
    try:
        payload = part.get_payload()
        if isinstance(payload, list):  # message/rfc822 and friends: the enclosed message as it was
            return b"".join(_as_bytes(item) for item in payload if isinstance(item, Message))
        data = part.get_payload(decode=True)
        if isinstance(data, bytes):
            return data
    except Exception:
        logger.debug("payload not decoded", exc_info=True)
    try:
        payload = part.get_payload()
        return _raw_bytes(payload) if isinstance(payload, str) else b""
    except Exception:  # noqa: BLE001
        return b""


def _as_bytes(message: Message) -> bytes:
    try:
        return message.as_bytes(policy=compat32)
    except Exception:  # noqa: BLE001
        try:
            return _raw_bytes(message.as_string())
        except Exception:  # noqa: BLE001
            return b""


def _walk(message: Message, depth: int = 0) -> Iterator[Message]:
    """The leaves of a mail, in order; message/* parts are leaves (an attached mail is one attachment)."""
    if depth > _MAX_DEPTH:
        return
    payload = message.get_payload()
    main, _ = _content_type(message)
    if main.startswith("multipart/") and isinstance(payload, list):
        for item in payload:
            if isinstance(item, Message):
                yield from _walk(item, depth + 1)
    else:
        yield message


class _TextOfHtml(HTMLParser):
    _BREAKS: ClassVar[set[str]] = {"br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "table", "blockquote"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "head"):
            self._skip += 1
        elif tag in self._BREAKS:
            self.text.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "head"):
            self._skip = max(0, self._skip - 1)
        elif tag in self._BREAKS:
            self.text.append("\n")

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def _strip_html(html: str) -> str:
    parser = _TextOfHtml()
    with contextlib.suppress(Exception):
        parser.feed(html)
        parser.close()
    text = "".join(parser.text)
    text = re.sub(r"[ \t\u3000]*\n[ \t\u3000]*", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _text(part: Message, content: bytes) -> str:
    _, parameters = _content_type(part)
    return decode_bytes(content, parameters.get("charset")).replace("\r\n", "\n").rstrip()


def _assemble(uid: int, uidvalidity: int, top: Message, leaves: list[_Leaf], max_bytes: int) -> IncomingMail:
    headers = _headers(top)
    sender_name, sender = _address(_first(headers, "from"))
    _, reply_to = _address(_first(headers, "reply-to"))
    attachments: list[MailAttachment] = []
    plain: str | None = None
    html: str | None = None
    for leaf in leaves[:_MAX_PARTS]:
        try:
            content_type, parameters = _content_type(leaf.part)
            attachment, filename = _is_attachment(leaf.part, content_type, parameters)
            if attachment:
                content = leaf.content
                size = len(content) if content is not None else (leaf.size or 0)
                if content is not None and size > max_bytes:
                    content = None
                attachments.append(MailAttachment(len(attachments), filename, content_type, content, size))
            elif leaf.content is None:
                continue
            elif plain is None and (content_type == "text/plain" or content_type.startswith("multipart/")):
                plain = _text(leaf.part, leaf.content)  # a multipart without a usable boundary: shown as text
            elif html is None and content_type == "text/html":
                html = _text(leaf.part, leaf.content)
        except Exception:
            logger.debug("part skipped", exc_info=True)
    body = plain if plain is not None else (_strip_html(html) if html is not None else "")
    authentication = _first(headers, "authentication-results")
    return IncomingMail(
        uid=uid,
        uidvalidity=uidvalidity,
        message_id=_message_id(_first(headers, "message-id")) or _synthetic_id(uid, uidvalidity),
        sender=sender,
        sender_name=sender_name,
        reply_to=reply_to or None,
        subject=decode_header_text(_first(headers, "subject")),
        date=_date(_first(headers, "date")),
        in_reply_to=(_replied_ids(headers.get("in-reply-to", [])[:1]) or [None])[0],
        references=tuple(_message_ids(_first(headers, "references"))[:_MAX_REFERENCES]),
        body=body,
        attachments=tuple(attachments),
        authentication_results=_header_text(authentication).strip() if authentication is not None else None,
        auto_submitted=_auto_submitted(headers),
        replied_to=_replied_to(headers),
    )


def _replied_ids(values: list[str]) -> list[str]:
    """The Message-IDs of header values: every '<…>' in each, or the value itself when it is a bare ID."""
    found: list[str] = []
    for value in values:
        ids = _message_ids(value)
        if not ids:
            bare = _message_id(value)
            ids = [bare] if bare else []
        found.extend(ids)
    return found


def _replied_to(headers: dict[str, list[str]]) -> tuple[str, ...]:
    """Every In-Reply-To ID, then every References ID (all such headers: some clients write two), once each."""
    wanted = [*_replied_ids(headers.get("in-reply-to", [])[:_MAX_HEADERS]),
              *(i for value in headers.get("references", [])[:_MAX_HEADERS] for i in _message_ids(value))]
    return tuple(dict.fromkeys(wanted))[:2 * _MAX_REFERENCES]


def _synthetic_id(uid: int, uidvalidity: int) -> str:
    return f"<uid-{uidvalidity}-{uid}@mailbox>"


def _parse(raw: bytes, *, headers_only: bool = False) -> Message:
    return BytesParser(policy=compat32).parsebytes(raw, headersonly=headers_only)


def parse_mail(raw: bytes, *, uid: int = 0, uidvalidity: int = 0, max_bytes: int = DEFAULT_MAX_BYTES) -> IncomingMail:
    """A whole mail (RFC 5322 bytes) read as `Mailbox.messages()` reads it; never raises."""
    try:
        top = _parse(raw)
        leaves = [_Leaf(part, _payload(part)) for part in _walk(top)]
        return _assemble(uid, uidvalidity, top, leaves, max_bytes)
    except Exception as exc:
        logger.warning("mail uid %s: MIME structure not readable (%s), headers only", uid, type(exc).__name__)
        logger.debug("mail uid %s", uid, exc_info=True)
    try:
        return _assemble(uid, uidvalidity, _parse(raw, headers_only=True), [], max_bytes)
    except Exception:
        logger.warning("mail uid %s: not readable at all", uid, exc_info=True)
        return _unreadable(uid, uidvalidity)


def _unreadable(uid: int, uidvalidity: int) -> IncomingMail:
    return IncomingMail(uid, uidvalidity, _synthetic_id(uid, uidvalidity), "", "", None, "", None, None, (), "", (),
                        None, False)


# ---------------------------------------------------------------------------------------------------------------
# IMAP responses


class _ResponseError(ValueError):
    pass


class _Literal(bytes):
    pass


_TOKEN = re.compile(rb"""
    (?P<space>[ \t\r\n]+)
  | (?P<open>\()
  | (?P<close>\))
  | (?P<quoted>"(?:[^"\\]|\\.)*")
  | (?P<literal>~?\{\d+\+?\}$)
  | (?P<atom>[^ \t\r\n()"\[\]{]+(?:\[[^\]]*\](?:<\d+>)?)?)
""", re.VERBOSE | re.DOTALL)


def _tokens(data: list[Any]) -> Iterator[Any]:
    """Tokens of imaplib's response data: '(' ')', atoms as str (digits as int, NIL as None), strings as bytes."""
    for item in data:
        if item is None:
            continue
        if isinstance(item, tuple):
            text, literal = item[0], item[1]
        else:
            text, literal = item, None
        position = 0
        while position < len(text):
            match = _TOKEN.match(text, position)
            if match is None:
                raise _ResponseError(f"unexpected response text {text[position:position + 40]!r}")
            position = match.end()
            kind = match.lastgroup
            value = match.group(kind)
            if kind == "space":
                continue
            if kind in ("open", "close"):
                yield value.decode()
            elif kind == "quoted":
                yield re.sub(rb"\\(.)", rb"\1", value[1:-1])
            elif kind == "literal":
                if literal is None:
                    raise _ResponseError("literal without data")
                yield _Literal(literal)
                literal = None
            else:
                atom = value.decode("ascii", "replace")
                yield None if atom.upper() == "NIL" else int(atom) if atom.isdigit() else atom
        if literal is not None:
            raise _ResponseError("data without literal")


def _parse_values(data: list[Any]) -> list[Any]:
    """A response as nested Python lists."""
    stack: list[list[Any]] = [[]]
    for token in _tokens(data):
        if token == "(":
            stack.append([])
        elif token == ")":
            if len(stack) == 1:
                raise _ResponseError("unbalanced ')'")
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(token)
    if len(stack) != 1:
        raise _ResponseError("unbalanced '('")
    return stack[0]


def _fetch_items(data: list[Any]) -> list[dict[str, Any]]:
    """FETCH responses (sequence number, then a list of item names and values) as {ITEM: value} dicts."""
    values = _parse_values(data)
    found = []
    for i in range(0, len(values) - 1, 2):
        number, items = values[i], values[i + 1]
        if not isinstance(number, int) or not isinstance(items, list):
            raise _ResponseError("not a FETCH response")
        found.append({str(items[j]).upper(): items[j + 1] for j in range(0, len(items) - 1, 2)})
    return found


def _fetch_of(data: list[Any], uid: int) -> dict[str, Any] | None:
    """The items of the response about `uid` (others may be unsolicited flag updates), merged."""
    merged: dict[str, Any] = {}
    for items in _fetch_items(data):
        if items.get("UID") == uid:
            merged.update(items)
    return merged or None


@dataclass
class _StructureLeaf:
    section: str
    content_type: str
    encoding: str
    size: int


def _structure_leaves(structure: Any, section: str = "", depth: int = 0) -> list[_StructureLeaf]:
    if not isinstance(structure, list) or depth > _MAX_DEPTH:
        return []
    if structure and isinstance(structure[0], list):  # multipart: the parts, then the subtype
        leaves: list[_StructureLeaf] = []
        children = itertools.takewhile(lambda item: isinstance(item, list), structure)  # then subtype, extensions
        for number, child in enumerate(children, start=1):
            leaves += _structure_leaves(child, f"{section}.{number}" if section else str(number), depth + 1)
            if len(leaves) >= _MAX_PARTS:
                break
        return leaves
    if len(structure) < 7:
        return []

    def text(value: Any) -> str:
        return value.decode("ascii", "replace").lower() if isinstance(value, bytes) else str(value or "").lower()

    size = structure[6] if isinstance(structure[6], int) else 0
    return [_StructureLeaf(section or "1", f"{text(structure[0])}/{text(structure[1])}", text(structure[5]), size)]


def _estimated_size(leaf: _StructureLeaf) -> int:
    if leaf.encoding == "base64":
        return max(0, leaf.size - 2 * (leaf.size // 78)) * 3 // 4
    return leaf.size


# ---------------------------------------------------------------------------------------------------------------
# Mailbox names


def _utf7(name: str) -> str:
    """A mailbox name in IMAP's modified UTF-7 (RFC 3501 5.1.3)."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            encoded = base64.b64encode("".join(pending).encode("utf-16-be")).decode("ascii")
            out.append("&" + encoded.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---------------------------------------------------------------------------------------------------------------
# The mailbox


class Mailbox:
    """The office's mailbox over IMAP; a context manager. It connects on first use."""

    _backoff = 0.5  # seconds before the first reconnect; doubles each time in a row

    def __init__(self, settings: MailSettings, *, max_bytes: int = DEFAULT_MAX_BYTES, reconnects: int = 3):
        self.settings = settings
        self.max_bytes = max_bytes
        self.reconnects = reconnects
        self._imap: imaplib.IMAP4 | None = None
        self._uidvalidity = 0
        self._exists = 0
        self._capabilities: set[str] = set()
        self._permanent_flags: set[str] = set()
        self._taken: str | None = None  # the taken folder's name on this server, once known to exist

    # -- life cycle

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Log out (never CLOSE: that would expunge whatever a person flagged deleted)."""
        imap, self._imap = self._imap, None
        if imap is not None:
            try:
                imap.logout()
            except Exception:  # noqa: BLE001
                _shutdown(imap)

    def check(self) -> str:
        """Log in, open the inbox, log out: where replies are read from; NotificationError if that fails."""
        s = self.settings
        self.close()
        try:
            self._open(readonly=False)  # EXAMINE would show no PERMANENTFLAGS
            count = self._exists
            keywords = "\\*" in self._permanent_flags or LEFT_KEYWORD in self._permanent_flags
        except _DROPPED as exc:
            raise NotificationError(f"メールサーバー {s.imap_host}:{s.imap_port} に接続できません: {exc}",
                                    target=s.imap_host) from exc
        except imaplib.IMAP4.error as exc:
            raise self._refused(exc) from exc
        finally:
            self.close()
        note = "" if keywords else (f"（注意: このサーバーは {LEFT_KEYWORD} を保存できないため、"
                                    "人が確認するメールも毎回読み直します）")
        return (f"受信メール: {s.username}@{s.imap_host}:{s.imap_port}（{s.imap_security}）の"
                f"「{s.inbox}」を確認しました（{count} 通）{note}")

    # -- reading

    def messages(self) -> Iterator[IncomingMail]:
        """Every mail of the inbox not left before (nor flagged deleted), oldest first, one at a time."""
        last_uid = 0
        validity: int | None = None
        yielded: set[str] = set()  # Message-IDs, consulted only if the UIDs were renumbered mid-run
        renumbered = False
        failures = 0
        while True:
            try:
                self._ensure()
                if validity is not None and self._uidvalidity != validity:
                    logger.warning("UIDVALIDITY of %s changed during the run: reading it again", self.settings.inbox)
                    last_uid, renumbered = 0, True
                validity = self._uidvalidity
                for uid in self._search(last_uid):
                    if self._uidvalidity != validity:
                        break  # reconnected by mark_taken/leave to a renumbered mailbox: search again
                    mail = self._read(uid)
                    last_uid = uid
                    failures = 0
                    if mail is None or (renumbered and mail.message_id in yielded):
                        continue
                    yielded.add(mail.message_id)
                    yield mail
                else:
                    return
            except _DROPPED as exc:
                failures += 1
                self._dropped(exc, failures)
            except imaplib.IMAP4.error as exc:
                raise self._refused(exc) from exc

    def _refused(self, exc: imaplib.IMAP4.error) -> NotificationError:
        """A command the server rejected (BAD) or imaplib could not read: the run stops and says so."""
        self._discard()
        return NotificationError(f"メールサーバー {self.settings.imap_host} とのやり取りに失敗しました: {exc}",
                                 target=self.settings.imap_host)

    def _discard(self) -> None:
        imap, self._imap = self._imap, None
        if imap is not None:
            _shutdown(imap)

    def _dropped(self, exc: BaseException, failures: int) -> None:
        s = self.settings
        self._discard()
        if failures > self.reconnects:
            raise NotificationError(
                f"メールサーバー {s.imap_host}:{s.imap_port} との接続に {failures} 回続けて失敗しました: {exc}",
                target=s.imap_host) from exc
        logger.warning("IMAP connection to %s lost (%s): reconnecting (%d/%d)", s.imap_host, exc, failures,
                       self.reconnects)
        time.sleep(self._backoff * 2 ** (failures - 1))

    def _retrying(self, operation: Callable[[], T]) -> T:
        failures = 0
        while True:
            try:
                self._ensure()
                return operation()
            except _DROPPED as exc:
                failures += 1
                self._dropped(exc, failures)
            except imaplib.IMAP4.error as exc:
                raise self._refused(exc) from exc

    def _search(self, after_uid: int) -> list[int]:
        imap = self._ensure()
        typ, data = imap.uid("SEARCH", "UID", f"{after_uid + 1}:*", "NOT", "DELETED", "NOT", "KEYWORD", LEFT_KEYWORD)
        self._ok(typ, data, "検索")
        uids = {int(word) for line in data if isinstance(line, bytes) for word in line.split() if word.isdigit()}
        return sorted(uid for uid in uids if uid > after_uid)  # 'n:*' always matches the highest UID

    def _read(self, uid: int) -> IncomingMail | None:
        """One mail, or None if it is gone; a mail the server cannot serve comes with what it could."""
        imap = self._ensure()
        try:
            typ, data = imap.uid("FETCH", str(uid), "(UID RFC822.SIZE)")
            self._ok(typ, data, "取得")
            info = _fetch_of(data, uid)
            if info is None:
                return None
            size = info.get("RFC822.SIZE")
            if isinstance(size, int) and size <= self.max_bytes:
                typ, data = imap.uid("FETCH", str(uid), "(UID BODY.PEEK[])")
                self._ok(typ, data, "取得")
                item = _fetch_of(data, uid)
                if item is None or not isinstance(item.get("BODY[]"), bytes):
                    return None
                return parse_mail(item["BODY[]"], uid=uid, uidvalidity=self._uidvalidity, max_bytes=self.max_bytes)
            return self._read_large(uid)
        except (imaplib.IMAP4.abort, OSError, EOFError):
            raise
        except (imaplib.IMAP4.error, _ResponseError, NotificationError) as exc:
            logger.warning("mail uid %s: not fetched whole (%s); headers only", uid, exc)
            if isinstance(exc, imaplib.IMAP4.error) and "got more than" in str(exc):
                self._discard()  # imaplib's line limit: the stream is out of step, start a new session
                imap = self._ensure()
        try:
            typ, data = imap.uid("FETCH", str(uid), "(UID BODY.PEEK[HEADER])")
            item = _fetch_of(data, uid) if typ == "OK" else None
            header = item.get("BODY[HEADER]") if item else None
            if not isinstance(header, bytes):
                return _unreadable(uid, self._uidvalidity)
            return _assemble(uid, self._uidvalidity, _parse(header, headers_only=True), [], self.max_bytes)
        except (imaplib.IMAP4.abort, OSError, EOFError):
            raise
        except Exception:
            logger.warning("mail uid %s: not readable", uid, exc_info=True)
            return _unreadable(uid, self._uidvalidity)

    def _read_large(self, uid: int) -> IncomingMail | None:
        """A mail over max_bytes: its structure first, then only the headers and the parts under the limit."""
        imap = self._ensure()
        typ, data = imap.uid("FETCH", str(uid), "(UID BODYSTRUCTURE BODY.PEEK[HEADER])")
        self._ok(typ, data, "取得")
        item = _fetch_of(data, uid)
        if item is None:
            return None
        header = item.get("BODY[HEADER]") if isinstance(item.get("BODY[HEADER]"), bytes) else b""
        structure = item.get("BODYSTRUCTURE")
        single = not (isinstance(structure, list) and structure and isinstance(structure[0], list))
        parts = _structure_leaves(structure)
        wanted = []
        for leaf in parts:
            if not single:
                wanted.append(f"BODY.PEEK[{leaf.section}.MIME]")
            if _estimated_size(leaf) <= self.max_bytes:
                wanted.append(f"BODY.PEEK[{leaf.section}]")
        contents: dict[str, Any] = {}
        if wanted:
            typ, data = imap.uid("FETCH", str(uid), f"(UID {' '.join(wanted)})")
            self._ok(typ, data, "取得")
            contents = _fetch_of(data, uid) or {}
        leaves = []
        for leaf in parts:
            mime = header if single else contents.get(f"BODY[{leaf.section}.MIME]")
            mime = mime if isinstance(mime, bytes) else b""
            if mime and not mime.endswith((b"\n\n", b"\r\n\r\n")):
                mime += b"\r\n"
            body = contents.get(f"BODY[{leaf.section}]")
            if isinstance(body, bytes):
                part = _parse(mime + (b"" if mime else b"\r\n") + body)
                leaves.append(_Leaf(part, _payload(part)))
            else:
                leaves.append(_Leaf(_parse(mime or b"\r\n", headers_only=True), None, self._binary_size(uid, leaf)))
        return _assemble(uid, self._uidvalidity, _parse(header, headers_only=True), leaves, self.max_bytes)

    def _binary_size(self, uid: int, leaf: _StructureLeaf) -> int:
        """The decoded size of a part not downloaded: the server's BINARY.SIZE (RFC 3516), else an estimate."""
        if "BINARY" in self._capabilities:
            imap = self._ensure()
            try:
                typ, data = imap.uid("FETCH", str(uid), f"(UID BINARY.SIZE[{leaf.section}])")
                item = _fetch_of(data, uid) if typ == "OK" else None
                size = item.get(f"BINARY.SIZE[{leaf.section}]") if item else None
                if isinstance(size, int):
                    return size
            except (imaplib.IMAP4.abort, OSError, EOFError):
                raise
            except (imaplib.IMAP4.error, _ResponseError):
                pass
        return _estimated_size(leaf)

    # -- tidying

    def mark_taken(self, mail: IncomingMail) -> None:
        """Move the mail to the taken folder (created if missing); a mail already gone is fine."""
        self._retrying(lambda: self._move(mail))

    def leave(self, mail: IncomingMail) -> None:
        """Flag the mail with $TenkenLeft (nothing else: it stays unread) so that later runs skip it."""
        self._retrying(lambda: self._leave(mail))

    def _move(self, mail: IncomingMail) -> None:
        imap = self._ensure()
        uids = self._uids_of(mail)
        if not uids:
            return
        folder = self._taken_folder()
        numbers = ",".join(map(str, uids))
        if "MOVE" in self._capabilities:
            typ, data = imap.uid("MOVE", numbers, folder)
            self._ok(typ, data, f"「{self.settings.taken_folder}」への移動")
            return
        typ, data = imap.uid("COPY", numbers, folder)
        self._ok(typ, data, f"「{self.settings.taken_folder}」へのコピー")
        typ, data = imap.uid("STORE", numbers, "+FLAGS.SILENT", "(\\Deleted)")
        self._ok(typ, data, "削除済みの印付け")
        if "UIDPLUS" in self._capabilities:
            typ, data = imap.uid("EXPUNGE", numbers)
        else:
            typ, data = imap.expunge()
        self._ok(typ, data, "受信フォルダからの除去")

    def _leave(self, mail: IncomingMail) -> None:
        imap = self._ensure()
        if "\\*" not in self._permanent_flags and LEFT_KEYWORD not in self._permanent_flags:
            raise NotificationError(f"メールサーバー {self.settings.imap_host} の「{self.settings.inbox}」には"
                                    f"キーワード {LEFT_KEYWORD} を付けられません（人が確認するメールの印を残せません）",
                                    target=self.settings.imap_host)
        uids = self._uids_of(mail)
        if uids:
            typ, data = imap.uid("STORE", ",".join(map(str, uids)), "+FLAGS.SILENT", f"({LEFT_KEYWORD})")
            self._ok(typ, data, f"キーワード {LEFT_KEYWORD} の付与")

    def _uids_of(self, mail: IncomingMail) -> list[int]:
        """The mail's UID now: its own while UIDVALIDITY holds, else found again by Message-ID; [] if gone."""
        imap = self._ensure()
        if mail.uidvalidity == self._uidvalidity:
            typ, data = imap.uid("SEARCH", "UID", str(mail.uid))
        elif mail.message_id.startswith("<uid-") or not mail.message_id.isascii():
            logger.warning("mail %s: UIDVALIDITY changed and it has no Message-ID to find it by", mail.message_id)
            return []
        else:
            typ, data = imap.uid("SEARCH", "HEADER", "Message-ID", _quoted(mail.message_id))
        self._ok(typ, data, "検索")
        return sorted({int(w) for line in data if isinstance(line, bytes) for w in line.split() if w.isdigit()})

    def _taken_folder(self) -> str:
        """The taken folder as this server names it (its hierarchy delimiter, modified UTF-7), created if missing."""
        if self._taken is not None:
            return self._taken
        imap = self._ensure()
        name = self.settings.taken_folder
        delimiter = "/"
        typ, data = imap.list('""', '""')
        if typ == "OK" and data and data[0]:
            try:
                values = _parse_values(data[:1])
                if len(values) >= 2 and isinstance(values[1], bytes) and values[1]:
                    delimiter = values[1].decode("ascii", "replace")
            except _ResponseError:
                pass
        if delimiter != "/":
            name = name.replace("/", delimiter)
        folder = _quoted(_utf7(name))
        typ, data = imap.list('""', folder)
        if typ != "OK" or not any(item for item in data if item):
            typ, data = imap.create(folder)
            if typ != "OK" and b"ALREADYEXISTS" not in b" ".join(d for d in data if isinstance(d, bytes)).upper():
                self._ok(typ, data, f"フォルダ「{self.settings.taken_folder}」の作成")
            imap.subscribe(folder)
        self._taken = folder
        return folder

    # -- connection

    def _ensure(self) -> imaplib.IMAP4:
        if self._imap is None:
            self._open(readonly=False)
        assert self._imap is not None
        return self._imap

    def _open(self, *, readonly: bool) -> None:
        s = self.settings
        if not s.imap_host:
            raise NotificationError("受信メールの IMAP サーバーが設定されていません（mail の imap_host）")
        if not s.username or s.password is None:
            raise NotificationError(f"IMAP サーバー {s.imap_host} のユーザー名またはパスワードが設定されていません",
                                    target=s.imap_host)
        if s.imap_security not in ("ssl", "starttls", "none"):
            raise NotificationError(f"IMAP の暗号化方式 {s.imap_security!r} は使えません（ssl, starttls, none）",
                                    target=s.imap_host)
        try:
            if s.imap_security == "ssl":
                imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(s.imap_host, s.imap_port, ssl_context=ssl.create_default_context(),
                                                        timeout=s.timeout)
            else:
                imap = imaplib.IMAP4(s.imap_host, s.imap_port, timeout=s.timeout)
        except ssl.SSLCertVerificationError as exc:
            raise self._untrusted(exc) from exc
        except socket.gaierror as exc:
            raise NotificationError(f"メールサーバー {s.imap_host} が見つかりません: {exc}", target=s.imap_host) from exc
        try:
            if s.imap_security == "starttls":
                try:
                    imap.starttls(ssl.create_default_context())
                except ssl.SSLCertVerificationError as exc:
                    raise self._untrusted(exc) from exc
                except imaplib.IMAP4.abort:
                    raise
                except imaplib.IMAP4.error as exc:
                    raise NotificationError(f"メールサーバー {s.imap_host}:{s.imap_port} で STARTTLS を使えません: {exc}",
                                            target=s.imap_host) from exc
            self._login(imap)
            typ, data = imap.capability()
            words = b" ".join(d for d in data if isinstance(d, bytes)).decode("ascii", "replace").upper().split()
            self._capabilities = set(words)
            typ, data = imap.select(_quoted(_utf7(s.inbox)), readonly=readonly)
            if typ != "OK":
                raise NotificationError(f"受信フォルダ「{s.inbox}」を開けません: {_said(data)}", target=s.imap_host)
            self._exists = int(data[0]) if data and data[0] and data[0].isdigit() else 0
            _, validity = imap.response("UIDVALIDITY")
            self._uidvalidity = int(validity[0]) if validity and validity[0] and validity[0].isdigit() else 0
            _, flags = imap.response("PERMANENTFLAGS")
            self._permanent_flags = set(b" ".join(f for f in flags if isinstance(f, bytes)).decode(
                "ascii", "replace").strip("() ").split())
        except BaseException:
            _shutdown(imap)
            raise
        self._imap = imap
        self._taken = None

    def _untrusted(self, exc: ssl.SSLCertVerificationError) -> NotificationError:
        s = self.settings
        return NotificationError(f"メールサーバー {s.imap_host}:{s.imap_port} の証明書を確認できません: {exc}",
                                 target=s.imap_host)

    def _login(self, imap: imaplib.IMAP4) -> None:
        s = self.settings
        assert s.username is not None and s.password is not None
        try:
            if s.username.isascii() and s.password.isascii():
                imap.login(s.username, s.password)
            else:
                credentials = f"\0{s.username}\0{s.password}".encode()
                imap.authenticate("PLAIN", lambda _: credentials)
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error as exc:
            raise NotificationError(f"メールサーバー {s.imap_host} に {s.username} でログインできません"
                                    f"（ユーザー名とパスワードを確認してください）: {exc}", target=s.imap_host) from exc

    def _ok(self, typ: str, data: list[Any], what: str) -> None:
        if typ != "OK":
            raise NotificationError(f"メールサーバー {self.settings.imap_host} で{what}に失敗しました: {_said(data)}",
                                    target=self.settings.imap_host)


def _said(data: list[Any]) -> str:
    return " ".join(d.decode("utf-8", "replace") for d in data if isinstance(d, bytes))


def _shutdown(imap: imaplib.IMAP4) -> None:
    with contextlib.suppress(Exception):
        imap.shutdown()

"""The review site: reviewers open a round's draft report over HTTP through signed links that expire.

Each review round renders its draft into `<var>/cycles/<plan id>/<year>/review/round-<n>/` (the PDF,
the HTML page, the annex CSV/JSON and its column dictionary, the discrepancies CSV; see
tenken.services.compiling). One site serves every plan of the var folder: an office that runs
several plans on one server runs one review site, and each link names its plan. Reviewers sit at
their desks and cannot open a server path, so the message that asks for their review carries a link
to this small site instead. It is *not* the public site: nothing here is listed, indexed or cached,
and every file needs a signed link.

Why signed links. Reviewers have no accounts on this server, and a draft must not be readable
by whoever guesses its address. A link carries an expiry time and an HMAC-SHA256 (tenken.identity
`Signer.digest`, purpose "review-link", under the office's submission key, scoped to the review
site) over the round folder (plan id, year, round) and that expiry. Only the server holds the key,
so nobody can make a link, lengthen one, or turn a link of round 1 into one of round 2, of another
year, or of another plan (a link of plan A with plan B's id in its path does not check out). Links
expire with the round: the office signs them with the round's end as expiry, and after it the site
answers with a page that says so and whom to ask.

Why the signature sits in the path, not the query string. The signature covers the round folder,
not one file, and the link's prefix carries it:

    {base_url}/r/{expires}/{sig}/{plan_id}/fy{year}/round-{n}/{file_name}

so a relative link inside a draft HTML page (`annex-2020.csv`, an image next to it) resolves to
`/r/{expires}/{sig}/{plan_id}/fy{year}/round-{n}/annex-2020.csv`, which is signed as well. A query string
would be dropped by every relative link.

What is refused.
  * Anything but GET and HEAD: 405.
  * Any path that is not exactly
    `/r/<digits>/<64 hex>/<plan id>/fy<year>/round-<n>/<plain file name>` (`..`, encoded slashes
    or backslashes, NUL, dotfiles, sub-folders, absolute paths, a plan id not of plan.yaml's
    `plan.id` shape, odd characters): 404, without touching the file system.
  * A path of the right folder shape with a missing, malformed, tampered or expired signature,
    or one made for another round, year, plan or key: 403 with a short Japanese page saying why.
    So is a link of the shape used before plan ids (`/r/<expires>/<sig>/fy<year>/round-<n>/…`,
    or that folder path alone): the person is told to ask for a new link.
  * A valid link to a file that is not there, or that (through a symlink) lies outside the
    round's folder, or is not a regular file: 404.

Files are streamed in chunks with `Cache-Control: no-store, private`, `X-Robots-Tag: noindex`,
`Referrer-Policy: no-referrer` (the signed link must not leak to other sites) and `nosniff`; HTML
and SVG also get a Content-Security-Policy that allows same-origin resources only (inline styles
are allowed because the report carries its stylesheet in a <style> element; no scripts at all).
The log line of each request hides the signature. `GET /health` answers "ok" for scripts that
wait for the site to start.

    python -m tenken.review_site [--host 127.0.0.1] [--port 4310]
"""

from __future__ import annotations

import hmac
import html
import os
import re
import socket
import stat
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlsplit

if TYPE_CHECKING:
    from tenken.identity import Signer
    from tenken.settings import Settings

PURPOSE = "review-link"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4310
CHUNK = 64 * 1024
JST = timezone(timedelta(hours=9), "JST")

FILE_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}"
_FILE_NAME = re.compile(FILE_NAME)
PLAN_ID = r"[a-z0-9][a-z0-9_-]{0,62}"  # plan.yaml's plan.id (tenken.core.plan.Plan.id)
_PLAN_ID = re.compile(PLAN_ID)
_ROUND = r"/fy\d{4}/round-\d{1,4}/" + FILE_NAME + r"$"
_SIGNED = re.compile(r"^/r/(\d{1,12})/([0-9a-f]{64})/(" + PLAN_ID + r")/fy(\d{4})/round-(\d{1,4})/("
                     + FILE_NAME + r")$")
# A review link whose signature part is damaged (cut short, retyped), or the folder path alone:
# the person is told that the link is not valid (403) instead of "not found".
_BADLY_SIGNED = re.compile(r"^/r/[^/]{0,100}/[^/]{0,100}/" + PLAN_ID + _ROUND)
_UNSIGNED = re.compile(r"^/" + PLAN_ID + _ROUND)
# A link of the shape used before plan ids (no plan in the path), signed or not: it can only have
# come from an older message, so the person is told to ask for a new link (403), not "not found".
_OLD_SHAPE = re.compile(r"^(?:/r/\d{1,12}/[0-9a-f]{64})?" + _ROUND)
_LOGGED_SIGNATURE = re.compile(r"/r/([^/\s]*)/[^/\s]+/")

INVALID = ("このリンクは無効です。点検事務局からお送りしたリンクを、途中で切れたり書き換わったりしていないか"
           "確認のうえ、そのまま開いてください。開けない場合は点検事務局に新しいリンクを依頼してください。")
EXPIRED = "このリンクの有効期限（{expiry}）が切れました。点検事務局に新しいリンクを依頼してください。"
NOT_FOUND = ("お探しのファイルは見つかりません。このレビューのファイルが差し替えられた可能性があります。"
             "点検事務局にお問い合わせください。")
NOT_ALLOWED = "この操作はできません。リンクを開いて閲覧してください。"
BAD_REQUEST = "要求を処理できませんでした。リンクをそのまま開いてください。"
SERVER_ERROR = "サーバーでエラーが発生しました。時間をおいて開き直すか、点検事務局にお問い合わせください。"

CONTENT_TYPES = {
    ".pdf": "application/pdf",
    ".html": "text/html; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".json": "application/json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".css": "text/css; charset=utf-8",
}
BINARY = "application/octet-stream"
# Same-origin resources only; inline styles because the report carries its stylesheet inline (and
# its chart is inline SVG). No script, no plugin, no form, no framing, no <base>.
DOCUMENT_CSP = ("default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self'; font-src 'self'; "
                "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
PRIVATE_HEADERS = {
    "Cache-Control": "no-store, private",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


# ---------------------------------------------------------------------------------------- links

def _round_text(plan_id: str, fiscal_year: int, round: int, expires: int) -> str:
    # A plan id never holds "/" or "\x1f" (PLAN_ID), so each text names one round of one plan.
    return f"{plan_id}/fy{fiscal_year}/round-{round}\x1f{expires}"


def _check_place(plan_id: str, fiscal_year: int, round: int) -> None:
    if not isinstance(plan_id, str) or not _PLAN_ID.fullmatch(plan_id):
        raise ValueError(f"no plan id {plan_id!r} (plan.yaml's plan.id: {PLAN_ID})")
    if not 1000 <= fiscal_year <= 9999 or not 0 <= round <= 9999:
        raise ValueError(f"no review round {plan_id}/fy{fiscal_year}/round-{round}")


def _timestamp(moment: datetime, what: str) -> float:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {moment!r}")
    return moment.timestamp()


LINK_SCOPE = "review-site"


def link_signer(settings: Settings) -> Signer:
    """The signer of review links: the office's key (as for submission tokens, see Settings.signer),
    scoped to the review site rather than a plan, so the site and every flow agree without a plan folder."""
    return settings.signer(LINK_SCOPE)


def link_signature(signer: Signer, plan_id: str, fiscal_year: int, round: int, expires: int) -> str:
    """The signature of one plan's round's links that expire at `expires` (Unix time): hex HMAC-SHA256."""
    _check_place(plan_id, fiscal_year, round)
    return signer.digest(PURPOSE, _round_text(plan_id, fiscal_year, round, expires))


def draft_link(base_url: str, signer: Signer, plan_id: str, fiscal_year: int, round: int, file_name: str,
               expires_at: datetime) -> str:
    """The signed link to one file of a plan's review round's folder, valid until `expires_at` (aware).

    `{base_url}/r/{expires}/{sig}/{plan_id}/fy{year}/round-{n}/{file_name}`; every sibling file of
    the round is reachable through the same prefix. ValueError for a plan id, round or name the
    site would never serve."""
    _check_place(plan_id, fiscal_year, round)
    if not _FILE_NAME.fullmatch(file_name) or ".." in file_name:
        raise ValueError(f"the review site does not serve a file named {file_name!r}")
    expires = int(_timestamp(expires_at, "expires_at"))
    if not 0 <= expires <= 999_999_999_999:
        raise ValueError(f"expiry out of range: {expires_at!r}")
    sig = link_signature(signer, plan_id, fiscal_year, round, expires)
    return (f"{base_url.rstrip('/')}/r/{expires}/{sig}/{plan_id}/fy{fiscal_year}/round-{round}/"
            f"{quote(file_name, safe='')}")


def check_link(signer: Signer, plan_id: str, fiscal_year: int, round: int, expires: int, sig: str,
               now: datetime) -> str | None:
    """None when `sig` is this plan's round's signature for `expires` and it has not passed at `now`;
    otherwise the reason, in Japanese, for the person who opened the link."""
    try:
        expected = link_signature(signer, plan_id, fiscal_year, round, expires).encode("ascii")
    except ValueError:  # no such place: no signature can be right for it
        return INVALID
    given = (sig or "").encode("utf-8", "replace")
    if not hmac.compare_digest(expected, given):  # constant time, whatever `given` is
        return INVALID
    if _timestamp(now, "now") >= expires:
        return EXPIRED.format(expiry=_expiry_text(expires))
    return None


def _expiry_text(expires: int) -> str:
    """Unix time as Japanese civil time: '令和3年3月31日 23:59'."""
    from tenken.core.wareki import wareki_date

    try:
        moment = datetime.fromtimestamp(expires, JST)
    except (OverflowError, OSError, ValueError):
        return str(expires)
    try:
        day = wareki_date(moment.date())
    except ValueError:
        day = f"{moment.year}年{moment.month}月{moment.day}日"
    return f"{day} {moment:%H:%M}"


# ---------------------------------------------------------------------------------------- server

def content_type(file_name: str) -> str:
    return CONTENT_TYPES.get(os.path.splitext(file_name)[1].lower(), BINARY)


def _page(title: str, reason: str) -> bytes:
    """A short Japanese page; everything in it is escaped."""
    return (
        "<!DOCTYPE html>\n<html lang=\"ja\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"robots\" content=\"noindex, nofollow\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{html.escape(title)}｜点検報告書案のレビュー</title>\n"
        "<style>body{font-family:sans-serif;max-width:40em;margin:3em auto;padding:0 1em;line-height:1.7}</style>\n"
        "</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n<p>{html.escape(reason)}</p>\n"
        "</body>\n</html>\n"
    ).encode()


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text)


class ReviewServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], *, settings: Settings, signer: Signer,
                 clock: Callable[[], datetime]) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, ReviewHandler)
        self.settings = settings
        self.signer = signer
        self.clock = clock

    def round_folder(self, plan_id: str, fiscal_year: int, round: int) -> Path:
        """`<var>/cycles/<plan id>/<year>/review/round-<n>`, where compiling writes the plan's round's draft."""
        _check_place(plan_id, fiscal_year, round)  # never a folder out of a plan id of another shape
        return self.settings.cycle_dir(fiscal_year, plan_id) / "review" / f"round-{round}"

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}"


class ReviewHandler(BaseHTTPRequestHandler):
    server: ReviewServer
    server_version = "tenken-review"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    timeout = 30  # a silent client does not hold a thread forever

    # -------------------------------------------------------------- methods

    def do_GET(self) -> None:
        self._answer(head=False)

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def __getattr__(self, name: str):
        # Every other method (POST, PUT, DELETE, OPTIONS, anything) is 405, without reading a body.
        if name.startswith("do_"):
            return self._not_allowed
        raise AttributeError(name)

    def _not_allowed(self) -> None:
        self.close_connection = True
        self._refuse(HTTPStatus.METHOD_NOT_ALLOWED, "この操作はできません", NOT_ALLOWED,
                     extra={"Allow": "GET, HEAD", "Connection": "close"})

    # -------------------------------------------------------------- routing

    def _answer(self, head: bool) -> None:
        self._started = False
        try:
            raw = urlsplit(self.path).path
            if raw == "/health":
                self._send_bytes(HTTPStatus.OK, b"ok\n", "text/plain; charset=utf-8", head)
                return
            found = self._route(raw)
            if isinstance(found, tuple):
                self._refuse(*found, head=head)
            else:
                self._send_file(found, head)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # noqa: BLE001 - one request fails, the site stays up
            self.log_error("error serving %s: %r", self._redacted(self.path), exc)
            self.close_connection = True
            if self._started:  # the status line is out: all we can do is cut the body short
                return
            self._refuse(HTTPStatus.INTERNAL_SERVER_ERROR, "エラーが発生しました", SERVER_ERROR, head=head)

    def _route(self, raw: str) -> Path | tuple[HTTPStatus, str, str]:
        """The file a request path names, or (status, title, reason) of the refusal."""
        not_found = (HTTPStatus.NOT_FOUND, "ファイルが見つかりません", NOT_FOUND)
        lowered = raw.lower()
        if any(bad in lowered for bad in ("%2f", "%5c", "%00", "\\")):
            return not_found
        try:
            path = unquote(raw, errors="strict")
        except UnicodeDecodeError:
            return not_found
        if ".." in path or "//" in path or "\x00" in path:
            return not_found
        match = _SIGNED.fullmatch(path)
        if match is None:
            if _BADLY_SIGNED.fullmatch(path) or _UNSIGNED.fullmatch(path) or _OLD_SHAPE.fullmatch(path):
                return HTTPStatus.FORBIDDEN, "このリンクは無効です", INVALID
            return not_found
        expires_text, sig, plan_id, year_text, round_text, file_name = match.groups()
        if str(int(expires_text)) != expires_text or str(int(round_text)) != round_text:
            return not_found  # one spelling per link: no leading zeros
        fiscal_year, round, expires = int(year_text), int(round_text), int(expires_text)
        reason = check_link(self.server.signer, plan_id, fiscal_year, round, expires, sig, self.server.clock())
        if reason is not None:
            title = "このリンクは無効です" if reason == INVALID else "このリンクの有効期限が切れました"
            return HTTPStatus.FORBIDDEN, title, reason
        return self._file_in(self.server.round_folder(plan_id, fiscal_year, round), file_name) or not_found

    @staticmethod
    def _file_in(folder: Path, file_name: str) -> Path | None:
        """The regular file `file_name` of `folder`, its real path inside the folder's real path."""
        try:
            root = folder.resolve(strict=True)
            real = (folder / file_name).resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if real.parent != root:  # a symlink may point at a sibling, never out of the folder
            return None
        return real if real.is_file() else None

    # -------------------------------------------------------------- answers

    def _send_file(self, path: Path, head: bool) -> None:
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            self._refuse(HTTPStatus.NOT_FOUND, "ファイルが見つかりません", NOT_FOUND, head=head)
            return
        with open(fd, "rb", buffering=0) as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                self._refuse(HTTPStatus.NOT_FOUND, "ファイルが見つかりません", NOT_FOUND, head=head)
                return
            kind = content_type(path.name)
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(info.st_size))
            self.send_header("Content-Disposition", f"inline; filename*=UTF-8''{quote(path.name, safe='')}")
            for name, value in PRIVATE_HEADERS.items():
                self.send_header(name, value)
            if kind.startswith(("text/html", "image/svg+xml")):
                self.send_header("Content-Security-Policy", DOCUMENT_CSP)
                self.send_header("X-Frame-Options", "DENY")
            self.end_headers()
            self._started = True
            if head:
                return
            remaining = info.st_size
            while remaining > 0:  # the size we announced, even if the file grows meanwhile
                chunk = handle.read(min(CHUNK, remaining))
                if not chunk:
                    self.close_connection = True  # it shrank: the client sees a short body
                    break
                self.wfile.write(chunk)
                remaining -= len(chunk)

    def _refuse(self, status: HTTPStatus, title: str, reason: str, *, head: bool = False,
                extra: dict[str, str] | None = None) -> None:
        self._send_bytes(status, _page(title, reason), "text/html; charset=utf-8", head,
                         {"Content-Security-Policy": PAGE_CSP, **(extra or {})})

    def _send_bytes(self, status: HTTPStatus, body: bytes, kind: str, head: bool,
                    extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in {**PRIVATE_HEADERS, **(extra or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (bad request line, headers too long, …) as our Japanese page."""
        self.close_connection = True
        if message:
            self.log_error("%d %s", code, message)
        try:
            status = HTTPStatus(code)
        except ValueError:
            status = HTTPStatus.BAD_REQUEST
        reason = SERVER_ERROR if code >= 500 else BAD_REQUEST
        head = getattr(self, "command", None) == "HEAD"
        self._refuse(status, "要求を処理できませんでした", reason, head=head, extra={"Connection": "close"})

    # -------------------------------------------------------------- logging

    @staticmethod
    def _redacted(text: str) -> str:
        return _printable(_LOGGED_SIGNATURE.sub(r"/r/\1/…/", text))

    def version_string(self) -> str:
        return self.server_version  # no Python version in the Server header

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        line = getattr(self, "requestline", "")
        if code == HTTPStatus.OK and urlsplit(getattr(self, "path", "")).path == "/health":
            return  # scripts waiting for startup poll it
        status = int(code) if isinstance(code, int) else code
        sys.stderr.write(f"review-site {self.address_string()} \"{self._redacted(line)}\" {status}\n")

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"review-site {self.address_string()} {self._redacted(format % args)}\n")


def make_server(settings: Settings, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *,
                clock: Callable[[], datetime] | None = None) -> ReviewServer:
    """The review site for `settings`' var folder, bound (not yet serving): call serve_forever().

    It serves every plan's rounds under `<var>/cycles/` (the plan id is in each link). Links are
    signed under the var folder's key (link_signer), whichever plan the flow ran: the site needs no
    plan folder. `port` 0 picks a free port (see `server.server_address`); `clock`
    gives "now" (tests)."""
    return ReviewServer((host, port), settings=settings, signer=link_signer(settings),
                        clock=clock or (lambda: datetime.now(UTC)))


def main(argv: list[str] | None = None) -> None:
    """Serve the review site of the configured var folder until SIGINT or SIGTERM."""
    import argparse
    import signal
    import threading

    from tenken.settings import Settings

    parser = argparse.ArgumentParser(prog="python -m tenken.review_site", description=main.__doc__)
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any free one)")
    options = parser.parse_args(argv)
    settings = Settings.resolve()
    # Blocked before the server thread starts, so that thread inherits the mask and sigwait gets them.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    server = make_server(settings, options.host, options.port)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                              name="review-site", daemon=True)
    thread.start()
    print(f"tenken review site (not the public site): {server.url}/ — drafts of every plan in "
          f"{settings.var_dir / 'cycles'}",
          flush=True)
    signal.sigwait({signal.SIGINT, signal.SIGTERM})
    server.shutdown()
    server.server_close()


if __name__ == "__main__":
    main()

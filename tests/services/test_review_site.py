"""The review site over real HTTP: signed links open a round's draft, nothing else opens anything.

One site serves every plan of the var folder: two plans' round 1 of the same year sit side by side,
and a link of one plan never opens the other's draft."""

from __future__ import annotations

import http.client
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from tenken.identity import Signer
from tenken.resources import EXAMPLE_CONFIG
from tenken.review_site import (
    EXPIRED,
    INVALID,
    LINK_SCOPE,
    ReviewServer,
    _page,
    check_link,
    draft_link,
    link_signature,
    make_server,
)
from tenken.settings import Settings
from tests.conftest import TEST_SUBMISSION_KEY, test_signer

NOW = datetime(2021, 6, 1, 3, 0, tzinfo=UTC)
UNTIL = NOW + timedelta(days=7)
YEAR = 2020
PLAN = "kanagawa"  # the plan of the site's settings (EXAMPLE_CONFIG)
OTHER = "minato"  # another plan of the same office, same var folder
PDF = b"%PDF-1.7\n" + os.urandom(300_000) + b"\n%%EOF\n"  # bigger than one chunk
PDF_ROUND_2 = b"%PDF-1.7\nround two\n%%EOF\n"
PDF_OTHER_PLAN = b"%PDF-1.7\nminato's round one\n%%EOF\n"
SECRET = b"outside-the-round-folder-secret"
HTML = ('<!DOCTYPE html><html lang="ja"><body><a href="annex-2020.csv">別紙</a></body></html>\n').encode()
CSV = "\ufeff施策,名称\n1-1,観光\n".encode()


@dataclass
class Site:
    url: str
    signer: Signer
    var: Path
    server: ReviewServer

    def link(self, file_name: str = "report-2020-draft.pdf", *, round: int = 1, year: int = YEAR,
             until: datetime = UNTIL, signer: Signer | None = None, plan: str = PLAN) -> str:
        return draft_link(self.url, signer or self.signer, plan, year, round, file_name, until)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    var = tmp_path_factory.mktemp("review-var")
    round_1 = var / "cycles" / PLAN / str(YEAR) / "review" / "round-1"
    round_2 = var / "cycles" / PLAN / str(YEAR) / "review" / "round-2"
    other_round_1 = var / "cycles" / OTHER / str(YEAR) / "review" / "round-1"
    for folder in (round_1, round_2, other_round_1):
        folder.mkdir(parents=True)
    (round_1 / "report-2020-draft.pdf").write_bytes(PDF)
    (round_1 / "report-2020-draft.html").write_bytes(HTML)
    (round_1 / "annex-2020.csv").write_bytes(CSV)
    (round_1 / ".hidden").write_bytes(SECRET)
    (round_2 / "report-2020-draft.pdf").write_bytes(PDF_ROUND_2)
    (other_round_1 / "report-2020-draft.pdf").write_bytes(PDF_OTHER_PLAN)
    (var / "secret.txt").write_bytes(SECRET)
    (var / "cycles" / PLAN / str(YEAR) / "review" / "secret.txt").write_bytes(SECRET)
    (round_1 / "escape.pdf").symlink_to(var / "secret.txt")
    (round_1 / "same-report.pdf").symlink_to("report-2020-draft.pdf")  # a sibling: allowed
    settings = Settings(var_dir=var, database_url=f"sqlite:///{var / 'tenken.db'}", config_dir=EXAMPLE_CONFIG,
                        submission_key=TEST_SUBMISSION_KEY)
    server = make_server(settings, "127.0.0.1", 0, clock=lambda: NOW)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{server.server_address[1]}", test_signer(LINK_SCOPE), var, server)
    finally:
        server.shutdown()
        server.server_close()


def fetch(site: Site, target: str, method: str = "GET", body: bytes | None = None):
    """One request with the path sent byte for byte (no client-side normalization of `..`)."""
    parts = urlsplit(site.url)
    path = urlsplit(target).path if target.startswith("http") else target
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        connection.request(method, path, body=body)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def refusal_text(body: bytes) -> str:
    text = body.decode("utf-8")
    assert '<html lang="ja">' in text
    return text


# ---------------------------------------------------------------------------------------- links

def test_a_draft_link_checks_out_until_it_expires_and_only_for_its_plan_and_round(site):
    link = site.link()
    assert link == draft_link(site.url + "/", site.signer, PLAN, YEAR, 1, "report-2020-draft.pdf", UNTIL)
    _, r, expires, sig, plan, folder, round_part, name = urlsplit(link).path.split("/")
    assert (r, plan, folder, round_part, name) == ("r", PLAN, "fy2020", "round-1", "report-2020-draft.pdf")
    assert int(expires) == int(UNTIL.timestamp())
    assert sig == link_signature(site.signer, PLAN, YEAR, 1, int(expires))
    assert check_link(site.signer, PLAN, YEAR, 1, int(expires), sig, NOW) is None
    assert check_link(site.signer, PLAN, YEAR, 2, int(expires), sig, NOW) == INVALID
    assert check_link(site.signer, PLAN, YEAR + 1, 1, int(expires), sig, NOW) == INVALID
    assert check_link(site.signer, OTHER, YEAR, 1, int(expires), sig, NOW) == INVALID
    assert check_link(site.signer, "Kanagawa", YEAR, 1, int(expires), sig, NOW) == INVALID
    assert check_link(site.signer, PLAN, YEAR, 1, int(expires) + 1, sig, NOW) == INVALID
    late = check_link(site.signer, PLAN, YEAR, 1, int(expires), sig, UNTIL)
    assert late == EXPIRED.format(expiry="令和3年6月8日 12:00")
    with pytest.raises(ValueError):
        draft_link(site.url, site.signer, PLAN, YEAR, 1, "../secret.txt", UNTIL)
    with pytest.raises(ValueError):
        draft_link(site.url, site.signer, PLAN, YEAR, 1, "report.pdf", UNTIL.replace(tzinfo=None))
    for bad_plan in ("", "Kanagawa", "../kanagawa", "kana/gawa", "-kanagawa", "kana.gawa", "a" * 64, "かながわ"):
        with pytest.raises(ValueError):
            draft_link(site.url, site.signer, bad_plan, YEAR, 1, "report.pdf", UNTIL)
        with pytest.raises(ValueError):
            link_signature(site.signer, bad_plan, YEAR, 1, int(expires))


def test_the_signature_covers_the_plan_id(site):
    expires = int(UNTIL.timestamp())
    signatures = {link_signature(site.signer, plan, YEAR, 1, expires) for plan in (PLAN, OTHER, "kanagawa2", "k")}
    assert len(signatures) == 4


# ---------------------------------------------------------------------------------------- served

def test_a_signed_link_serves_the_draft_pdf_byte_for_byte_with_private_headers(site):
    status, headers, body = fetch(site, site.link())
    assert status == 200
    assert body == PDF
    assert headers["Content-Type"] == "application/pdf"
    assert headers["Content-Length"] == str(len(PDF))
    assert headers["Content-Disposition"] == "inline; filename*=UTF-8''report-2020-draft.pdf"
    assert headers["Cache-Control"] == "no-store, private"
    assert headers["X-Robots-Tag"] == "noindex, nofollow"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_head_answers_the_headers_without_the_body(site):
    status, headers, body = fetch(site, site.link(), method="HEAD")
    assert (status, body) == (200, b"")
    assert headers["Content-Length"] == str(len(PDF))
    assert headers["Content-Type"] == "application/pdf"


def test_the_draft_html_and_what_it_links_relatively_open_through_the_same_prefix(site):
    pdf_link = site.link()
    page_link = urljoin(pdf_link, "report-2020-draft.html")
    status, headers, body = fetch(site, page_link)
    assert (status, body) == (200, HTML)
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    policy = headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy and "frame-ancestors 'none'" in policy
    status, headers, body = fetch(site, urljoin(page_link, "annex-2020.csv"))  # as the browser resolves href
    assert (status, body) == (200, CSV)
    assert headers["Content-Type"] == "text/csv; charset=utf-8"
    status, _, body = fetch(site, urljoin(pdf_link, "same-report.pdf"))
    assert (status, body) == (200, PDF), "a symlink to a sibling stays inside the folder"


def test_two_plans_rounds_of_the_same_year_and_round_are_each_served_by_their_own_link(site):
    ours, theirs = site.link(), site.link(plan=OTHER)
    assert f"/{PLAN}/fy2020/round-1/" in ours and f"/{OTHER}/fy2020/round-1/" in theirs
    assert fetch(site, ours)[::2] == (200, PDF)
    assert fetch(site, theirs)[::2] == (200, PDF_OTHER_PLAN)
    assert site.server.round_folder(OTHER, YEAR, 1) == site.var / "cycles" / OTHER / "2020" / "review" / "round-1"
    assert fetch(site, site.link("annex-2020.csv", plan=OTHER))[0] == 404, "only kanagawa's round has an annex"


def test_health_answers_ok(site):
    assert fetch(site, "/health")[::2] == (200, b"ok\n")


# ---------------------------------------------------------------------------------------- refused

@pytest.mark.parametrize("path", [f"/{PLAN}/fy2020/round-1/report-2020-draft.pdf",
                                  "/fy2020/round-1/report-2020-draft.pdf"], ids=["with plan", "before plan ids"])
def test_the_folder_path_without_the_signature_is_forbidden(site, path):
    status, headers, body = fetch(site, path)
    assert status == 403
    assert "このリンクは無効です。" in refusal_text(body)
    assert headers["Cache-Control"] == "no-store, private"
    assert PDF[:64] not in body


def test_a_link_of_the_shape_before_plan_ids_is_forbidden_with_the_ask_for_a_new_one_page(site):
    expires = int(UNTIL.timestamp())
    old_signature = site.signer.digest("review-link", f"fy{YEAR}/round-1\x1f{expires}")  # the former signed text
    status, _, body = fetch(site, f"/r/{expires}/{old_signature}/fy2020/round-1/report-2020-draft.pdf")
    assert status == 403 and b"%PDF" not in body
    assert "新しいリンクを依頼してください" in refusal_text(body)


@pytest.mark.parametrize("damage", ["flip", "cut", "upper"])
def test_a_tampered_signature_is_forbidden(site, damage):
    _, _, expires, sig, rest = urlsplit(site.link()).path.split("/", 4)
    bad = {"flip": sig[:-1] + ("0" if sig[-1] != "0" else "1"), "cut": sig[:40], "upper": sig.upper()}[damage]
    assert bad != sig
    status, _, body = fetch(site, f"/r/{expires}/{bad}/{rest}")
    assert status == 403
    assert "このリンクは無効です。" in refusal_text(body)


def test_a_lengthened_expiry_is_forbidden(site):
    link = site.link()
    expires = str(int(UNTIL.timestamp()))
    status, _, body = fetch(site, link.replace(f"/r/{expires}/", f"/r/{int(expires) + 86400}/"))
    assert status == 403 and b"%PDF" not in body


def test_an_expired_link_is_forbidden_and_says_when_it_expired(site):
    status, _, body = fetch(site, site.link(until=NOW - timedelta(hours=3)))  # 2021-06-01 09:00 JST
    assert status == 403
    text = refusal_text(body)
    assert "このリンクの有効期限（令和3年6月1日 09:00）が切れました。点検事務局に新しいリンクを依頼してください。" in text
    assert status == fetch(site, site.link(until=NOW))[0] == 403, "valid until, not through, its expiry"


def test_a_round_1_signature_does_not_open_round_2(site):
    round_1 = site.link()
    assert fetch(site, round_1)[0] == 200
    status, _, body = fetch(site, round_1.replace("/round-1/", "/round-2/"))
    assert status == 403 and PDF_ROUND_2 not in body
    status, _, body = fetch(site, site.link(round=2))
    assert (status, body) == (200, PDF_ROUND_2)
    assert fetch(site, round_1.replace("/fy2020/", "/fy2021/"))[0] == 403


@pytest.mark.parametrize(("signed_for", "opened_as"), [(PLAN, OTHER), (OTHER, PLAN), (PLAN, "kanagawa2"),
                                                       (OTHER, "nowhere")])
def test_a_link_signed_for_one_plan_with_another_plan_in_its_path_is_forbidden(site, signed_for, opened_as):
    link = site.link(plan=signed_for)
    assert fetch(site, link)[0] == 200
    changed = link.replace(f"/{signed_for}/fy2020/", f"/{opened_as}/fy2020/")
    assert changed != link
    status, _, body = fetch(site, changed)
    assert status == 403
    assert "このリンクは無効です。" in refusal_text(body)
    assert b"%PDF" not in body


@pytest.mark.parametrize("plan", ["Kanagawa", "-kanagawa", "_kanagawa", "kana.gawa", "kana%20gawa", "a" * 64,
                                  "%E3%81%8B%E3%81%AA", "kana~gawa", "..", ".", "%2e%2e", "%2fetc", "kana%2Fgawa",
                                  "kanagawa%00"])
def test_a_plan_id_of_a_bad_shape_is_not_found_without_touching_the_file_system(site, plan, monkeypatch):
    looked = []
    monkeypatch.setattr(site.server, "round_folder", lambda *args: looked.append(args) or site.var)
    _, _, expires, sig, _ = urlsplit(site.link()).path.split("/", 4)
    path = f"/r/{expires}/{sig}/{plan}/fy2020/round-1/report-2020-draft.pdf"
    status, _, body = fetch(site, path)
    assert status == 404, path
    assert "見つかりません" in refusal_text(body)
    assert fetch(site, f"/{plan}/fy2020/round-1/report-2020-draft.pdf")[0] == 404, "unsigned, too"
    assert looked == []


def test_the_round_folder_of_a_plan_id_of_a_bad_shape_is_refused(site):
    for plan in ("..", "../kanagawa", "Kanagawa", ""):
        with pytest.raises(ValueError):
            site.server.round_folder(plan, YEAR, 1)


@pytest.mark.parametrize("other", [Signer(b"another-office-key-0123456789", "かながわICT・データ利活用推進計画"),
                                   Signer(TEST_SUBMISSION_KEY.encode(), "another scope")],
                         ids=["another key", "another scope"])
def test_a_signature_under_another_key_or_plan_is_forbidden(site, other):
    assert other.plan != site.signer.plan or other.key != site.signer.key
    status, _, body = fetch(site, site.link(signer=other))
    assert status == 403 and b"%PDF" not in body


def test_traversal_dotfiles_and_symlinks_out_never_reach_an_outside_file(site):
    prefix = site.link().rsplit("/", 1)[0].replace(site.url, "")
    secret = site.var / "secret.txt"
    attempts = [
        f"{prefix}/../../secret.txt",
        f"{prefix}/../../../../secret.txt",
        f"{prefix}/%2e%2e/%2e%2e/secret.txt",
        f"{prefix}/%2E%2E%2F%2E%2E%2Fsecret.txt",
        f"{prefix}/..%2f..%2fsecret.txt",
        f"{prefix}/..%5c..%5csecret.txt",
        f"{prefix}/.hidden",
        f"{prefix}/%2ehidden",
        f"{prefix}/escape.pdf",
        f"{prefix}/secret.txt%00.pdf",
        f"{prefix}/sub/secret.txt",
        "/fy2020/round-1/../secret.txt",
        "/fy2020/round-1/%2e%2e%2fsecret.txt",
        f"/{PLAN}/fy2020/round-1/../secret.txt",
        f"/{PLAN}/fy2020/round-1/%2e%2e%2fsecret.txt",
        prefix.replace(f"/{PLAN}/", "/../") + "/secret.txt",
        prefix.replace(f"/{PLAN}/", "/%2e%2e/") + "/secret.txt",
        prefix.replace(f"/{PLAN}/fy2020/round-1", "/../../secret.txt"),
        str(secret),
        f"/{secret}",
        f"/r/{secret}",
        f"http://127.0.0.1{prefix}/../../secret.txt",
        "/etc/passwd",
        "/",
        "/r/",
    ]
    for attempt in attempts:
        status, _, body = fetch(site, attempt) if not attempt.startswith("http") else _absolute_form(site, attempt)
        assert status in (403, 404), attempt
        assert SECRET not in body, attempt
    assert fetch(site, f"{prefix}/escape.pdf")[0] == 404, "a symlink out of the folder is not there"
    assert fetch(site, f"{prefix}/%2e%2e/%2e%2e/secret.txt")[0] == 404


def _absolute_form(site: Site, target: str):
    """A request line with an absolute URL (as to a proxy), sent as is."""
    parts = urlsplit(site.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        connection.putrequest("GET", target, skip_host=True)
        connection.putheader("Host", parts.netloc)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def test_a_valid_link_to_a_missing_file_is_not_found_in_japanese(site):
    status, headers, body = fetch(site, site.link("report-2019-draft.pdf"))
    assert status == 404
    assert "見つかりません" in refusal_text(body)
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert fetch(site, site.link(round=3))[0] == 404, "a round with no folder"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"])
def test_only_get_and_head_are_allowed(site, method):
    status, headers, body = fetch(site, site.link(), method=method, body=b"x=1")
    assert status == 405
    assert headers["Allow"] == "GET, HEAD"
    assert b"%PDF" not in body


def test_refusal_pages_echo_nothing_a_path_could_inject(site):
    injected = "/fy2020/round-1/%3Cscript%3Ealert(1)%3C%2Fscript%3E"
    for target in (injected, "/r/%3Cb%3E/%3Cb%3E/fy2020/round-1/x.pdf", "/fy2020/round-1/report%22onload=1.pdf",
                   f"/r/%3Cb%3E/%3Cb%3E/{PLAN}/fy2020/round-1/x.pdf", "/r/1/ab/%3Cscript%3E/fy2020/round-1/x.pdf"):
        status, _, body = fetch(site, target)
        assert status in (403, 404)
        assert b"<script" not in body and b"<b>" not in body and b"onload" not in body
    page = _page("<i>題</i>", '理由 <script>alert("x")</script>').decode()
    assert "<script>" not in page and "&lt;script&gt;" in page and "&lt;i&gt;" in page

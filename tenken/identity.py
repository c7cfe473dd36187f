"""Who a file counts for: the channel says so, and the workbook must carry that department's token.

A request workbook carries a submission token: an HMAC-SHA256, under the office's key, over the plan,
the fiscal year, the department and the request version. The key never leaves the server (it comes
from an environment variable, a Prefect Secret block or a key file under the var folder, see
tenken.settings); so a department cannot make another department's token, and a workbook made by any
other means than tenken's request has none. The token only confirms what the channel already says:
a file counts for department D when it came through D's channel (or from a person registered for D)
*and* carries D's token.

    signer = Signer(key, plan_name)
    token = signer.token(2020, "tourism")           # written into the request workbook / CSV
    signer.verify(2020, "tourism", "1", token)      # True
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import unicodedata
from dataclasses import dataclass

TOKEN_PREFIX = "TK1-"
REQUEST_VERSION = 1  # bumped when a cycle's requests are reissued; earlier versions stay valid
MIN_KEY_BYTES = 16

TOKEN_MISSING = ("このファイルには、{department}あてに今年度お送りした依頼ファイルの提出用コードがありません。"
                 "お送りした依頼ファイル（またはその CSV）に入力して提出してください。")
TOKEN_MISMATCH = ("このファイルの提出用コードは、{department}あてに今年度お送りした依頼ファイルのものと一致しません。"
                  "お送りした依頼ファイル（またはその CSV）に入力して提出してください。")
NO_SENDER = ("提出元が記録されていないため受け付けられません。所属の Slack のスレッド（またはチャンネル）に"
             "ファイルを返信して提出してください（点検事務局が受け付ける場合は、提出元の所属を記録して取り込みます）。")
NOT_REGISTERED = ("この会話でのあなたの投稿は、どの所属の提出としても登録されていないため受け付けられません。"
                  "所属の担当者が、所属の依頼のスレッドに返信して提出してください（提出者の登録は点検事務局が行います）。")
NOT_REGISTERED_MAIL = ("このメールの送信元アドレスは、どの所属の提出元としても登録されていないため受け付けられません。"
                       "所属の登録アドレスから、お送りした依頼メールに返信して提出してください（登録は点検事務局が行います）。")
SENDER_FIELD = "sender"  # CellProblem.field of every identity refusal: the office hears of these


@dataclass(frozen=True)
class Signer:
    key: bytes
    plan: str

    def __post_init__(self) -> None:
        if len(self.key) < MIN_KEY_BYTES:
            raise ValueError(f"the submission key must be at least {MIN_KEY_BYTES} bytes")

    def token(self, fiscal_year: int, department: str, request_version: int = REQUEST_VERSION) -> str:
        message = "\x1f".join(["tenken-submission", self.plan, str(fiscal_year), department, str(request_version)])
        digest = hmac.new(self.key, message.encode("utf-8"), hashlib.sha256).digest()
        return TOKEN_PREFIX + base64.b32encode(digest[:15]).decode("ascii")

    def verify(self, fiscal_year: int, department: str, request_version: str, token: str) -> bool:
        """Whether `token` (as written in a returned file) is the department's for a request version
        tenken has issued (1 … REQUEST_VERSION). Full-width characters and case are forgiven."""
        given = unicodedata.normalize("NFKC", token or "").strip().upper()
        version = unicodedata.normalize("NFKC", request_version or "").strip() or str(REQUEST_VERSION)
        if not given or not version.isdigit() or not 1 <= int(version) <= REQUEST_VERSION:
            return False
        return hmac.compare_digest(given, self.token(fiscal_year, department, int(version)))

    def digest(self, purpose: str, text: str) -> str:
        """A keyed digest of `text` for one purpose (review codes, review links), hex. Domain-separated
        from the tokens and from each other, so one can never stand for another."""
        message = "\x1f".join(["tenken-" + purpose, self.plan, text])
        return hmac.new(self.key, message.encode("utf-8"), hashlib.sha256).hexdigest()

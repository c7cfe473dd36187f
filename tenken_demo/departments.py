"""The demo's departments: each answers its request where it was asked.

With Slack (the project's stand-in as the workspace), a department's clerk posts the filled workbook as a
reply in the department's request thread, as a person would; tenken's collect stage takes it from there.
Without Slack (messages in the outbox), files reach the inbox through a bridge that records who sent
them (tenken.services.collecting.deliver), never by being dropped there anonymously; so do the files of a
department asked by mail (departments.yaml `via: email`) when there is no mail server to answer through.
A department asked by mail (`make demo MAIL=1`: the Maildirs of the demo's mail server are given) answers
by mail: its clerk finds the request in the department's Maildir and replies to the office's address with
the filled workbook (tenken_demo.mail_demo.reply_with_file); tenken reads it from the office's mailbox.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from urllib.request import Request, urlopen

from tenken.services import Cycle, collecting
from tenken.settings import Settings
from tenken_demo.slack_standin import CONTROL, clerk_of

Arrival = tuple[str, str]  # (department key, path of its file)


class Workspace:
    """The stand-in workspace's people, over its control endpoint (any process can drive them)."""

    def __init__(self, root_url: str):
        self.root_url = root_url.rstrip("/")

    def post_file(self, user: str, conversation: str, path: Path, thread_ts: str | None = None,
                  text: str = "") -> dict:
        payload = {"user": user, "conversation": conversation, "filename": Path(path).name, "text": text,
                   "content": base64.b64encode(Path(path).read_bytes()).decode("ascii"), "thread_ts": thread_ts}
        request = Request(f"{self.root_url}{CONTROL}post_file", data=json.dumps(payload).encode("utf-8"),
                          headers={"Content-Type": "application/json"})
        with urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
        if not answer.get("ok"):
            raise RuntimeError(f"the stand-in refused the post: {answer}")
        return answer


    def control(self, action: str, **given) -> dict:
        """Another control action of the stand-in (slow, messages, calls, transcript)."""
        request = Request(f"{self.root_url}{CONTROL}{action}", data=json.dumps(given).encode("utf-8"),
                          headers={"Content-Type": "application/json"})
        with urlopen(request, timeout=30) as response:
            return json.loads(response.read())


def request_threads(settings: Settings, fiscal_year: int) -> dict[str, tuple[str, str]]:
    """Department -> (conversation, ts) of the request it was sent: where its clerk sees it in Slack."""
    with settings.open_ledger() as ledger:
        threads = {}
        for record in ledger.requests(fiscal_year):
            channel, _, ts = (record.message_ref or "").partition("/")
            if record.status == "sent" and ts:
                threads[record.department] = (channel, ts)
        return threads


def reply_in_threads(settings: Settings, fiscal_year: int, arrivals: list[Arrival], workspace: Workspace) -> int:
    """Each department's clerk replies in its request thread with its file."""
    threads = request_threads(settings, fiscal_year)
    for department, path in arrivals:
        channel, ts = threads[department]
        workspace.post_file(clerk_of(department) if not channel.startswith("D") else _dm_user(department, settings),
                            channel, Path(path), thread_ts=ts, text="記入したファイルを提出します。")
    return len(arrivals)


def _dm_user(department: str, settings: Settings) -> str:
    """A department addressed as a person ('@name'): that person answers in the bot's DM with them."""
    from tenken.config import load_directory

    return load_directory(settings.config_dir).department(department).slack.lstrip("@")


def deliver_to_inbox(settings: Settings, fiscal_year: int, arrivals: list[Arrival]) -> int:
    """Each file into the inbox with its sender recorded (what a mail or chat bridge does)."""
    with Cycle.opened(settings, fiscal_year, sending=False) as cycle:
        for department, path in arrivals:
            collecting.deliver(cycle, [path], department, "demo-bridge")
    return len(arrivals)


def asked_by_mail(settings: Settings, fiscal_year: int) -> dict[str, tuple[str, str]]:
    """Department -> (address, Message-ID) of the request it was sent by mail (the ledger's message ref)."""
    return {department: (where, ref) for department, (where, ref) in request_threads(settings, fiscal_year).items()
            if "@" in where}


def reply_by_mail(settings: Settings, fiscal_year: int, arrivals: list[Arrival], maildirs: Path) -> int:
    """Each department's clerk answers the request in its Maildir: a reply to the office, file attached."""
    from tenken.config import load_directory
    from tenken_demo.mail_demo import find_mail, reply_with_file

    mail, directory = settings.mail_settings(), load_directory(settings.config_dir)
    if mail is None:
        raise RuntimeError("departments asked by mail, but no mail server is configured (TENKEN_SMTP_HOST)")
    requests = asked_by_mail(settings, fiscal_year)
    for department, path in arrivals:
        address, request_id = requests[department]
        sender = directory.department(department).email or address
        reply_with_file(mail, sender, find_mail(maildirs, address, request_id), Path(path),
                        f"記入したファイルを提出します。\n\n{directory.department(department).name or department}")
    return len(arrivals)


@dataclass
class Submitted:
    """Who answered where on a demo day (department keys)."""

    slack: list[str] = field(default_factory=list)
    mail: list[str] = field(default_factory=list)
    bridge: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.slack) + len(self.mail) + len(self.bridge)


def in_slack_thread(threads: dict[str, tuple[str, str]], department: str) -> bool:
    """Whether the department's request went to a Slack conversation (so its clerk answers in the thread), rather
    than by mail (a `mailto:` target, in the outbox when no mail server is configured)."""
    channel, _ = threads.get(department, ("", ""))
    return bool(channel) and ":" not in channel and "@" not in channel


def submit_each(settings: Settings, fiscal_year: int, arrivals: list[Arrival], workspace_url: str | None,
                maildirs: Path | None) -> Submitted:
    """The day's arrivals, each where its department was asked: by mail (with `maildirs`), in the Slack
    threads (with a workspace), else through the bridge. A department asked by mail when there is no mail
    server to answer through (its request is in the outbox) hands its file over through the bridge too."""
    done = Submitted()
    if not arrivals:
        return done
    by_mail = asked_by_mail(settings, fiscal_year) if maildirs else {}
    mailed = [a for a in arrivals if a[0] in by_mail]
    others = [a for a in arrivals if a[0] not in by_mail]
    if mailed:
        reply_by_mail(settings, fiscal_year, mailed, Path(maildirs))
        done.mail = [d for d, _ in mailed]
    threads = request_threads(settings, fiscal_year) if workspace_url and others else {}
    slack = [a for a in others if in_slack_thread(threads, a[0])]
    bridge = [a for a in others if not in_slack_thread(threads, a[0])]
    if slack:
        reply_in_threads(settings, fiscal_year, slack, Workspace(workspace_url))
        done.slack = [d for d, _ in slack]
    if bridge:
        deliver_to_inbox(settings, fiscal_year, bridge)
        done.bridge = [d for d, _ in bridge]
    return done


def submit(settings: Settings, fiscal_year: int, arrivals: list[Arrival], workspace_url: str | None) -> int:
    """The day's arrivals: through the Slack threads when there is a workspace (departments asked there), else
    (no workspace, or a department asked by mail) through the bridge."""
    return submit_each(settings, fiscal_year, arrivals, workspace_url, None).total

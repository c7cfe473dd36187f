"""The outbox: where messages go when there is no Slack token (the demo, a laptop, a dry run).

Two files under <var>/outbox/: outbox.jsonl, one JSON object per send for programs and tests, and
outbox.txt, the same sends as plain text for a person to read. Both are appended to, never rewritten.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from pathlib import Path

from tenken.notify.base import NotificationError, Receipt, parse_target

_RULE = "─" * 60


class OutboxNotifier:
    """Same interface as SlackNotifier; writes what would have been sent."""

    def __init__(self, var_dir: str | Path):
        self.directory = Path(var_dir) / "outbox"
        self.jsonl = self.directory / "outbox.jsonl"
        self.text = self.directory / "outbox.txt"
        # Prefect runs tasks in threads: one lock keeps each record whole and the two files in step.
        self._lock = threading.Lock()

    def check(self) -> str:
        return f"outbox {self.directory}"

    def post(self, target: str, text: str, *, key: str, kind: str = "message",
             thread_ts: str | None = None) -> Receipt:
        return self._write(target, kind, key, text, attachment=None, thread_ts=thread_ts)

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
        path = Path(path).resolve()
        if not path.is_file():
            raise NotificationError(f"添付ファイルがありません: {path}", target=target)
        return self._write(target, kind, key, initial_comment or "", attachment=path, title=title or path.name,
                           thread_ts=thread_ts)

    def permalink(self, channel: str, ts: str) -> str | None:
        """The outbox has no links to messages."""
        return None

    def find(self, target: str, key: str, *, thread_ts: str | None = None) -> Receipt | None:
        """The record sent to `target` with this key, if the outbox has it."""
        for record in read_outbox(self.directory.parent):
            if record["key"] == key and record["target"] == target:
                return Receipt(key=key, target=target, channel=target, ts=record["time"], via="outbox")
        return None

    def _write(self, target: str, kind: str, key: str, text: str, *, attachment: Path | None,
               title: str | None = None, thread_ts: str | None = None) -> Receipt:
        parse_target(target)
        now = datetime.now().astimezone()
        record = {
            "time": now.isoformat(timespec="seconds"),
            "target": target,
            "kind": kind,
            "key": key,
            "text": text,
            "attachment": str(attachment) if attachment else None,
            "title": title,
            "thread_ts": thread_ts,
        }
        readable = [_RULE, f"{record['time']}  宛先 {target}  種類 {kind}  キー {key}"
                           + (f"  スレッド {thread_ts}" if thread_ts else "")]
        if attachment:
            readable.append(f"添付: {title} ({attachment})")
        readable += ["", text, "", ""]
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            with self.jsonl.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            with self.text.open("a", encoding="utf-8") as handle:
                handle.write("\n".join(readable))
        return Receipt(key=key, target=target, channel=target, ts=f"{now.timestamp():.6f}", via="outbox")


def read_outbox(var_dir: str | Path) -> list[dict]:
    """The records of <var>/outbox/outbox.jsonl, oldest first (empty if nothing was sent)."""
    path = Path(var_dir) / "outbox" / "outbox.jsonl"
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]

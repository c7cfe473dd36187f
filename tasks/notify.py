"""Prefect tasks that send: one message, or one file with a message.

Never cached (a cached send is a message that silently did not go out) and never retried by
Prefect: slack-sdk's handlers already retry rate limits, server errors and dropped connections,
and a second retry layer would multiply sends. Whether a send is due at all is the caller's
question, answered from the ledger with the same idempotency key passed here.
"""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from tenken.notify import Receipt, notifier_from_env


@task(cache_policy=NO_CACHE, retries=0, task_run_name="send-{kind}-{key}")
def send_message(target: str, text: str, key: str, kind: str = "message") -> Receipt:
    receipt = notifier_from_env().post(target, text, key=key, kind=kind)
    get_run_logger().info("sent %s to %s via %s (key %s, ts %s)", kind, target, receipt.via, key, receipt.ts)
    return receipt


@task(cache_policy=NO_CACHE, retries=0, task_run_name="send-{kind}-{key}")
def send_file(
    target: str,
    path: str | Path,
    key: str,
    title: str | None = None,
    initial_comment: str | None = None,
    kind: str = "file",
) -> Receipt:
    receipt = notifier_from_env().upload(target, path, key=key, title=title, initial_comment=initial_comment,
                                         kind=kind)
    get_run_logger().info("sent %s (%s) to %s via %s (key %s, file %s)", kind, Path(path).name, target,
                          receipt.via, key, receipt.file_id)
    return receipt

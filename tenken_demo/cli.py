"""`tenken-demo`: the FY2020 cycle end to end on the bundled example (what `make demo` runs)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False)


@app.command()
def demo(
    approve: Annotated[bool, typer.Option("--approve", help="A demo reviewer approves through the Prefect API.")]
    = False,
    deployed: Annotated[bool, typer.Option(
        "--deployed", help="Run through the deployments on the Prefect server at PREFECT_API_URL (see make demo).")]
    = False,
    workspace: Annotated[str | None, typer.Option(
        "--workspace", envvar="TENKEN_DEMO_WORKSPACE",
        help="The Slack stand-in the departments post in (its root URL; scripts/stack.sh serves one on "
             "127.0.0.1:4300 when no SLACK_BOT_TOKEN is set). Without Slack: a bridge to the inbox.")] = None,
    maildirs: Annotated[Path | None, typer.Option(
        "--maildirs", envvar="TENKEN_DEMO_MAILDIRS",
        help="With --deployed: the Maildirs of the demo's mail server (make demo MAIL=1 serves them under "
             "var/run/mail). Departments asked by mail reply by mail; the mails are listed in mail.txt.")] = None,
) -> None:
    """Run the FY2020 cycle: requests, submissions (two late, one corrected), reminders, review, publication.

    Without --approve the run waits at the review: open the printed Prefect UI link and press Resume.
    Each run starts from an empty var folder ($TENKEN_VAR_DIR, default var/demo, or var/deployed with
    --deployed): its ledger, outbox and cycle files; the report is published to its site/ folder.
    """
    default = Path("var") / ("deployed" if deployed else "demo")
    var = Path(os.environ.setdefault("TENKEN_VAR_DIR", str(default.resolve()))).resolve()
    shutil.rmtree(var, ignore_errors=True)
    if deployed:
        if maildirs:
            return _with_mail_record(var, maildirs, lambda: _deployed_demo(approve, var, workspace, maildirs))
        return _deployed_demo(approve, var, workspace)
    os.environ.setdefault("TENKEN_REVIEW_POLL_SECONDS", "2")
    from tenken_demo.in_process import published_path, run_demo

    standin = None
    if not os.environ.get("SLACK_BOT_TOKEN"):
        from tenken.resources import EXAMPLE_CONFIG
        from tenken_demo.slack_standin import workspace_for

        standin = workspace_for(os.environ.get("TENKEN_CONFIG_DIR") or EXAMPLE_CONFIG).start()
        os.environ.update(standin.env)
        workspace = standin.root_url
        typer.echo(f"Slack のトークンが未設定のため、Slack の代役（stand-in、{standin.base_url}）を作業場として使います。"
                   "各所属は依頼のスレッドにファイルを返信して提出します。")

    def paused(flow_run) -> None:
        from prefect.settings import PREFECT_UI_URL

        ui = PREFECT_UI_URL.value() or ""
        typer.echo(f"\n確認待ち: {ui}/runs/flow-run/{flow_run.id}" if ui else f"\n確認待ち: flow run {flow_run.id}")
        if not approve:
            typer.echo("Prefect UI で「Resume」を押し、判断・コメント・確認コード（確認者あての DM にあります。"
                       "このデモの終わりに書き出す会話記録でも読めます）を入力してください。")

    try:
        result = run_demo(approve, on_paused=paused, workspace_url=workspace)
    finally:
        if standin is not None:
            _write_transcript(var, standin.transcript())
            standin.stop()
    if standin is None and not workspace:
        typer.echo(f"\n送信したメッセージ（Slack 未設定のため outbox）: {var / 'outbox' / 'outbox.txt'}")
    typer.echo(f"公表しました: {published_path(result)}")
    for kind, path in result["published"]["files"].items():
        typer.echo(f"  {kind}: {path}")


def _write_transcript(var: Path, text: str) -> None:
    path = var / "slack-standin.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    typer.echo(f"\nSlack の代役での会話（依頼・提出・受付・督促・確認依頼）: {path}")


def _with_mail_record(var: Path, maildirs: Path, run) -> None:
    """Run the demo, then write every mail it sent and received to <var>/mail.txt (also when it failed)."""
    import time

    from tenken_demo.mail_demo import transcript

    started = time.time()
    try:
        run()
    finally:
        path = var / "mail.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(transcript(maildirs, since=started), encoding="utf-8")
        typer.echo(f"メールの記録（依頼・提出・受付・督促、メールの所属の分）: {path}")


def _deployed_demo(approve: bool, var: Path, workspace: str | None, maildirs: Path | None = None) -> None:
    """The worker runs the flows; this process plays the calendar, the departments and the reviewer.

    The worker must have been started with the same TENKEN_VAR_DIR (make demo does both): the ledger
    (where each department finds its request thread) and the submission key are there.
    """
    from tenken.config import load_cycle_settings
    from tenken.settings import Settings
    from tenken_demo.deployed import run_cycle_until_review, ui_address, wait_for_publication
    from tenken_demo.review_client import answer_review, reviewer_code, round_of
    from tenken_demo.scenario import FISCAL_YEAR

    if workspace:
        typer.echo(f"Slack の代役（stand-in、{workspace}）を作業場として使います。各所属は依頼のスレッドにファイルを返信して提出します。")
    if maildirs:
        typer.echo(f"メールで依頼された所属はメールで返信して提出します（SMTP・IMAP サーバーはこの機械の 127.0.0.1、"
                   f"メールボックスは {maildirs}）。")
    paused = run_cycle_until_review(progress=typer.echo, workspace_url=workspace, maildirs=maildirs)
    typer.echo(f"\n確認待ち: {ui_address(paused.id)}")
    if not approve:
        if workspace:
            _write_transcript(var, _remote_transcript(workspace))
        where = "Slack の代役の DM（上の会話記録）" if workspace else f"outbox（{var / 'outbox' / 'outbox.txt'}）"
        typer.echo(f"確認者あての確認コードは {where} にあります。Prefect UI にサインインし、「Resume」を押して"
                   "判断・コメント・確認コードを入力してください。承認すると公表されます。")
        return
    code = reviewer_code(Settings.resolve(), FISCAL_YEAR, round_of(paused), workspace)
    answer_review(paused.id, "approve", code, "デモのため承認します。")
    wait_for_publication(paused.id)
    if workspace:
        _write_transcript(var, _remote_transcript(workspace))
    else:
        typer.echo(f"\n送信したメッセージ（Slack 未設定のため outbox）: {var / 'outbox' / 'outbox.txt'}")
    settings = Settings.resolve()
    typer.echo(f"公表しました: {load_cycle_settings(settings.config_dir).site_url}"
               f"（{settings.publish_target(load_cycle_settings(settings.config_dir).publish_target)}）")


def _remote_transcript(workspace: str) -> str:
    import json
    from urllib.request import Request, urlopen

    with urlopen(Request(f"{workspace.rstrip('/')}/_standin/transcript", data=b"{}"), timeout=30) as response:
        return json.loads(response.read())["text"]


def main() -> None:
    app()


if __name__ == "__main__":
    main()

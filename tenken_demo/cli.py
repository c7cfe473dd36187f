"""`tenken-demo`: a plan's cycles end to end (what `make demo` runs): by default FY2020 of the bundled example."""

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
    config: Annotated[Path | None, typer.Option(
        "--config", envvar="TENKEN_CONFIG_DIR", file_okay=False, metavar="DIR",
        help="The plan folder (default: the bundled Kanagawa example). With --deployed, the worker reads the same "
             "folder: each run gets it as its config_dir parameter.")] = None,
    years: Annotated[list[int] | None, typer.Option(
        "--year", metavar="YEAR",
        help="A fiscal year to run (repeat for several, run one after the other in the same var folder and "
             "ledger). Default: 2020 for the Kanagawa example; for another plan every year with a "
             "results/<year>.yaml in its folder, oldest first.")] = None,
    workspace: Annotated[str | None, typer.Option(
        "--workspace", envvar="TENKEN_DEMO_WORKSPACE",
        help="The Slack stand-in the departments post in (its root URL; scripts/stack.sh serves one on "
             "127.0.0.1:4300 when no SLACK_BOT_TOKEN is set). Without Slack: a bridge to the inbox.")] = None,
    maildirs: Annotated[Path | None, typer.Option(
        "--maildirs", envvar="TENKEN_DEMO_MAILDIRS",
        help="With --deployed: the Maildirs of the demo's mail server (make demo MAIL=1 serves them under "
             "var/run/mail). Departments asked by mail reply by mail; the mails are listed in mail.txt.")] = None,
) -> None:
    """Run a plan's cycles: requests, submissions (some late, one corrected), reminders, review, publication.

    Without --approve each year's run waits at the review: open the printed Prefect UI link and press Resume
    (with several years, the next year opens once the previous one is published). Each demo starts from an
    empty var folder ($TENKEN_VAR_DIR, default var/demo, or var/deployed with --deployed): its ledger, outbox
    and cycle files; the reports are published to its site/ folder (site/<plan id>/<year>/). Departments
    asked by mail (departments.yaml via: email) hand their files over through a bridge to the inbox unless a
    mail server is given (--maildirs).
    """
    config_dir, chosen = _plan_and_years(config, years)
    default = Path("var") / ("deployed" if deployed else "demo")
    var = Path(os.environ.setdefault("TENKEN_VAR_DIR", str(default.resolve()))).resolve()
    shutil.rmtree(var, ignore_errors=True)
    given = str(config_dir) if config is not None else None  # else the flows' own default (the worker's)
    if deployed:
        if maildirs:
            return _with_mail_record(var, maildirs,
                                     lambda: _deployed_demo(approve, var, workspace, maildirs, given, chosen))
        return _deployed_demo(approve, var, workspace, None, given, chosen)
    os.environ.setdefault("TENKEN_REVIEW_POLL_SECONDS", "2")
    from tenken_demo.in_process import published_path, run_years

    standin = None
    if not os.environ.get("SLACK_BOT_TOKEN"):
        from tenken_demo.slack_standin import workspace_for

        standin = workspace_for(config_dir).start()
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

    def published(result: dict) -> None:
        typer.echo(f"公表しました（{result['plan_id']} {result['fiscal_year']}年度）: {result['published']['target']}"
                   f"（サイトの目次: {published_path(result)}）")
        for kind, path in result["published"]["files"].items():
            typer.echo(f"  {kind}: {path}")

    try:
        for year in chosen:
            typer.echo(f"\n== {_title(config_dir, year)}")
            run_years(approve, [year], on_paused=paused, config_dir=given, workspace_url=workspace,
                      on_published=published)
    finally:
        if standin is not None:
            _write_transcript(var, standin.transcript())
            standin.stop()
    if os.path.exists(var / "outbox" / "outbox.txt"):
        why = "Slack 未設定のため" if standin is None and not workspace else "メールで依頼した所属・確認者あて（メールサーバー未設定）"
        typer.echo(f"\n送信したメッセージ（{why}、outbox）: {var / 'outbox' / 'outbox.txt'}")


def _plan_and_years(config: Path | None, years: list[int] | None) -> tuple[Path, list[int]]:
    """The plan folder (checked) and the years to run, oldest first as given; exit 2 with a message otherwise."""
    from tenken.config import ConfigError, load_plan
    from tenken.resources import EXAMPLE_CONFIG
    from tenken_demo.scenario import default_years, missing_results

    config_dir = (config or EXAMPLE_CONFIG).resolve()
    try:
        plan = load_plan(config_dir)
    except (ConfigError, OSError) as exc:
        typer.echo(f"計画のフォルダ {config_dir} を読めません: {exc}", err=True)
        raise typer.Exit(2) from None
    chosen = list(dict.fromkeys(years)) if years else default_years(config_dir)
    if not chosen:
        typer.echo(f"{plan.name}（{config_dir}）には実績（results/<年度>.yaml）がありません。--year を指定するか、"
                   "実績のファイルを置いてください。", err=True)
        raise typer.Exit(2)
    if missing := missing_results(config_dir, chosen):
        typer.echo(f"{plan.name}（{config_dir}）に次の年度の実績（results/<年度>.yaml）がありません: "
                   f"{'、'.join(map(str, missing))}。デモの所属はこのファイルの実績を提出します。", err=True)
        raise typer.Exit(2)
    return config_dir, chosen


def _title(config_dir: Path, year: int) -> str:
    """The year's heading, with its demo calendar (tenken_demo.scenario.calendar_for)."""
    from tenken.config import load_plan
    from tenken.core.wareki import wareki_year
    from tenken.settings import Settings
    from tenken_demo.scenario import calendar_for

    plan, calendar = load_plan(config_dir), calendar_for(Settings.resolve(config_dir=config_dir), year)
    late = "、".join(f"{plan.department(key).name} {day.isoformat()}" for key, day in calendar.late.items())
    corrected = (f"、誤りのあるファイルの再提出 {plan.department(calendar.corrected[0]).name}"
                 if calendar.corrected else "")
    return (f"{plan.name}（{plan.id}）{wareki_year(year)}（{year}年度）の点検 ==\n"
            f"開始（想定） {calendar.opens.isoformat()}、提出期限 {calendar.deadline.isoformat()}、"
            f"受付・督促 {len(calendar.collection_days)}日、多くの所属の提出 {calendar.on_time.isoformat()}"
            f"{corrected}" + (f"、期限後の提出 {late}" if late else ""))


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


def _deployed_demo(approve: bool, var: Path, workspace: str | None, maildirs: Path | None = None,
                   config_dir: str | None = None, years: list[int] | None = None) -> None:
    """The worker runs the flows; this process plays the calendar, the departments and the reviewer, for each
    year in turn (a year is published before the next opens, so its report takes the earlier one's rate).

    The worker must have been started with the same TENKEN_VAR_DIR (make demo does both): the ledger
    (where each department finds its request thread) and the submission key are there.
    """
    from tenken.config import load_cycle_settings, load_plan
    from tenken.settings import Settings
    from tenken_demo.deployed import run_cycle_until_review, ui_address, wait_for_publication
    from tenken_demo.review_client import answer_review, reviewer_code, round_of
    from tenken_demo.scenario import default_years

    settings = Settings.resolve(config_dir=config_dir)
    cycle, plan = load_cycle_settings(settings.config_dir), load_plan(settings.config_dir)
    years = years or default_years(settings.config_dir)
    if workspace:
        typer.echo(f"Slack の代役（stand-in、{workspace}）を作業場として使います。各所属は依頼のスレッドにファイルを返信して提出します。")
    if maildirs:
        typer.echo(f"メールで依頼された所属はメールで返信して提出します（SMTP・IMAP サーバーはこの機械の 127.0.0.1、"
                   f"メールボックスは {maildirs}）。")
    for number, year in enumerate(years, 1):
        typer.echo(f"\n== {_title(settings.config_dir, year)}")
        paused = run_cycle_until_review(config_dir, progress=typer.echo, workspace_url=workspace, maildirs=maildirs,
                                        fiscal_year=year)
        typer.echo(f"\n確認待ち: {ui_address(paused.id)}")
        if not approve:
            if workspace:
                _write_transcript(var, _remote_transcript(workspace))
            where = "Slack の代役の DM（上の会話記録）" if workspace else f"outbox（{var / 'outbox' / 'outbox.txt'}）"
            typer.echo(f"確認者あての確認コードは {where} にあります。Prefect UI にサインインし、「Resume」を押して"
                       "判断・コメント・確認コードを入力してください。承認すると公表されます。")
            if number == len(years):
                return
            typer.echo(f"公表を待って {years[number]}年度に進みます。")
            wait_for_publication(paused.id, timeout=cycle.review.timeout_days * 86400)
        else:
            code = reviewer_code(settings, year, round_of(paused), workspace)
            answer_review(paused.id, "approve", code, "デモのため承認します。")
            wait_for_publication(paused.id)
        typer.echo(f"公表しました: {cycle.site_url.rstrip('/')}/{plan.id}/{year}/"
                   f"（{settings.publish_target(cycle.publish_target).rstrip('/')}/{plan.id}/{year}）")
    if workspace:
        _write_transcript(var, _remote_transcript(workspace))
    if (var / "outbox" / "outbox.txt").exists():
        why = "Slack 未設定のため" if not workspace else "メールで依頼した所属・確認者あて（メールサーバー未設定）"
        typer.echo(f"\n送信したメッセージ（{why}、outbox）: {var / 'outbox' / 'outbox.txt'}")


def _remote_transcript(workspace: str) -> str:
    import json
    from urllib.request import Request, urlopen

    with urlopen(Request(f"{workspace.rstrip('/')}/_standin/transcript", data=b"{}"), timeout=30) as response:
        return json.loads(response.read())["text"]


def main() -> None:
    app()


if __name__ == "__main__":
    main()

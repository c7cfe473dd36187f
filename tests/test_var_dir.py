"""With TENKEN_VAR_DIR=/x and any current folder, every command and flow writes under /x and nowhere else:
the ledger, the outbox, the cycle's files, the answers and the published site."""

import os
import shutil
from pathlib import Path

import pytest

from tenken.ledger import Ledger
from tenken.services import Cycle, collecting
from tenken.settings import Settings
from tests.conftest import ROOT, run_cli

YEAR = "2020"


def untouched_places() -> dict[Path, bool]:
    """Places a wrongly resolved default would write to: the checkout's var/ and site/, the bundled example."""
    return {ROOT / "var": (ROOT / "var").exists(), ROOT / "site": (ROOT / "site").exists()}


def example_files() -> set[str]:
    return {str(p) for p in (ROOT / "tenken" / "examples").rglob("*")}


@pytest.fixture
def places(tmp_path, monkeypatch):
    var, elsewhere = tmp_path / "x", tmp_path / "elsewhere"
    elsewhere.mkdir()
    for name in ("SLACK_BOT_TOKEN", "TENKEN_DATABASE_URL", "TENKEN_CONFIG_DIR", "TENKEN_SLACK_SECRET_BLOCK",
                 "TENKEN_SUBMISSION_KEY"):
        monkeypatch.delenv(name, raising=False)
    before, files = untouched_places(), example_files()
    yield var, elsewhere
    assert list(elsewhere.iterdir()) == [], "nothing is written in the current folder"
    assert untouched_places() == before and example_files() == files


def tenken(var: Path, elsewhere: Path, *args: str, expect: int = 0) -> str:
    done = run_cli(*args, env={"TENKEN_VAR_DIR": str(var)}, cwd=elsewhere)
    assert done.returncode == expect, done.stdout + done.stderr
    return done.stdout


@pytest.mark.slow
def test_every_stage_command_writes_only_under_the_var_folder(places):
    var, elsewhere = places
    tenken(var, elsewhere, "open", "--year", YEAR)
    tenken(var, elsewhere, "example-workbooks", "--year", YEAR, "--out", str(var / "filled"))
    key = var / "keys" / "submission.key"
    assert key.stat().st_mode & 0o777 == 0o600, "the submission key made on first use is the owner's only"
    with Cycle.opened(Settings.resolve(var_dir=var), int(YEAR), sending=False) as cycle:
        for path in (var / "filled").iterdir():  # a bridge delivers each with its sender recorded
            collecting.deliver(cycle, [path], path.stem.removeprefix(f"tenken-{YEAR}-"), "test-bridge")
    # A blank request, put in the inbox by hand with no sender recorded: refused, never attributed.
    shutil.copy(var / "cycles" / "kanagawa" / YEAR / "requests" / "tenken-2020-tourism.xlsx",
                var / "cycles" / "kanagawa" / YEAR / "inbox" / "no-sender.xlsx")
    collected = tenken(var, elsewhere, "collect", "--year", YEAR)
    assert "35件中 受付 34件、差戻し 1件" in collected
    (var / "not-a-workbook.xlsx").write_bytes(b"not a workbook")
    tenken(var, elsewhere, "intake", "--year", YEAR, str(var / "not-a-workbook.xlsx"), "--from", "tourism", expect=1)
    tenken(var, elsewhere, "remind", "--year", YEAR, "--today", "2021-05-31")
    tenken(var, elsewhere, "status", "--year", YEAR)
    tenken(var, elsewhere, "summary", "--year", YEAR)
    tenken(var, elsewhere, "rate", "--year", YEAR)
    tenken(var, elsewhere, "compile", "--year", YEAR)
    refused = run_cli("publish", "--year", YEAR, env={"TENKEN_VAR_DIR": str(var)}, cwd=elsewhere)
    published = tenken(var, elsewhere, "publish", "--year", YEAR, "--unreviewed")
    tenken(var, elsewhere, "report", "--year", YEAR, "--out", str(var / "report"))
    tenken(var, elsewhere, "requests", "--year", YEAR, "--out", str(var / "requests"))

    assert refused.returncode == 2 and "承認" in refused.stderr and "公表できません" in refused.stderr
    assert f"公表しました: {var / 'site' / 'kanagawa' / YEAR}" in published
    written = {p.name for p in var.iterdir()} - {"tenken.db-wal", "tenken.db-shm"}  # SQLite's own, while open
    assert written == {"tenken.db", "outbox", "cycles", "answers", "site", "filled", "not-a-workbook.xlsx", "report",
                       "requests", "keys"}
    cycle = var / "cycles" / "kanagawa" / YEAR
    assert {p.name for p in cycle.iterdir()} >= {"requests", "inbox", "received", "review", "final"}
    assert (cycle / "review" / "round-1" / f"report-{YEAR}-draft.pdf").is_file()
    assert any((var / "answers").rglob("*回答.txt"))
    assert (var / "outbox" / "outbox.txt").is_file()


@pytest.mark.prefect
def test_the_flows_write_only_under_the_var_folder(prefect_server, places, monkeypatch):
    from flows.open_cycle import open_cycle
    from flows.publish import publish
    from tenken.notify import read_outbox

    var, elsewhere = places
    monkeypatch.setenv("TENKEN_VAR_DIR", str(var))
    monkeypatch.chdir(elsewhere)

    open_cycle(int(YEAR))
    with Ledger.open(f"sqlite:///{var / 'tenken.db'}") as ledger:  # as if a reviewer had approved round 1
        ledger.record_review_decision(int(YEAR), 1, "approve", "審査 花子")
    published = publish(int(YEAR))

    assert Path(published["target"]) == var / "site" / "kanagawa" / YEAR
    assert len([r for r in read_outbox(var) if r["kind"] == "request"]) == 34
    assert (var / "tenken.db").is_file() and (var / "cycles" / "kanagawa" / YEAR / "final").is_dir()
    assert os.getcwd() == str(elsewhere)

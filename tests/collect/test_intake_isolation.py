"""Whatever arrives in the inbox gets an outcome on its own: links are never followed, pipes never block,
names are data, one failing file stops nobody else, and a refusal with thousands of problems stays readable."""

from __future__ import annotations

import os
import shutil
import time
from datetime import date

import pytest

from tenken.intake import Intake
from tenken.notify import read_outbox
from tenken.services import Cycle
from tenken.services import collecting, opening, reminding
from tenken.settings import Settings
from tests.conftest import TEST_SUBMISSION_KEY
from tests.conftest import run_cli

from .conftest import YEAR, copy_example, edit_workbook


@pytest.fixture
def cycle(tmp_path):
    """The FY2020 cycle opened on a fresh var folder, messages to the outbox."""
    var = tmp_path / "var"
    settings = Settings(var_dir=var, database_url=f"sqlite:///{var / 'tenken.db'}",
                        submission_key=TEST_SUBMISSION_KEY)
    with settings.open_ledger() as ledger:
        opened = Cycle.build(settings, YEAR, ledger, settings.notifier())
        opening.open_cycle(opened)
        yield opened


def test_a_link_is_refused_and_nothing_of_its_target_is_read_or_kept(intake, tmp_path, monkeypatch):
    monkeypatch.setenv("TENKEN_SECRET_FOR_THIS_TEST", "do-not-store-me")
    links = {"environ.xlsx": "/proc/self/environ", "passwd.xlsx": "/etc/passwd", "dangling.xlsx": "/no/such/file"}
    for name, target in links.items():
        os.symlink(target, tmp_path / name)

    outcomes = intake.run(sorted(tmp_path / name for name in links))

    for outcome in outcomes:
        assert not outcome.accepted and "リンク" in outcome.record.problems[0].message
        assert intake.ledger.file_content(outcome.record.sha256) is None
    assert {o.path.name for o in outcomes} == set(links)


def test_a_pipe_is_refused_at_once_without_waiting_for_a_writer(intake, tmp_path):
    os.mkfifo(tmp_path / "pipe.xlsx")
    started = time.monotonic()
    [outcome] = intake.run([tmp_path / "pipe.xlsx"])
    assert time.monotonic() - started < 5
    assert not outcome.accepted and "特殊なファイル" in outcome.record.problems[0].message


def delivered(cycle, example_files, department, staging, name=None):
    """A department's example workbook put in the inbox with its sender recorded, as a bridge would."""
    path = copy_example(example_files, department, staging / department, name)
    collecting.deliver(cycle, [path], department, "test-bridge")
    return cycle.folder("inbox") / path.name


def test_a_long_japanese_name_is_taken_in_moved_and_answered(cycle, example_files, tmp_path):
    name = "観光課の実績" * 13 + "です.xlsx"  # 80 characters, 245 bytes: over the limit with any prefix
    delivered(cycle, example_files, "tourism", tmp_path, name)
    delivered(cycle, example_files, "history-museum", tmp_path)

    report = collecting.take_in(cycle)

    assert [e["department"] for e in report.accepted] == ["history-museum", "tourism"]
    assert report.failed == [] and list(cycle.folder("inbox").iterdir()) == []
    assert all(len(p.name.encode()) < 255 for p in cycle.folder("received").iterdir())
    assert "…" in report.accepted[1]["file"], "shown shortened"


def test_a_newline_in_a_name_cannot_forge_a_line_of_output_or_of_the_answer(tmp_path, example_files):
    inbox = tmp_path / "inbox"
    forged = "x\n受付  観光課 第9版: 偽物.xlsx\r\x1b[2Jend\u202e.xlsx"
    edit_workbook(copy_example(example_files, "tourism", inbox, forged), {"H9": "abc"})

    done = run_cli("intake", "--year", str(YEAR), str(inbox), "--from", "tourism", "--var", str(tmp_path / "var"),
                   cwd=tmp_path)

    assert done.returncode == 1, done.stderr
    assert "受付  観光課 第9版" not in done.stdout.replace("x 受付  観光課 第9版", "")
    assert not any(c in done.stdout for c in "\r\x1b\u202e")
    [answer] = (tmp_path / "var" / "answers").rglob("*回答.txt")
    letter = answer.read_text(encoding="utf-8")
    assert "\x1b" not in letter and "\u202e" not in letter and "\n受付  観光課" not in letter


def test_one_file_that_fails_stops_nobody_else_and_is_taken_in_by_the_next_run(cycle, example_files, monkeypatch,
                                                                                tmp_path):
    for department in ("tourism", "history-museum", "elderly-welfare"):
        delivered(cycle, example_files, department, tmp_path)
    original = Intake.submit_file

    def fail_for_the_museum(self, path, sender=None, origin=None):
        if "history-museum" in path.name:
            raise RuntimeError("disk error while reading")
        return original(self, path, sender, origin)

    monkeypatch.setattr(Intake, "submit_file", fail_for_the_museum)
    report = collecting.take_in(cycle)
    assert sorted(e["department"] for e in report.accepted) == ["elderly-welfare", "tourism"]
    assert [f["file"] for f in report.failed] == ["tenken-2020-history-museum.xlsx"]
    assert "disk error" in report.failed[0]["error"]
    assert [p.name for p in cycle.folder("inbox").iterdir()] == ["tenken-2020-history-museum.xlsx"]
    sent = reminding.send_reminders(cycle, date(2021, 5, 31))
    assert "history-museum" in {s["department"] for s in sent} and "tourism" not in {s["department"] for s in sent}

    monkeypatch.setattr(Intake, "submit_file", original)
    again = collecting.take_in(cycle)
    assert [e["department"] for e in again.accepted] == ["history-museum"] and again.failed == []


def test_an_answer_that_cannot_be_sent_keeps_the_file_for_the_next_run_and_is_sent_once(
        cycle, example_files, monkeypatch, tmp_path):
    delivered(cycle, example_files, "tourism", tmp_path)
    calls = []
    original = collecting._answer

    def down_once(cycle_, outcome, **where):
        calls.append(outcome.record.sha256)
        if len(calls) == 1:
            raise RuntimeError("Slack is down")
        return original(cycle_, outcome, **where)

    monkeypatch.setattr(collecting, "_answer", down_once)
    first = collecting.take_in(cycle)
    assert first.accepted == [] and len(first.failed) == 1
    second = collecting.take_in(cycle)
    assert [e["department"] for e in second.accepted] == ["tourism"]
    assert second.accepted[0]["version"] == 1, "the same bytes: still one version"
    receipts = [r for r in read_outbox(cycle.settings.var_dir) if r["kind"] == "accepted"]
    assert len(receipts) == 1


def test_a_refusal_with_thousands_of_problems_lists_fifty_and_counts_the_rest(cycle, example_files, tmp_path):
    path = copy_example(example_files, "tourism", tmp_path)
    rows = {f"A{row}": f"X-{row}" for row in range(13, 2013)}
    edit_workbook(path, {**rows, **{f"H{row}": "1件" for row in range(13, 2013)}})
    collecting.deliver(cycle, [path], "tourism", "test-bridge")

    report = collecting.take_in(cycle)

    assert len(report.rejected[0]["problems"]) > 1000
    [letter] = (cycle.folder("answers")).rglob("*回答.txt")
    text = letter.read_text(encoding="utf-8")
    assert text.count("\n50. ") == 1 and "\n51. " not in text and "ほか" in text
    [message] = [r for r in read_outbox(cycle.settings.var_dir) if r["kind"] == "rejection"]
    assert len(message["text"]) < 40_000 and "ほか" in message["text"]


def test_a_year_the_plan_does_not_ask_for_creates_nothing(tmp_path, example_files):
    done = run_cli("intake", "--year", "2031", str(example_files["tourism"]), "--from", "tourism",
                   "--var", str(tmp_path / "var"), cwd=tmp_path)
    assert done.returncode == 2
    assert "点検の対象年度ではありません" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "var").exists()


def test_a_name_that_is_not_utf8_is_shown_and_stored_safely(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with open(os.fsencode(inbox) + b"/bad\xff\xfename.xlsx", "wb") as handle:
        handle.write(b"not a workbook")

    done = run_cli("intake", "--year", str(YEAR), str(inbox), "--from", "tourism", "--var", str(tmp_path / "var"),
                   cwd=tmp_path)

    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "bad\ufffd\ufffdname.xlsx" in done.stdout
    [answer] = (tmp_path / "var" / "answers").rglob("*回答.txt")
    assert answer.name == "00001-bad_name-回答.txt" and answer.parent.name == "tourism"
    assert "bad\ufffd\ufffdname.xlsx" in answer.read_text(encoding="utf-8")

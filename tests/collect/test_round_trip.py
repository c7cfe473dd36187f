"""Requests → filled from the example → intake (each as its department) → the figures of SPEC §3, through
the real CLI."""

from __future__ import annotations

import json
import shutil

from tenken.config import DEFAULT_CONFIG, load_results
from tenken.ledger import Ledger
from tenken.services import load_cycle
from tests.conftest import run_cli

from .conftest import YEAR, take_in_as


def test_the_example_submitted_as_workbooks_gives_the_spec_figures(tmp_path):
    env = {"TENKEN_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.db'}"}
    requested = run_cli("requests", "--year", "2020", "--out", str(tmp_path / "requests"),
                        "--deadline", "2021-04-30", env=env)
    assert requested.returncode == 0, requested.stderr
    assert len(list((tmp_path / "requests").glob("*.xlsx"))) == 34

    filled = run_cli("example-workbooks", "--year", "2020", "--out", str(tmp_path / "inbox"), env=env)
    assert filled.returncode == 0, filled.stderr

    # Handed over department by department (what `tenken intake --from` does, without 34 processes).
    taken = take_in_as({path.stem.removeprefix("tenken-2020-"): [path] for path in (tmp_path / "inbox").iterdir()},
                       tmp_path / "answers", env=env)
    assert len(taken) == 34 and all(o.accepted for o in taken), [o.record.problems[:1] for o in taken if not o.accepted]
    one = run_cli("intake", "--year", "2020", str(tmp_path / "inbox" / "tenken-2020-tourism.xlsx"), "--from", "tourism",
                  env=env)
    assert one.returncode == 0 and "受付  観光課 第1版（同じファイルを受付済み）" in one.stdout, one.stdout + one.stderr

    # The config example must not be what the figures come from: hide it from a copy of the config.
    config = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG, config)
    example = load_results(DEFAULT_CONFIG, YEAR)
    office_only = {"fiscal_year": YEAR, "report": example.report.model_dump(mode="json"),
                   "results": [{"measure": r.measure, "adjustment": r.adjustment.model_dump(mode="json")}
                               for r in example.results if r.adjustment]}
    (config / "results" / "2020.yaml").write_text(json.dumps(office_only, ensure_ascii=False), encoding="utf-8")

    summary = run_cli("summary", "--year", "2020", "--json", "--config", str(config), env=env)
    assert summary.returncode == 0, summary.stderr
    figures = json.loads(summary.stdout)
    assert (figures["rate"], figures["met"], figures["rated"]) == (69.8, 44, 63)
    assert [p["rate"] for p in figures["pillars"]] == [72.7, 63.2]


def test_the_ledger_holds_what_each_department_wrote_measure_by_measure(intake, example_files, db_url, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for path in example_files.values():
        shutil.copyfile(path, inbox / path.name)
    assert all(o.accepted for o in intake.run([inbox]))

    with Ledger.open(db_url) as ledger:
        _, from_ledger = load_cycle(YEAR, ledger=ledger)
    example = load_results(DEFAULT_CONFIG, YEAR)
    assert from_ledger.report == example.report
    assert [r.model_dump(exclude={"department"}) for r in from_ledger.results] == \
           [r.model_dump(exclude={"department"}) for r in example.results]
    assert all(r.department for r in from_ledger.results)


def test_without_submissions_a_cycle_reads_the_bundled_example(tmp_path):
    with Ledger.open(f"sqlite:///{tmp_path / 'empty.db'}") as ledger:
        _, results = load_cycle(YEAR, ledger=ledger)
    assert results == load_results(DEFAULT_CONFIG, YEAR)
    assert load_cycle(YEAR)[1] == results


def test_reading_figures_does_not_create_a_ledger(tmp_path):
    summary = run_cli("summary", "--year", str(YEAR), "--json", "--db", f"sqlite:///{tmp_path / 'absent.db'}",
                      cwd=tmp_path)
    assert summary.returncode == 0, summary.stderr
    assert json.loads(summary.stdout)["rate"] == 69.8
    assert list(tmp_path.iterdir()) == []


def test_the_department_is_read_from_inside_the_file_not_from_its_name(intake, example_files, tmp_path):
    renamed = tmp_path / "観光課の分（最終）.xlsx"
    shutil.copyfile(example_files["tourism"], renamed)
    outcome = intake.submit_file(renamed)
    assert outcome.accepted
    assert outcome.record.department == "tourism"

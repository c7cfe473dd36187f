"""The corpus of bad inputs: each is refused with a message a clerk can act on, located in its cell
when it has one; nothing is stored half-way and the department's earlier version stays in force."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy.exc import IntegrityError
from typer.testing import CliRunner

from tenken.cli import app
from tenken.config import DEFAULT_CONFIG, load_results
from tenken.example import department_results
from tenken.workbook.safety import Limits
from tenken.workbook.writer import request_csv

from .conftest import YEAR, copy_example, edit_workbook

# The tourism department's workbook: row 7-8 I-1-イ-1 (1)(2) numeric PV, row 9 I-1-イ-2 numeric 件 (△),
# row 10 I-1-イ-3 qualitative 実施, rows 11-12 I-2-イ-1 (1)(2).


def _edited(cells: dict, sheet: str = "実績入力"):
    def build(example_files, folder, plan):
        return edit_workbook(copy_example(example_files, "tourism", folder), cells, sheet)
    return build


def _another_departments_row(example_files, folder, plan):
    measure = plan.measures_of("agriculture-policy")[0]
    part = measure.years[YEAR].parts[0]
    return edit_workbook(copy_example(example_files, "tourism", folder), {
        "A9": measure.key, "B9": "", "C9": measure.name, "D9": measure.indicator, "E9": "定性", "F9": "",
        "G9": part.target, "H9": part.target})


def _deleted_row(example_files, folder, plan):
    path = copy_example(example_files, "tourism", folder)
    workbook = load_workbook(path)
    workbook["実績入力"].delete_rows(10)
    workbook.save(path)
    return path


def _inserted_column(example_files, folder, plan):
    path = copy_example(example_files, "tourism", folder)
    workbook = load_workbook(path)
    workbook["実績入力"].insert_cols(8)
    workbook.save(path)
    return path


def _plain_workbook(example_files, folder, plan):
    path = folder / "results.xlsx"
    workbook = Workbook()
    workbook.active["A1"] = "施策番号"
    workbook.save(path)
    return path


def _zip_bomb(example_files, folder, plan):
    path = folder / "tenken-2020-tourism.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (30 * 1024 * 1024))
    return path


def _oversized(example_files, folder, plan):
    path = folder / "tenken-2020-tourism.xlsx"
    with path.open("wb") as handle:
        handle.truncate(Limits().max_file_bytes + 1)
    return path


def _bytes(name: str, data: bytes):
    def build(example_files, folder, plan):
        path = folder / name
        path.write_bytes(data)
        return path
    return build


def _csv_with_formula(example_files, folder, plan):
    filled = department_results(plan, load_results(DEFAULT_CONFIG, YEAR), "tourism")
    rows = list(csv.reader(io.StringIO(request_csv(plan, YEAR, "tourism", filled, bom=False))))
    rows[1][rows[0].index("実績")] = '=HYPERLINK("http://x.example/","1")'
    path = folder / "tourism.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


CORPUS = {
    "rows pasted from another department": (_another_departments_row, "は農政課の施策です", "A9"),
    "an unknown measure": (_edited({"A9": "I-9-ア-9"}), "施策番号「I-9-ア-9」は計画にありません", "A9"),
    "a deleted measure row": (_deleted_row, "I-1-イ-3「観光統計データの活用」の結果がありません", None),
    "an edited target": (_edited({"G7": "100,000PV"}),
                         "「目標」が依頼時の「400,000PV」から「100,000PV」に変更されています", "G7"),
    "an actual in another unit": (_edited({"H9": "0人"}), "単位「人」が目標「120件」の単位「件」と異なります", "H9"),
    "text in a numeric cell": (_edited({"H9": "ゼロ"}), "実績「ゼロ」は数値ではありません", "H9"),
    "a HYPERLINK formula": (_edited({"H10": '=HYPERLINK("http://x.example/","実施")'}), "数式", "H10"),
    "a DDE formula": (_edited({"J9": "=cmd|' /C calc'!A0"}), "数式「=cmd|' /C calc'!A0」", "J9"),
    "a self-rating not on the list": (_edited({"I10": "まる"}), "自己評価「まる」は選べません", "I10"),
    "a miss without a reason": (_edited({"J9": None}), "「未達成の理由及び今後の見込み等」を入力してください", "J9"),
    "a workbook of another year": (_edited({"B2": 2021}, sheet="_tenken"), "令和3年度の依頼ファイルです", None),
    "a moved column": (_inserted_column, "見出し", None),
    "a workbook that is not a request": (_plain_workbook, "点検の依頼ファイルではありません", None),
    "a zip bomb": (_zip_bomb, "圧縮率が異常です", None),
    "an oversized file": (_oversized, "ファイルが大きすぎます", None),
    "other bytes named .xlsx": (_bytes("tenken-2020-tourism.xlsx", b"%PDF-1.4\n" + b"x" * 400),
                                "Excel ブック（.xlsx）ではありません", None),
    "an empty file": (_bytes("tenken-2020-tourism.xlsx", b""), "ファイルが空です", None),
    "a legacy or password-protected workbook": (
        _bytes("tourism.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600), "古い形式", None),
    "a CSV with a formula": (_csv_with_formula, "数式", "2行目「実績」"),
    "a CSV in an unknown encoding": (_bytes("tourism.csv", bytes(range(0x80, 0x100)) * 4), "文字コードを判別できません",
                                     None),
}


@pytest.fixture
def earlier(intake, example_files, tmp_path):
    """The tourism department's first version, accepted before any bad file arrives."""
    first = intake.submit_file(copy_example(example_files, "tourism", tmp_path / "v1"))
    assert first.accepted
    return first


@pytest.mark.parametrize("case", CORPUS, ids=list(CORPUS))
def test_a_bad_file_is_refused_clearly_and_nothing_earlier_is_lost(case, intake, ledger, example_files, plan,
                                                                   earlier, tmp_path):
    build, fragment, cell = CORPUS[case]
    before = ledger.latest_results(YEAR)
    folder = tmp_path / "bad"
    folder.mkdir()
    path = build(example_files, folder, plan)

    outcome = intake.submit_file(path)

    assert not outcome.accepted
    located = [p for p in outcome.record.problems if fragment in p.message]
    assert located, [p.message for p in outcome.record.problems]
    if cell is not None:
        assert cell in {p.cell for p in located}
    assert fragment in outcome.answer.read_text(encoding="utf-8")
    assert ledger.results_of(outcome.record.id) == []
    assert ledger.latest_results(YEAR) == before
    assert ledger.latest_versions(YEAR)["tourism"].id == earlier.record.id
    assert ledger.file_content(earlier.record.sha256) == example_files["tourism"].read_bytes()


def test_a_workbook_sent_by_another_department_is_refused(intake, example_files, tmp_path):
    outcome = intake.submit_file(copy_example(example_files, "tourism", tmp_path), sender="agriculture-policy")
    assert not outcome.accepted
    assert "観光課の依頼ファイルですが、農政課から提出されました" in outcome.record.problems[0].message
    assert outcome.record.department == "agriculture-policy"


def test_an_oversized_file_is_refused_without_keeping_its_bytes(intake, ledger, example_files, tmp_path):
    outcome = intake.submit_file(_oversized(example_files, tmp_path, None))
    assert not outcome.accepted
    assert ledger.file_content(outcome.record.sha256) is None


def test_the_whole_corpus_through_the_cli_gives_per_file_errors_and_no_traceback(plan, example_files, db_url,
                                                                                 tmp_path):
    inbox = tmp_path / "inbox"
    for number, (build, _, _) in enumerate(CORPUS.values()):
        folder = inbox / f"{number:02d}"
        folder.mkdir(parents=True)
        build(example_files, folder, plan)
    result = CliRunner().invoke(app, ["intake", "--year", "2020", str(inbox), "--from", "tourism",
                                      "--answers", str(tmp_path / "a")])
    assert result.exit_code == 1
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert sum(line.startswith("差戻し ") for line in result.output.splitlines()) == len(CORPUS)
    assert f"{len(CORPUS)}件中 受付 0件、差戻し {len(CORPUS)}件" in result.output


def test_full_width_digits_are_accepted_and_kept_as_written(intake, ledger, example_files, tmp_path):
    path = edit_workbook(copy_example(example_files, "tourism", tmp_path), {"H7": "８４１，５８６ＰＶ"})
    outcome = intake.submit_file(path)
    assert outcome.accepted, outcome.record.problems
    stored = {r.measure: r for r in ledger.results_of(outcome.record.id)}
    assert stored["I-1-イ-1"].actual == ("８４１，５８６ＰＶ", "83,640PV")


@pytest.mark.parametrize("encoding", ["cp932", "utf-8", "utf-8-sig"])
def test_a_csv_form_is_accepted_in_shift_jis_and_utf_8(encoding, intake, ledger, plan, tmp_path):
    filled = department_results(plan, load_results(DEFAULT_CONFIG, YEAR), "tourism")
    path = tmp_path / "観光課.csv"
    path.write_bytes(request_csv(plan, YEAR, "tourism", filled, bom=False).encode(encoding))
    outcome = intake.submit_file(path)
    assert outcome.accepted, outcome.record.problems
    assert outcome.record.file_format == "csv"
    assert {r.measure: r.actual for r in ledger.results_of(outcome.record.id)}["I-1-イ-1"] == ("841,586PV", "83,640PV")


def test_the_same_bytes_submitted_twice_are_recorded_once(intake, ledger, example_files, tmp_path):
    first = intake.submit_file(copy_example(example_files, "tourism", tmp_path / "a"))
    again = intake.submit_file(copy_example(example_files, "tourism", tmp_path / "b", "再送.xlsx"))
    assert again.record.duplicate and again.record.id == first.record.id
    assert len(ledger.submissions(YEAR)) == 1


def test_a_corrected_version_supersedes_and_the_first_stays(intake, ledger, example_files, tmp_path):
    first = intake.submit_file(copy_example(example_files, "tourism", tmp_path / "a"))
    corrected = intake.submit_file(edit_workbook(copy_example(example_files, "tourism", tmp_path / "b"),
                                                 {"H7": "850,000PV"}))
    assert (first.record.version, corrected.record.version) == (1, 2)
    assert ledger.latest_versions(YEAR)["tourism"].id == corrected.record.id
    assert {r.measure: r.actual for r in ledger.results_of(first.record.id)}["I-1-イ-1"][0] == "841,586PV"
    assert {r.measure: r.actual for r in ledger.latest_results(YEAR)}["I-1-イ-1"][0] == "850,000PV"


def test_a_refused_workbook_comes_back_marked_and_once_corrected_is_accepted(intake, example_files, tmp_path):
    bad = edit_workbook(copy_example(example_files, "tourism", tmp_path), {
        "H9": "ゼロ", "H10": '=HYPERLINK("http://x.example/","実施")'})
    refused = intake.submit_file(bad)
    assert not refused.accepted
    marked = load_workbook(refused.marked_copy)["実績入力"]
    assert "数値ではありません" in marked["H9"].comment.text
    assert marked["H9"].fill.fgColor.rgb.endswith("F8CBAD")
    assert marked["H10"].data_type == "s"  # the formula comes back as inert text
    assert "シート「実績入力」のセル H9" in refused.answer.read_text(encoding="utf-8")

    fixed = edit_workbook(refused.marked_copy, {"H9": "0件", "H10": "実施"}, target=tmp_path / "fixed.xlsx")
    assert intake.submit_file(fixed).accepted


def test_text_that_looks_like_a_formula_is_stored_as_text(intake, ledger, example_files, tmp_path):
    path = copy_example(example_files, "tourism", tmp_path)
    workbook = load_workbook(path)
    cell = workbook["実績入力"]["J9"]
    cell.value = "=1+1 は計算しません"
    cell.data_type = "s"  # what Excel stores for '=1+1 typed with a leading apostrophe
    workbook.save(path)
    outcome = intake.submit_file(path)
    assert outcome.accepted, outcome.record.problems
    assert {r.measure: r.reason for r in ledger.results_of(outcome.record.id)}["I-1-イ-2"] == "=1+1 は計算しません"


def test_a_failure_while_storing_leaves_nothing_behind(ledger):
    from tenken.core.results import MeasureResult
    from tenken.ledger import NewSubmission

    twice = MeasureResult(measure="I-1-イ-2", actual=("0件",))
    with pytest.raises(IntegrityError):
        ledger.store_submission(NewSubmission(
            fiscal_year=YEAR, sha256="f" * 64, size=1, content=b"x", file_name="x.xlsx", source="x", channel="test",
            file_format="xlsx", department="tourism", accepted=True, results=(twice, twice)))
    assert ledger.submissions(YEAR) == []
    assert ledger.file_content("f" * 64) is None


def test_folders_are_searched_and_lock_files_are_answered_as_such(intake, example_files, tmp_path):
    inbox = tmp_path / "inbox"
    copy_example(example_files, "tourism", inbox / "観光課")
    (inbox / "~$tenken-2020-tourism.xlsx").write_bytes(b"lock")
    (inbox / ".hidden-tenken-2020-tourism.xlsx").write_bytes(copy_example(example_files, "tourism", tmp_path).read_bytes())
    outcomes = {o.path.name: o for o in intake.run([inbox])}
    hidden, visible = outcomes[".hidden-tenken-2020-tourism.xlsx"], outcomes["tenken-2020-tourism.xlsx"]
    assert hidden.accepted and visible.accepted, "a hidden file is taken in like any other"
    assert [hidden.record.duplicate, visible.record.duplicate] == [False, True], "the same bytes, one version"
    lock = outcomes["~$tenken-2020-tourism.xlsx"]
    assert not lock.accepted and "一時ファイル" in lock.record.problems[0].message


def test_a_path_that_does_not_exist_is_a_clear_cli_error(db_url, tmp_path):
    result = CliRunner().invoke(app, ["intake", "--year", "2020", str(tmp_path / "nowhere"), "--from", "tourism"])
    assert result.exit_code == 2
    assert "ファイルまたはフォルダがありません" in result.output


def test_an_unreadable_copy_is_not_reopened(tmp_path):
    from tenken.workbook.answers import marked_workbook
    from tenken.core.errors import CellProblem

    assert marked_workbook(b"not a workbook", [CellProblem("x", "実績入力", "H7")]) is None


def test_a_refused_workbook_is_filed_under_the_department_it_names(intake, example_files, plan, tmp_path):
    for case in ("a workbook of another year", "a moved column"):
        build = CORPUS[case][0]
        folder = tmp_path / case
        folder.mkdir()
        outcome = intake.submit_file(build(example_files, folder, plan))
        assert not outcome.accepted
        assert outcome.record.department == "tourism"
        assert outcome.answer.read_text(encoding="utf-8").startswith("観光課 ご担当者様")

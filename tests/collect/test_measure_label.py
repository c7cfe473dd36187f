"""A plan that calls its measures by another word hears that word wherever a department reads one:
the city plan's 事業 in the request workbook and CSV, in intake's problems, in the answer letter and
in the marked copy. Kanagawa's word is 施策, and its forms and answers say 施策 as they always did."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook

from tenken.config import load_plan, load_results
from tenken.core.errors import CellProblem
from tenken.example import department_results
from tenken.intake import Intake
from tenken.workbook.answers import answer_text, where
from tenken.workbook.layout import GUIDE_SHEET, HEADER_ROW, INPUT_SHEET
from tenken.workbook.reader import READERS, read_csv, read_workbook
from tenken.workbook.safety import Refused
from tenken.workbook.writer import request_csv, request_workbook
from tests.conftest import ROOT

from .conftest import YEAR

CITY = ROOT / "tests" / "fixtures" / "city_plan"
CITY_YEAR = 2024
# 市民安全課 (safety): row 7 1-B-1-1 numeric 人 (lower is better, missed), rows 8-9 1-B-1-2 (1) qualitative
# (2) numeric. 1-A-1-2 belongs to 消防局.
SAFETY_KEYS = ["1-B-1-1", "1-B-1-2", "1-B-1-2"]


@pytest.fixture(scope="module")
def city():
    return load_plan(CITY)


@pytest.fixture(scope="module")
def city_filled(city):
    return department_results(city, load_results(CITY, CITY_YEAR), "safety")


@pytest.fixture
def city_intake(city, ledger, tmp_path) -> Intake:
    return Intake(city, CITY_YEAR, ledger, answers_dir=tmp_path / "answers")


def sheet_text(workbook, *sheets: str) -> str:
    return "\n".join(str(cell.value) for name in sheets for row in workbook[name].iter_rows() for cell in row
                     if cell.value is not None)


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")


def refusal(read, *args, **kwargs) -> str:
    with pytest.raises(Refused) as refused:
        read(*args, **kwargs)
    return refused.value.message


def test_the_city_plans_word_for_a_measure_is_事業(city):
    assert city.measure_label == "事業"


def test_the_city_request_workbook_titles_its_measure_columns_事業番号_and_事業名(city):
    sheet = load_workbook(io.BytesIO(request_workbook(city, CITY_YEAR, "safety", date(2025, 4, 30))))[INPUT_SHEET]

    assert (sheet[f"A{HEADER_ROW}"].value, sheet[f"C{HEADER_ROW}"].value) == ("事業番号", "事業名")


def test_the_city_request_workbook_says_事業_in_its_instructions_and_never_施策(city, city_filled):
    workbook = load_workbook(io.BytesIO(request_workbook(city, CITY_YEAR, "safety", date(2025, 4, 30), city_filled)))
    guide = sheet_text(workbook, GUIDE_SHEET)

    assert "定性的な指標の事業だけ" in guide
    assert "施策" not in sheet_text(workbook, INPUT_SHEET, GUIDE_SHEET)


def test_kanagawas_request_workbook_still_says_施策_in_its_columns_and_instructions(plan):
    workbook = load_workbook(io.BytesIO(request_workbook(plan, YEAR, "tourism", date(2021, 4, 30))))
    sheet = workbook[INPUT_SHEET]

    assert (sheet[f"A{HEADER_ROW}"].value, sheet[f"C{HEADER_ROW}"].value) == ("施策番号", "施策名")
    assert "定性的な指標の施策だけ" in sheet_text(workbook, GUIDE_SHEET)
    assert "事業番号" not in sheet_text(workbook, INPUT_SHEET)


def test_the_city_csv_form_has_事業_columns_and_no_施策(city, city_filled):
    header = csv_rows(request_csv(city, CITY_YEAR, "safety", city_filled))[0]

    assert header[:5] == ["年度", "所属", "事業番号", "項目", "事業名"]
    assert not any("施策" in title for title in header)


def test_the_city_csv_form_reads_back_with_the_plans_word(city, city_filled):
    text = request_csv(city, CITY_YEAR, "safety", city_filled)

    form = read_csv(text.encode("utf-8"), measure_label=city.measure_label)

    assert [row.text("key") for row in form.rows] == SAFETY_KEYS
    assert [row.text("actual") for row in form.rows] == ["12人", "実施", "320人"]
    assert form.rows[0].cells["key"].ref == "2行目「事業番号」"


def test_a_kanagawa_csv_with_its_施策番号_column_is_still_read(plan):
    text = request_csv(plan, YEAR, "tourism")
    assert csv_rows(text)[0][2] == "施策番号"

    for form in (read_csv(text.encode("utf-8")), read_csv(text.encode("utf-8"), measure_label=plan.measure_label)):
        assert [row.text("key") for row in form.rows][:2] == ["I-1-イ-1", "I-1-イ-1"]
        assert form.rows[0].cells["key"].ref == "2行目「施策番号」"


def test_a_city_csv_without_its_事業番号_column_is_refused_naming_that_column(city):
    rows = csv_rows(request_csv(city, CITY_YEAR, "safety"))
    without_key = [row[:2] + row[3:] for row in rows]

    message = refusal(read_csv, csv_bytes(without_key), measure_label=city.measure_label)

    assert "列「事業番号」がありません" in message and "施策" not in message


def test_an_unknown_column_in_a_city_csv_is_refused_listing_the_columns_in_the_plans_word(city):
    rows = csv_rows(request_csv(city, CITY_YEAR, "safety"))
    rows[0].append("備考")

    message = refusal(read_csv, csv_bytes(rows), measure_label=city.measure_label)

    assert "「備考」は不明な列です" in message and "事業番号、項目、事業名" in message and "施策" not in message


@pytest.mark.parametrize("reader", READERS)
def test_a_city_workbook_reads_back_with_the_plans_word(reader, city, city_filled):
    data = request_workbook(city, CITY_YEAR, "safety", None, city_filled)

    form = read_workbook(data, reader=reader, measure_label=city.measure_label)

    assert [row.text("key") for row in form.rows] == SAFETY_KEYS


def test_a_city_workbook_with_an_edited_heading_is_refused_naming_the_heading_in_the_plans_word(city, tmp_path):
    path = tmp_path / "safety.xlsx"
    path.write_bytes(request_workbook(city, CITY_YEAR, "safety"))
    workbook = load_workbook(path)
    workbook[INPUT_SHEET][f"A{HEADER_ROW}"] = "番号"
    workbook.save(path)

    message = refusal(read_workbook, path.read_bytes(), measure_label=city.measure_label)

    assert f"A{HEADER_ROW} の見出しが「事業番号」から「番号」に変わっています" in message and "施策" not in message


def test_a_filled_city_workbook_and_csv_are_accepted_by_intake(city, city_intake, city_filled):
    workbook = city_intake.submit_bytes(request_workbook(city, CITY_YEAR, "safety", None, city_filled),
                                        "safety.xlsx", "test")
    csv_form = city_intake.submit_bytes(request_csv(city, CITY_YEAR, "safety", city_filled).encode("utf-8"),
                                        "safety.csv", "test")

    assert workbook.accepted, workbook.record.problems
    assert csv_form.accepted, csv_form.record.problems


def test_intake_problems_answer_and_marked_copy_of_a_city_workbook_say_事業_and_never_施策(
        city, city_intake, city_filled, tmp_path):
    path = tmp_path / "safety.xlsx"
    path.write_bytes(request_workbook(city, CITY_YEAR, "safety", None, city_filled))
    workbook = load_workbook(path)
    workbook[INPUT_SHEET]["A7"] = "9-Z-9-9"  # an unknown key: 1-B-1-1's row is then missing
    workbook[INPUT_SHEET]["G8"] = "中止"  # an edited target
    workbook.save(path)

    outcome = city_intake.submit_file(path)

    messages = [p.message for p in outcome.record.problems]
    assert not outcome.accepted
    assert "事業番号「9-Z-9-9」は計画にありません。事業番号は変更せず、依頼ファイルの行に入力してください。" in messages
    assert any(m.startswith("事業 1-B-1-2 の「目標」が依頼時の「実施」から「中止」に変更されています") for m in messages)
    assert "事業 1-B-1-1「交通事故死者ゼロ作戦」の結果がありません。実績を入力してください。" in messages
    letter = outcome.answer.read_text(encoding="utf-8")
    assert "事業 1-B-1-1 の行（ファイルにありません。依頼ファイルの行は削除しないでください）" in letter
    assert "施策" not in letter
    marked = load_workbook(outcome.marked_copy)[INPUT_SHEET]
    comments = {ref: marked[ref].comment.text for ref in ("A7", "G8")}
    assert "事業番号「9-Z-9-9」" in comments["A7"] and comments["G8"].startswith("事業 1-B-1-2 の「目標」")
    assert not any("施策" in c.comment.text for row in marked.iter_rows() for c in row if c.comment)


def test_intake_problems_of_a_city_csv_name_the_measure_事業_and_never_施策(city, city_intake, city_filled):
    rows = csv_rows(request_csv(city, CITY_YEAR, "safety", city_filled))
    key, name, rating = rows[0].index("事業番号"), rows[0].index("事業名"), rows[0].index("自己評価")
    rows[2][rating] = "まる"
    other = city.measures_by_key["1-A-1-2"]  # 消防局's
    pasted = [""] * len(rows[0])
    pasted[:2], pasted[key], pasted[name] = rows[1][:2], other.key, other.name
    pasted[rows[0].index("実績")] = "7.5分"
    stray = [""] * len(rows[0])
    stray[:2], stray[rows[0].index("実績")] = rows[1][:2], "99人"
    rows += [pasted, stray]

    outcome = city_intake.submit_bytes(csv_bytes(rows), "safety.csv", "test")

    messages = [p.message for p in outcome.record.problems]
    assert any(m.startswith("事業 1-B-1-2 の自己評価「まる」は選べません") for m in messages)
    assert any(m.startswith("事業 1-A-1-2「救急体制の強化」は消防局の事業です。市民安全課の依頼ファイルには"
                            "市民安全課の事業だけを入力してください") for m in messages)
    assert "6行目に、事業番号のない入力があります。各事業の行に入力してください。" in messages
    assert not any("施策" in m for m in messages)
    assert "施策" not in outcome.answer.read_text(encoding="utf-8")


def test_a_finished_city_measure_sent_back_is_named_事業(city, city_intake):
    rows = csv_rows(request_csv(city, CITY_YEAR, "digital"))
    finished = city.measures_by_key["2-A-1-3"]
    row = [""] * len(rows[0])
    row[:2], row[2], row[rows[0].index("実績")] = rows[1][:2], finished.key, "完了"
    rows.append(row)

    outcome = city_intake.submit_bytes(csv_bytes(rows), "digital.csv", "test")

    assert "事業 2-A-1-3「旧システムの廃止」は令和6年度の点検の対象ではありません。依頼ファイルの行をそのまま使ってください。" in [
        p.message for p in outcome.record.problems]


def test_a_missing_row_is_placed_in_the_plans_word_and_施策_by_default():
    problem = CellProblem("結果がありません。", measure="1-B-1-1")

    assert where(problem, "事業") == "事業 1-B-1-1 の行（ファイルにありません。依頼ファイルの行は削除しないでください）"
    assert where(problem).startswith("施策 1-B-1-1 の行")
    assert "1. 事業 1-B-1-1 の行" in answer_text("safety.csv", [problem], measure_label="事業")
    assert "1. 施策 1-B-1-1 の行" in answer_text("tourism.csv", [problem])


def test_the_command_line_says_事業_for_the_city_plan(city, city_filled, tmp_path):
    from tests.conftest import run_cli, test_signer

    summary = run_cli("summary", "--year", str(CITY_YEAR), "--config", str(CITY), cwd=tmp_path)
    assert summary.returncode == 0, summary.stderr
    # The city plan's innermost level is called 施策 (4施策 8事業); the measures are 事業.
    assert "4施策 8事業" in summary.stdout and "事業数" in summary.stdout and "施策数" not in summary.stdout

    workbook = tmp_path / "safety.xlsx"
    wrong = dict(city_filled)
    wrong["1-B-1-1"] = wrong["1-B-1-1"].model_copy(update={"actual": ("12件",)})
    workbook.write_bytes(request_workbook(city, CITY_YEAR, "safety", date(2025, 5, 31), wrong,
                                          test_signer(city.name).token(CITY_YEAR, "safety")))
    refused = run_cli("intake", "--year", str(CITY_YEAR), "--config", str(CITY), "--var", str(tmp_path / "var"),
                      str(workbook), "--from", "safety", cwd=tmp_path)
    assert refused.returncode == 1, refused.stderr
    assert "事業 1-B-1-1" in refused.stdout and "施策" not in refused.stdout

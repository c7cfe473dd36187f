"""The annex as open data: CSV for Excel (BOM, neutralised formulas), JSON, column dictionary."""

from __future__ import annotations

import csv
import io
import json

from tenken.core.assessment import assess
from tenken.report.opendata import annex_csv, columns


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
    assert [row[1] for row in dictionary[1:]] == keys
    assert all(row[2] for row in dictionary[1:])


def test_a_measure_result_round_trips_into_the_json(final):
    document = json.loads(final["json"].read_text(encoding="utf-8"))
    row = next(m for m in document["measures"] if m["key"] == "I-1-イ-1")
    assert row["actual"] == "(1)841,586PV (2)83,640PV" and row["rating"] == "△"

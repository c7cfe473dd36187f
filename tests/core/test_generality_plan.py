"""A measure with nothing to rate needs no indicator name (issue 13, the generality fixes).

Only a measure rated in some year of the plan has a 成果指標 to name. One finished, or without an
indicator, in every year it lists may leave `indicator` out of plan.yaml, and everything that shows a
measure (the summary, `tenken rate`, the report and its annex, the request workbook) copes with the
empty name. A measure rated in any year still needs it.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Callable

import pytest
import yaml
from openpyxl import load_workbook

from tenken.config import ConfigError, load_plan
from tenken.workbook.layout import FIRST_ROW, INPUT_SHEET
from tenken.workbook.writer import request_csv, request_workbook
from tests.conftest import ROOT, run_cli

CITY = ROOT / "tests" / "fixtures" / "city_plan"
YEAR = 2024
NO_INDICATOR, FINISHED = "電子契約の検討", "旧システムの廃止"  # 2-A-1-2 and 2-A-1-3, both of デジタル課


def measure_named(raw: dict, name: str) -> dict:
    def walk(node):
        found = next((m for m in node.get("measures") or () if m["name"] == name), None)
        return found or next((m for child in node.get("children") or () if (m := walk(child))), None)

    return next(m for top in raw["tree"] if (m := walk(top)))


def city_with(tmp_path, change: Callable[[dict], None]):
    config = tmp_path / "city"
    shutil.copytree(CITY, config)
    raw = yaml.safe_load((config / "plan.yaml").read_text(encoding="utf-8"))
    change(raw)
    (config / "plan.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return config


def without_indicator(*names: str, years: dict | None = None) -> Callable[[dict], None]:
    def change(raw: dict) -> None:
        for name in names:
            measure = measure_named(raw, name)
            measure.pop("indicator", None)
            if years is not None:
                measure["years"] = years
    return change


@pytest.fixture
def nameless(tmp_path):
    """The city plan with neither the no-indicator measure nor the finished one naming an indicator."""
    return city_with(tmp_path, without_indicator(NO_INDICATOR, FINISHED))


@pytest.mark.parametrize("years", [
    {2023: {"kind": "numeric", "target": "1件", "unit": "件"}, YEAR: {"status": "finished", "finished_in": 2023}},
    {2023: {"kind": "qualitative", "target": "実施"}, YEAR: {"status": "no_indicator"}},
    {YEAR: {"status": "no_indicator"}, 2025: {"kind": "qualitative", "target": "導入"}},
], ids=["rated-then-finished", "rated-then-no-indicator", "no-indicator-then-rated"])
def test_a_measure_rated_in_any_year_still_needs_its_indicator(tmp_path, years):
    with pytest.raises(ConfigError, match=f"事業「{FINISHED}」: 成果指標（indicator）がありません"):
        load_plan(city_with(tmp_path, without_indicator(FINISHED, years=years)))


@pytest.mark.parametrize("years", [
    {YEAR: {"status": "finished", "finished_in": 2023}},
    {YEAR: {"status": "no_indicator"}},
    {2023: {"status": "no_indicator"}, YEAR: {"status": "finished", "finished_in": 2023}},
], ids=["finished", "no-indicator", "no-indicator-then-finished"])
def test_a_measure_with_nothing_to_rate_in_any_year_needs_no_indicator(tmp_path, years):
    plan = load_plan(city_with(tmp_path, without_indicator(FINISHED, years=years)))
    assert plan.measures_by_key["2-A-1-3"].indicator == ""


def test_the_summary_and_rate_cope_with_measures_without_an_indicator_name(nameless):
    summary = run_cli("summary", "--year", str(YEAR), "--config", str(nameless), "--json")
    assert summary.returncode == 0, summary.stderr
    figures = json.loads(summary.stdout)
    assert (figures["measures"], figures["finished_earlier"], figures["no_indicator"], figures["rate"]) == (8, 1, 1, 66.7)
    rated = run_cli("rate", "--year", str(YEAR), "--config", str(nameless), "--csv")
    assert rated.returncode == 0, rated.stderr
    rows = list(csv.reader(io.StringIO(rated.stdout)))
    by_key = {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}
    assert (by_key["2-A-1-2"]["indicator"], by_key["2-A-1-2"]["status"]) == ("", "指標未設定")
    assert (by_key["2-A-1-3"]["indicator"], by_key["2-A-1-3"]["status"]) == ("", "取組完了")


def test_the_report_and_its_annex_render_measures_without_an_indicator_name(nameless, tmp_path):
    out = tmp_path / "report"
    done = run_cli("report", "--year", str(YEAR), "--config", str(nameless), "--out", str(out),
                   "--db", f"sqlite:///{tmp_path / 'none.db'}", "--var", str(tmp_path / "var"))
    assert done.returncode == 0, done.stderr
    html = (out / f"report-{YEAR}.html").read_text(encoding="utf-8")
    assert NO_INDICATOR in html and FINISHED in html and "None" not in html
    assert (out / f"report-{YEAR}.pdf").read_bytes().startswith(b"%PDF")
    annex = list(csv.reader(io.StringIO((out / f"annex-{YEAR}.csv").read_text(encoding="utf-8-sig"))))
    by_key = {r[1]: dict(zip(annex[0], r)) for r in annex[1:]}
    assert (by_key["2-A-1-2"]["成果指標"], by_key["2-A-1-2"]["状況"]) == ("", "指標未設定")
    assert (by_key["2-A-1-3"]["成果指標"], by_key["2-A-1-3"]["状況"]) == ("", "取組完了")


def test_the_request_form_shows_a_no_indicator_measure_with_an_empty_indicator_and_leaves_the_finished_one_out(
        nameless):
    plan = load_plan(nameless)
    sheet = load_workbook(io.BytesIO(request_workbook(plan, YEAR, "digital")))[INPUT_SHEET]
    rows = {sheet[f"A{r}"].value: [c.value for c in sheet[r]] for r in range(FIRST_ROW, sheet.max_row + 1)}
    assert "2-A-1-3" not in rows
    assert rows["2-A-1-2"][3] in (None, "") and rows["2-A-1-2"][6] == "指標未設定"
    lines = list(csv.reader(io.StringIO(request_csv(plan, YEAR, "digital").lstrip("\ufeff"))))
    assert [r[2] for r in lines[1:]] == ["2-A-1-1", "2-A-1-1", "2-A-1-2"]

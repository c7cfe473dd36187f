"""What a department reads holds for any plan, not just Kanagawa's (issue 13, the generality fixes).

Built on copies of the city plan (tests/fixtures/city_plan: 事業, lower-is-better and multi-part
indicators, one measure without an indicator, one finished), changed per test:

- the request and the receipt count the measures on the department's form, never the finished ones;
- a lower-is-better target reads 「…（少ないほど良い）」 where the clerk looks (the cell as shown, the
  input message, the instructions), while the value stays the plan's target, as intake expects it;
- a plan without cause tags gets no 要因 step, input or drop-down, and its forms are still taken in;
- `tenken rate --csv` tells rated, no-indicator and finished measures apart in a last `status` column;
- a lone `-` is written as is in the CSVs, a formula still is not.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook
from typer.testing import CliRunner

from tenken.cli import app
from tenken.config import load_plan, load_results
from tenken.example import department_results
from tenken.intake import Intake
from tenken.notify import read_outbox
from tenken.services import Cycle, collecting, opening
from tenken.settings import Settings
from tenken.workbook.layout import COLUMN, FIRST_ROW, GUIDE_SHEET, INPUT_SHEET, LOWER_IS_BETTER, META_SHEET
from tenken.workbook.reader import read_csv
from tenken.workbook.writer import request_csv, request_workbook
from tests.conftest import ROOT, TEST_SUBMISSION_KEY, test_signer

CITY = ROOT / "tests" / "fixtures" / "city_plan"
YEAR = 2024
DEADLINE = date(2025, 5, 31)
DEPARTMENTS = ("crisis", "fire", "safety", "digital", "citizens")
runner = CliRunner()


def measures(raw: dict) -> list[dict]:
    """Every measure entry of a raw plan.yaml, in plan order."""
    found = []

    def walk(node):
        found.extend(node.get("measures") or ())
        for child in node.get("children") or ():
            walk(child)

    for top in raw["tree"]:
        walk(top)
    return found


def measure_named(raw: dict, name: str) -> dict:
    return next(m for m in measures(raw) if m["name"] == name)


def area_of(raw: dict, name: str) -> dict:
    """The innermost node holding the measure called `name`."""
    def walk(node):
        if any(m["name"] == name for m in node.get("measures") or ()):
            return node
        return next((n for child in node.get("children") or () if (n := walk(child))), None)

    return next(n for top in raw["tree"] if (n := walk(top)))


def city_copy(tmp_path: Path, plan: Callable[[dict], None] | None = None,
              results: Callable[[dict], None] | None = None) -> Path:
    """A copy of the city plan folder, plan.yaml and results/2024.yaml changed in place by the callables."""
    config = tmp_path / "city"
    shutil.copytree(CITY, config)
    for name, change in (("plan.yaml", plan), (f"results/{YEAR}.yaml", results)):
        if change is not None:
            path = config / name
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            change(raw)
            path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (config / "cycle.yaml").write_text("deadline: \"05-31\"\n", encoding="utf-8")
    return config


def form_keys(workbook: Path | bytes) -> list[str]:
    """The measures a workbook's form asks for, in order (a multi-part measure has a row per part)."""
    book = load_workbook(io.BytesIO(workbook) if isinstance(workbook, bytes) else workbook)
    sheet = book[INPUT_SHEET]
    keys = [sheet[f"{COLUMN['key'].letter}{r}"].value for r in range(FIRST_ROW, sheet.max_row + 1)]
    return list(dict.fromkeys(k for k in keys if k))


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


# --- 1. counts of rows to fill ------------------------------------------------------------------------


def with_a_finished_measure_for_safety(raw: dict) -> None:
    area_of(raw, "交通事故死者ゼロ作戦")["measures"].append(
        {"name": "旧講習制度の廃止", "department": "市民安全課", "indicator": "廃止完了",
         "years": {YEAR: {"status": "finished", "finished_in": 2023}}})


def test_the_request_and_the_receipt_count_the_measures_on_the_form_and_never_the_finished_ones(tmp_path):
    config = city_copy(tmp_path, plan=with_a_finished_measure_for_safety)
    var = tmp_path / "var"
    settings = Settings(var_dir=var, database_url=f"sqlite:///{var / 'tenken.db'}",
                        submission_key=TEST_SUBMISSION_KEY, config_dir=config)
    with settings.open_ledger() as ledger:
        cycle = Cycle.build(settings, YEAR, ledger, settings.notifier())
        plan = cycle.plan
        workbooks = opening.open_cycle(cycle, deadline=DEADLINE)
        opening.send_requests(cycle, workbooks)
        filled = opening.write_request_files(plan, YEAR, tmp_path / "filled", DEADLINE,
                                             filled=load_results(config, YEAR), signer=cycle.signer)
        for key, path in filled.items():
            delivered = cycle.folder("inbox") / path.name
            shutil.copyfile(path, delivered)
            collecting.record_delivery(cycle, delivered, key, "test")
        report = collecting.take_in(cycle)
    assert (len(report.accepted), report.rejected, report.failed) == (len(DEPARTMENTS), [], []), report

    # Each department owns finished measures or not: デジタル課 3 (one finished), 市民安全課 3 (one finished).
    owned = {key: len(plan.measures_of(key)) for key in DEPARTMENTS}
    assert (owned["digital"], owned["safety"]) == (3, 3)
    sent = read_outbox(var)
    for key in DEPARTMENTS:
        on_form = len(form_keys(Path(workbooks[key])))
        [request] = [r["text"] for r in sent if r["target"] == f"#{key}" and r["kind"] == "request"]
        [receipt] = [r["text"] for r in sent if r["target"] == f"#{key}" and r["kind"] == "accepted"]
        assert f"事業 {on_form} 件の実績の記入" in request, (key, request)
        assert f"事業 {on_form} 件の記入を確認しました" in receipt, (key, receipt)
    assert (len(form_keys(Path(workbooks["digital"]))), len(form_keys(Path(workbooks["safety"])))) == (2, 2)


# --- 2. lower is better -------------------------------------------------------------------------------


def with_a_lower_is_better_part(raw: dict) -> None:
    """手続のオンライン化 (デジタル課): part (2) becomes 平均処理日数, lower is better, beside a higher part."""
    year = measure_named(raw, "手続のオンライン化")["years"][YEAR]
    year["parts"][1] = {"label": "平均処理日数", "kind": "numeric", "target": "10日", "unit": "日",
                        "direction": "lower"}


def days_instead_of_percent(raw: dict) -> None:
    entry = next(r for r in raw["results"] if r["measure"] == "2-A-1-1")
    entry["actual"] = [entry["actual"][0], "12日"]


@pytest.fixture
def lower_config(tmp_path) -> Path:
    return city_copy(tmp_path, plan=with_a_lower_is_better_part, results=days_instead_of_percent)


def test_every_lower_is_better_target_and_only_those_is_shown_marked_while_its_value_stays_the_target(lower_config):
    plan = load_plan(lower_config)
    marked_somewhere = set()
    for key in DEPARTMENTS:
        book = load_workbook(io.BytesIO(request_workbook(plan, YEAR, key, DEADLINE)))
        sheet = book[INPUT_SHEET]
        lower_rows = 0
        for number in range(FIRST_ROW, sheet.max_row + 1):
            measure_key = sheet[f"A{number}"].value
            year = plan.measures_by_key[measure_key].years[YEAR]
            if year.status != "rated":
                continue
            part_text = sheet[f"B{number}"].value
            part = year.parts[int(part_text.strip("()")) - 1 if part_text else 0]
            target = sheet[f"{COLUMN['target'].letter}{number}"]
            assert target.value == part.target, "the value is the plan's target: intake compares it"
            if part.direction == "lower":
                lower_rows += 1
                marked_somewhere.add((measure_key, part_text))
                assert target.number_format == f'@"{LOWER_IS_BETTER}"', (key, number)
            else:
                assert LOWER_IS_BETTER not in target.number_format, (key, number)
            prompts = {ref: v.prompt for v in sheet.data_validations.dataValidation for ref in str(v.sqref).split()}
            actual_prompt = prompts[f"{COLUMN['actual'].letter}{number}"]
            assert ("少ないほど良い" in actual_prompt) == (part.direction == "lower"), (key, number, actual_prompt)
        guide = "\n".join(str(c.value) for row in book[GUIDE_SHEET].iter_rows() for c in row if c.value)
        assert (LOWER_IS_BETTER in guide) == (lower_rows > 0), key
    assert marked_somewhere == {("1-A-1-2", None), ("1-B-1-1", None), ("2-A-1-1", "(2)"), ("2-A-2-1", None)}


def test_a_filled_lower_is_better_form_is_taken_in_unchanged(lower_config, ledger, tmp_path):
    plan = load_plan(lower_config)
    filled = department_results(plan, load_results(lower_config, YEAR), "digital")
    path = tmp_path / "digital.xlsx"
    signer = test_signer(plan.name)
    path.write_bytes(request_workbook(plan, YEAR, "digital", DEADLINE, filled, token=signer.token(YEAR, "digital")))
    intake = Intake(plan, YEAR, ledger, answers_dir=tmp_path / "answers", signer=signer)
    [outcome] = intake.run([path], sender="digital")
    assert outcome.accepted, [p.message for p in outcome.record.problems]


@pytest.mark.slow
def test_libreoffice_shows_and_prints_the_lower_is_better_mark_after_the_target(lower_config, tmp_path):
    soffice = shutil.which("soffice")
    if soffice is None:  # never skipped: the clerk's view is the point
        pytest.fail("soffice is not installed: run `make office-packages` (Debian: libreoffice-calc-nogui).")
    plan = load_plan(lower_config)
    workbook = tmp_path / "fire.xlsx"
    workbook.write_bytes(request_workbook(plan, YEAR, "fire", DEADLINE))
    crisis = tmp_path / "crisis.xlsx"
    crisis.write_bytes(request_workbook(plan, YEAR, "crisis", DEADLINE))
    # CSV "as shown" (token 9 true): the text LibreOffice displays and prints, number formats applied.
    done = subprocess.run([soffice, "--headless", "--norestore", f"-env:UserInstallation={(tmp_path / 'p').as_uri()}",
                           "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true",
                           "--outdir", str(tmp_path / "shown"), str(workbook), str(crisis)],
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    fire = (tmp_path / "shown" / "fire.csv").read_text(encoding="utf-8")
    assert "8.0分（少ないほど良い）" in fire
    assert "少ないほど良い" not in (tmp_path / "shown" / "crisis.csv").read_text(encoding="utf-8")


# --- 3. no cause tags ---------------------------------------------------------------------------------


def without_cause_tags(raw: dict) -> None:
    raw["rating"].pop("cause_tags")
    raw["rating"].pop("external_cause_tags")


def without_causes(raw: dict) -> None:
    for entry in raw["results"]:
        entry.pop("cause", None)


def cause_view(book) -> dict:
    """What a workbook says and offers about 要因: the instructions' steps, the cause cells, their drop-downs."""
    sheet = book[INPUT_SHEET]
    letter = COLUMN["cause"].letter
    validations = [v for v in sheet.data_validations.dataValidation
                   if any(ref.startswith(letter) for ref in str(v.sqref).split())]
    cells = [sheet[f"{letter}{r}"] for r in range(FIRST_ROW, sheet.max_row + 1)]
    steps = [str(c.value) for row in book[GUIDE_SHEET].iter_rows() for c in row
             if c.value and re.match(r"\d+\. ", str(c.value))]
    text = "\n".join(str(c.value) for name in (INPUT_SHEET, GUIDE_SHEET) for row in book[name].iter_rows()
                     for c in row if c.value)
    return {"steps": steps, "open": [c.coordinate for c in cells if not c.protection.locked],
            "lists": [v for v in validations if v.type == "list"], "prompts": [v.prompt for v in validations],
            "text": text + "\n" + "\n".join(v.prompt or "" for v in sheet.data_validations.dataValidation),
            "labels": [c.value for c in book[META_SHEET]["D"] if c.value]}


@pytest.mark.parametrize("department", DEPARTMENTS)
def test_without_cause_tags_the_workbook_neither_asks_for_a_cause_nor_offers_an_empty_list(tmp_path, department):
    with_tags = cause_view(load_workbook(io.BytesIO(request_workbook(load_plan(CITY), YEAR, department, DEADLINE))))
    config = city_copy(tmp_path, plan=without_cause_tags, results=without_causes)
    view = cause_view(load_workbook(io.BytesIO(request_workbook(load_plan(config), YEAR, department, DEADLINE))))

    # The city plan's tags: a step naming them, an open cell per rated measure with its drop-down.
    assert any("要因" in s and "天候の影響、予算の制約" in s for s in with_tags["steps"])
    assert with_tags["open"] and with_tags["lists"] and with_tags["labels"] == ["天候の影響", "予算の制約"]
    # Without: no step, no open cell, no drop-down, no message, no list in the hidden sheet, no empty （）.
    assert not any("要因" in s for s in view["steps"]), view["steps"]
    assert [int(s.split(".")[0]) for s in view["steps"]] == list(range(1, len(with_tags["steps"])))
    assert view["open"] == [] and view["lists"] == [] and view["prompts"] == [] and view["labels"] == []
    assert "（）" not in view["text"] and "要因を入力" not in view["text"] and "要因を選" not in view["text"]


def test_without_cause_tags_a_filled_form_and_its_csv_are_taken_in(tmp_path, ledger):
    config = city_copy(tmp_path, plan=without_cause_tags, results=without_causes)
    plan = load_plan(config)
    filled = department_results(plan, load_results(config, YEAR), "safety")  # 1-B-1-1 missed (△)
    signer = test_signer(plan.name)
    token = signer.token(YEAR, "safety")
    workbook = tmp_path / "safety.xlsx"
    workbook.write_bytes(request_workbook(plan, YEAR, "safety", DEADLINE, filled, token=token))
    form = tmp_path / "safety.csv"
    form.write_text(request_csv(plan, YEAR, "safety", filled, token=token), encoding="utf-8")
    intake = Intake(plan, YEAR, ledger, answers_dir=tmp_path / "answers", signer=signer)
    outcomes = intake.run([workbook, form], sender="safety")
    assert [o.accepted for o in outcomes] == [True, True], [p.message for o in outcomes for p in o.record.problems]


# --- 4. rate --csv: a status column -------------------------------------------------------------------


OLD_RATE_COLUMNS = ["key", "name", "department", "department_name", "indicator", "target", "actual",
                    "rule_rating", "self_rating", "rating", "adjustment_reason", "adjusted_by", "reason", "cause"]


def rate_csv(config: Path, tmp_path: Path) -> list[list[str]]:
    done = runner.invoke(app, ["rate", "--year", str(YEAR), "--config", str(config), "--csv",
                               "--db", f"sqlite:///{tmp_path / 'none.db'}", "--var", str(tmp_path / "var")])
    assert done.exit_code == 0, done.output
    return csv_rows(done.output)


def test_rate_csv_tells_rated_no_indicator_and_finished_measures_apart_in_a_last_column(tmp_path):
    from tenken.report.opendata import STATUS_LABELS

    rows = rate_csv(CITY, tmp_path)
    header, body = rows[0], rows[1:]
    assert header == [*OLD_RATE_COLUMNS, "status"], "the columns people already read keep their place"
    status = {r[0]: r[-1] for r in body}
    rating = {r[0]: r[header.index("rating")] for r in body}
    assert rating["2-A-1-2"] == rating["2-A-1-3"] == "—", "the rating alone cannot tell them apart"
    assert (status["2-A-1-2"], status["2-A-1-3"]) == ("指標未設定", "取組完了")
    assert {k: v for k, v in status.items() if k not in ("2-A-1-2", "2-A-1-3")} == dict.fromkeys(
        ["1-A-1-1", "1-A-1-2", "1-B-1-1", "1-B-1-2", "2-A-1-1", "2-A-2-1"], "評価対象")
    assert set(status.values()) <= set(STATUS_LABELS.values()), "the annex's words for the same states"


# --- 5. a lone "-" as is, formulas still neutralised --------------------------------------------------


def with_reasons(reasons: dict[str, str]) -> Callable[[dict], None]:
    def change(raw: dict) -> None:
        for entry in raw["results"]:
            if entry["measure"] in reasons:
                entry["reason"] = reasons[entry["measure"]]
    return change


def test_rate_csv_writes_a_lone_minus_and_signed_values_as_written_and_neutralises_a_formula(tmp_path):
    config = city_copy(tmp_path, results=with_reasons({"1-B-1-1": "-", "1-A-1-1": "-3件の減", "2-A-1-1": "-1+A1"}))
    rows = rate_csv(config, tmp_path)
    reason = {r[0]: r[rows[0].index("reason")] for r in rows[1:]}
    assert (reason["1-B-1-1"], reason["1-A-1-1"], reason["2-A-1-1"]) == ("-", "-3件の減", "'-1+A1")


def test_the_csv_form_writes_a_lone_minus_as_is_and_reads_it_back(tmp_path):
    plan = load_plan(city_copy(tmp_path, results=with_reasons({"1-B-1-1": "-"})))
    filled = department_results(plan, load_results(tmp_path / "city", YEAR), "safety")
    filled["1-B-1-2"] = filled["1-B-1-2"].model_copy(update={"highlight": ("-",)})
    text = request_csv(plan, YEAR, "safety", filled)
    rows = csv_rows(text)
    header = rows[0]
    by_key = {(r[2], r[3]): dict(zip(header, r)) for r in rows[1:]}
    assert by_key[("1-B-1-1", "")]["未達成の理由及び今後の見込み等"] == "-"
    assert by_key[("1-B-1-2", "(1)")]["主な取組"] == "-"
    form = read_csv(text.encode("utf-8"), measure_label=plan.measure_label)
    first = next(r for r in form.rows if r.text("key") == "1-B-1-1")
    assert first.text("reason") == "-" and not first.cells["reason"].formula

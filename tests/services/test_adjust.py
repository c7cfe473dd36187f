"""`tenken adjust`: the office's rating adjustments entered in the ledger, merged over the results file's
wherever ratings are computed (SPEC §2, 評価の調整)."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tenken.cli import app
from tenken.config import DEFAULT_CONFIG
from tenken.ledger import Ledger

YEAR = 2020
SCHOOLS, MOBILE = "I-1-カ-1", "II-1-イ-1"  # the seed's two adjusted measures, △ by the rule, ○ adjusted
runner = CliRunner()


def _results(config: Path) -> dict:
    return yaml.safe_load((config / "results" / f"{YEAR}.yaml").read_text(encoding="utf-8"))


def _write_results(config: Path, results: dict) -> None:
    (config / "results" / f"{YEAR}.yaml").write_text(yaml.safe_dump(results, allow_unicode=True, sort_keys=False),
                                                     encoding="utf-8")


def _copy(tmp_path: Path, name: str = "config", strip: bool = True) -> Path:
    """A copy of the Kanagawa example; by default without the results file's two adjustments."""
    config = tmp_path / name
    shutil.copytree(DEFAULT_CONFIG, config)
    if strip:
        results = _results(config)
        for entry in results["results"]:
            entry.pop("adjustment", None)
        _write_results(config, results)
    return config


def _seed_adjustments() -> dict[str, dict]:
    return {e["measure"]: e["adjustment"] for e in _results(DEFAULT_CONFIG)["results"] if "adjustment" in e}


@pytest.fixture
def options(tmp_path) -> list[str]:
    return ["--config", str(_copy(tmp_path)), "--db", f"sqlite:///{tmp_path / 'ledger.db'}",
            "--var", str(tmp_path / "var")]


def cli(*args: str):
    return runner.invoke(app, list(args))


def recorded(options: list[str]) -> list:
    url = options[options.index("--db") + 1]
    with Ledger.open(url) as ledger:
        return ledger.adjustments(YEAR)


def summary(options: list[str]) -> dict:
    done = cli("summary", "--year", str(YEAR), "--json", *options)
    assert done.exit_code == 0, done.output
    return json.loads(done.output)


def test_the_seed_adjustments_entered_with_the_command_give_the_seed_figures(tmp_path, options):
    bundled = ["--db", f"sqlite:///{tmp_path / 'none.db'}", "--var", str(tmp_path / "var0")]
    expected = summary(bundled)
    assert (expected["rated"], expected["met"], expected["not_achieved"], expected["rate"]) == (63, 44, 19, 69.8)
    assert [p["rate"] for p in expected["pillars"]] == [72.7, 63.2]

    # Without them, the two measures are △ by the rule, and a △ needs a reason: no figures at all.
    before = cli("summary", "--year", str(YEAR), *options)
    assert before.exit_code == 2
    assert f"{SCHOOLS}「学習用コンピュータの整備」は未達成（△）" in before.output
    # With a reason instead, the rules' figures are not the seed's.
    config = Path(options[1])
    rules_only = _copy(tmp_path, "rules-only")
    results = _results(rules_only)
    for entry in results["results"]:
        if entry["measure"] in (SCHOOLS, MOBILE):
            entry["reason"] = "理由"
    _write_results(rules_only, results)
    differs = summary(["--config", str(rules_only), *bundled])
    assert (differs["met"], differs["not_achieved"], differs["rate"]) == (42, 21, 66.7)

    for key, adjustment in _seed_adjustments().items():
        done = cli("adjust", "--year", str(YEAR), key, adjustment["rating"], "--why", adjustment["justification"],
                   "--by", adjustment["by"], *options)
        assert done.exit_code == 0, done.output
        assert "評価を変更しました" in done.output and "規則による評価「△」→ 変更後の評価「○」" in done.output

    assert summary(options) == expected
    rows = cli("rate", "--year", str(YEAR), "--csv", *options)
    assert rows.exit_code == 0, rows.output
    assert rows.output == cli("rate", "--year", str(YEAR), "--csv", *bundled).output  # ratings, reasons, by: all
    assert [(r.measure, r.rating) for r in recorded(options)] == [(SCHOOLS, "○"), (MOBILE, "○")]
    assert config.joinpath("results", f"{YEAR}.yaml").read_text(encoding="utf-8").count("adjustment") == 0

    listed = cli("adjustments", "--year", str(YEAR), *options)
    assert listed.exit_code == 0 and "令和2年度の評価の調整: 2件" in listed.output and "台帳" in listed.output


@pytest.mark.parametrize(("args", "says"), [
    ([SCHOOLS, "○", "--why", "  \n", "--by", "点検担当"], "評価を変更する理由（--why）を書いてください"),
    ([SCHOOLS, "○", "--why", "理由"], "評価を変更する人（--by）を書いてください"),
    ([SCHOOLS, "○", "--why", "理由", "--by", " "], "評価を変更する人（--by）を書いてください"),
    (["I-9-ア-1", "○", "--why", "理由", "--by", "点検担当"], "施策 I-9-ア-1 は計画にありません"),
    (["I-1-ウ-3", "○", "--why", "理由", "--by", "点検担当"], "令和元年度で取組完了のため、令和2年度の評価はありません"),
    (["I-1-オ-3", "○", "--why", "理由", "--by", "点検担当"], "成果指標が設定されていない"),
    (["I-1-ウ-2", "○", "--why", "理由", "--by", "点検担当"], "令和2年度の点検の対象ではありません"),
    (["I-1-ア-2", "○", "--why", "理由", "--by", "点検担当"], "結果がまだ提出されていない"),
    ([SCHOOLS, "—", "--why", "理由", "--by", "点検担当"], "◎・○・△のいずれかにしてください"),
    ([SCHOOLS, "A", "--why", "理由", "--by", "点検担当"], "◎・○・△のいずれかにしてください"),
    ([SCHOOLS, "△", "--why", "理由", "--by", "点検担当"], "同じ評価にすることは評価の変更ではない"),
    ([SCHOOLS, "○", "--why", "理由\x1b[2J", "--by", "点検担当"], "入力できない文字"),
])
def test_a_refused_adjustment_says_why_and_records_nothing(options, args, says):
    config = Path(options[1])
    plan = (config / "plan.yaml").read_text(encoding="utf-8")  # I-1-ウ-2 starts in a later year
    later = plan.replace("indicator: 県民の生物多様性認知度\n                years:\n                  2020:",
                         "indicator: 県民の生物多様性認知度\n                years:\n                  2021:")
    assert later != plan
    (config / "plan.yaml").write_text(later, encoding="utf-8")
    results = _results(config)  # I-1-ア-2: its department has not submitted it
    results["results"] = [e for e in results["results"] if e["measure"] not in ("I-1-ア-2", "I-1-ウ-2")]
    _write_results(config, results)

    done = cli("adjust", "--year", str(YEAR), *args, *options)
    assert done.exit_code == 2, done.output
    assert says in done.output
    assert "Traceback" not in done.output
    assert recorded(options) == []


def test_the_latest_adjustment_wins_over_earlier_ones_and_the_results_file(tmp_path):
    from tenken.core.discrepancies import discrepancies
    from tenken.services import Cycle
    from tenken.services.compiling import current_assessment
    from tenken.settings import Settings

    config = _copy(tmp_path, strip=False)  # the results file adjusts both measures
    options = ["--config", str(config), "--db", f"sqlite:///{tmp_path / 'ledger.db'}", "--var", str(tmp_path / "var")]
    settings = Settings.resolve(var_dir=tmp_path / "var", database_url=options[3], config_dir=config)

    def rows() -> dict[str, list[str]]:
        done = cli("rate", "--year", str(YEAR), "--csv", *options)
        assert done.exit_code == 0, done.output
        lines = list(csv.reader(io.StringIO(done.output.lstrip("\ufeff"))))
        head = lines[0]
        return {r[0]: [r[head.index(c)] for c in ("rule_rating", "rating", "adjustment_reason", "adjusted_by")]
                for r in lines[1:] if r[0] in (SCHOOLS, MOBILE)}

    seed = _seed_adjustments()
    assert rows()[SCHOOLS][:2] == ["△", "○"] and rows()[SCHOOLS][3] == seed[SCHOOLS]["by"]

    typed = "Ⅰ-1-ｶ-1"  # NFKC: the Roman numeral and the half-width katakana are forgiven
    first = cli("adjust", "--year", str(YEAR), typed, "◎", "--why", "一回目", "--by", "甲", *options)
    assert first.exit_code == 0, first.output
    assert "これまでの変更「○」（結果ファイル" in first.output
    assert rows()[SCHOOLS] == ["△", "◎", "一回目", "甲"]
    second = cli("adjust", "--year", str(YEAR), SCHOOLS, "達成", "--why", "二回目", "--by", "乙", *options)
    assert second.exit_code == 0, second.output
    assert rows()[SCHOOLS] == ["△", "○", "二回目", "乙"]
    assert rows()[MOBILE] == ["△", "○", seed[MOBILE]["justification"], seed[MOBILE]["by"]]  # the file's still

    with Cycle.opened(settings, YEAR, sending=False) as cycle:
        assert cycle.adjustments[SCHOOLS].justification == "二回目"  # what intake checks submissions against
        found = discrepancies(current_assessment(cycle, allow_missing=True))  # what the review draft lists
    adjusted = {d["key"]: d["detail"] for d in found if d["kind"] == "adjusted"}
    assert adjusted[SCHOOLS] == "評価を「△」から「○」に変更（二回目）"
    assert MOBILE in adjusted

    # The rule's own rating withdraws the adjustment in effect (here the results file's, for MOBILE).
    withdrawn = cli("adjust", "--year", str(YEAR), MOBILE, "△", "--why", "調整を取り消す", "--by", "丙", *options)
    assert withdrawn.exit_code == 0, withdrawn.output
    assert "評価の変更を取り消しました" in withdrawn.output and "規則による評価「△」に戻ります" in withdrawn.output
    with Cycle.opened(settings, YEAR, sending=False) as cycle:
        assert sorted(cycle.adjustments) == [SCHOOLS]
    assert [(r.measure, r.rating, r.by) for r in recorded(options)] == [
        (SCHOOLS, "◎", "甲"), (SCHOOLS, "○", "乙"), (MOBILE, "", "丙")]

    listed = cli("adjustments", "--year", str(YEAR), *options)
    assert listed.exit_code == 0, listed.output
    assert "評価の調整: 1件" in listed.output and "二回目" in listed.output and "モバイルPC" not in listed.output
    history = cli("adjustments", "--year", str(YEAR), "--all", *options)
    assert history.exit_code == 0, history.output
    assert "評価の調整: 3件" in history.output and "取消し" in history.output and "一回目" in history.output

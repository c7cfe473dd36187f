"""A differently shaped plan is rated and aggregated from its configuration alone."""

import json
import shutil

import yaml

from tests.conftest import ROOT, run_cli

CITY = ROOT / "tests" / "fixtures" / "city_plan"


def city_summary(config=CITY) -> dict:
    completed = run_cli("summary", "--year", "2024", "--config", str(config), "--json")
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def test_three_levels_with_other_labels_are_aggregated_by_their_own_names():
    summary = city_summary()
    assert summary["level_labels"] == ["基本目標", "政策", "施策"]
    assert summary["measure_label"] == "事業"
    assert (summary["fields"], summary["measures"], summary["finished_earlier"], summary["no_indicator"]) == (4, 8, 1, 1)
    assert [p["label"] for p in summary["pillars"]] == ["1 安全なまち", "2 便利な市役所"]
    assert [s["label"] for s in summary["pillars"][0]["sub_pillars"]] == ["A 防災", "B 交通安全"]


def test_lower_is_better_and_multi_part_indicators_are_rated_from_config():
    completed = run_cli("rate", "--year", "2024", "--config", str(CITY), "--csv")
    ratings = {line.split(",")[0]: line.split(",")[9] for line in completed.stdout.splitlines()[1:]}
    assert ratings == {"1-A-1-1": "◎", "1-A-1-2": "○", "1-B-1-1": "△", "1-B-1-2": "○", "2-A-1-1": "△",
                       "2-A-1-2": "—", "2-A-1-3": "—", "2-A-2-1": "◎"}


def test_rates_and_previous_rates_come_from_the_plans_own_figures():
    summary = city_summary()
    assert (summary["rate"], summary["previous_rate"]) == (66.7, 70.0)
    assert [(p["rate"], p["previous_rate"]) for p in summary["pillars"]] == [(75.0, 60.0), (50.0, 80.0)]
    assert summary["not_achieved_external"] == 1


def test_changing_a_target_in_the_config_changes_the_result(tmp_path):
    config = tmp_path / "city"
    shutil.copytree(CITY, config)
    plan = yaml.safe_load((config / "plan.yaml").read_text(encoding="utf-8"))
    first = plan["tree"][0]["children"][0]["children"][0]["measures"][0]
    first["years"][2024]["target"] = "8,000人"
    (config / "plan.yaml").write_text(yaml.safe_dump(plan, allow_unicode=True), encoding="utf-8")
    results = yaml.safe_load((config / "results" / "2024.yaml").read_text(encoding="utf-8"))
    results["results"][0]["reason"] = "登録が伸び悩んだ。"
    (config / "results" / "2024.yaml").write_text(yaml.safe_dump(results, allow_unicode=True), encoding="utf-8")
    summary = city_summary(config)
    assert summary["pillars"][0]["sub_pillars"][0]["not_achieved"] == 1
    assert summary["rate"] == 50.0


def test_messages_name_measures_in_the_plans_own_word(tmp_path):
    config = tmp_path / "city"
    shutil.copytree(CITY, config)
    path = config / "results" / "2024.yaml"
    results = yaml.safe_load(path.read_text(encoding="utf-8"))
    results["results"].pop(0)
    path.write_text(yaml.safe_dump(results, allow_unicode=True), encoding="utf-8")
    completed = run_cli("summary", "--year", "2024", "--config", str(config))
    assert completed.returncode == 2
    assert "事業 1-A-1-1「防災アプリの普及」の結果がありません" in completed.stderr

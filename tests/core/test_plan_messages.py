"""A mistake in a plan folder is explained in Japanese, naming where it is."""

import shutil

import pytest
import yaml

from tenken.config import ConfigError, load_plan
from tests.conftest import ROOT

CITY = ROOT / "tests" / "fixtures" / "city_plan"


def city_with(tmp_path, change) -> object:
    config = tmp_path / "city"
    shutil.copytree(CITY, config)
    raw = yaml.safe_load((config / "plan.yaml").read_text(encoding="utf-8"))
    change(raw)
    (config / "plan.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return config


def first_measure(raw: dict) -> dict:
    node = raw["tree"][0]
    while node.get("children"):
        node = node["children"][0]
    return node["measures"][0]


def test_a_measure_without_an_indicator_is_named_in_the_plans_word(tmp_path):
    config = city_with(tmp_path, lambda raw: first_measure(raw).pop("indicator"))
    with pytest.raises(ConfigError, match="事業「防災アプリの普及」: 成果指標（indicator）がありません"):
        load_plan(config)


def test_a_numeric_target_that_is_not_a_number_is_explained_in_japanese(tmp_path):
    def change(raw):
        year = next(iter(first_measure(raw)["years"].values()))
        (year["parts"][0] if "parts" in year else year)["target"] = "たくさん"
    config = city_with(tmp_path, change)
    with pytest.raises(ConfigError, match="目標「たくさん」が数値ではありません"):
        load_plan(config)


def test_an_unknown_department_is_explained_in_japanese(tmp_path):
    config = city_with(tmp_path, lambda raw: first_measure(raw).update(department="nobody"))
    with pytest.raises(ConfigError, match="所属「nobody」が departments.yaml にありません"):
        load_plan(config)

"""The preflight on plans built in code: what counts as a gap and what does not."""

from pathlib import Path

import pytest
import yaml

from tenken.services.preflight import preflight
from tenken.settings import Settings
from tests.conftest import TEST_SUBMISSION_KEY
from tests.flows.conftest import CITY, config_copy


def settings_for(tmp_path: Path, config: Path) -> Settings:
    var = tmp_path / "var"
    return Settings(var_dir=var, database_url=f"sqlite:///{var / 'tenken.db'}", config_dir=config,
                    submission_key=TEST_SUBMISSION_KEY)


def measures(plan: dict):
    def walk(node):
        yield from node.get("measures") or []
        for child in node.get("children") or []:
            yield from walk(child)

    for node in plan["tree"]:
        yield from walk(node)


@pytest.fixture
def city(tmp_path):
    config = config_copy(CITY, tmp_path, review={"channel": "#digital",
                                                 "reviewers": [{"name": "審査 花子", "slack": "@hanako"}]},
                         office="#digital")
    return config, yaml.safe_load((config / "plan.yaml").read_text(encoding="utf-8"))


def save(config: Path, plan: dict) -> None:
    (config / "plan.yaml").write_text(yaml.safe_dump(plan, allow_unicode=True), encoding="utf-8")


def errors(tmp_path, config, year):
    return [f.text for f in preflight(settings_for(tmp_path, config), year).findings if f.severity == "error"]


def test_the_city_plan_is_ready_for_its_year_and_a_measure_that_starts_later_is_no_gap(city, tmp_path):
    config, plan = city
    year = max(next(iter(measures(plan)))["years"])
    assert errors(tmp_path, config, year) == []
    first = next(iter(measures(plan)))
    first["years"] = {year + 1: first["years"][year]}  # this measure only starts the year after
    save(config, plan)
    assert all("指標・目標" not in e for e in errors(tmp_path, config, year)), "a later start is not a gap"


def test_a_year_after_the_targets_end_lists_each_running_measure_and_nothing_is_created(city, tmp_path):
    config, plan = city
    year = max(next(iter(measures(plan)))["years"])
    [gap] = [e for e in errors(tmp_path, config, year + 1) if "指標・目標" in e]
    running = [m for m in measures(plan)
               if not any(isinstance(v, dict) and v.get("status") == "finished" for v in m["years"].values())]
    assert 0 < len(running) < sum(1 for _ in measures(plan)), "the fixture has a finished measure"
    assert f"{len(running)}件" in gap and str(year + 1) in gap, "finished measures are no gap"
    assert not (tmp_path / "var").exists(), "a check writes nothing, the ledger included"


def test_a_department_without_a_contact_and_an_unwritable_target_are_named(city, tmp_path):
    config, plan = city
    year = max(next(iter(measures(plan)))["years"])
    departments = yaml.safe_load((config / "departments.yaml").read_text(encoding="utf-8"))
    departments["departments"][0].pop("slack")
    (config / "departments.yaml").write_text(yaml.safe_dump(departments, allow_unicode=True), encoding="utf-8")
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    cycle = yaml.safe_load((config / "cycle.yaml").read_text(encoding="utf-8"))
    cycle["publish_target"] = str(blocker / "site")
    (config / "cycle.yaml").write_text(yaml.safe_dump(cycle, allow_unicode=True), encoding="utf-8")

    found = errors(tmp_path, config, year)

    assert any("連絡先" in e and departments["departments"][0]["name"] in e for e in found)
    assert any("公表先" in e for e in found)


def test_a_review_channel_without_reviewers_is_not_enough_no_one_could_get_a_code(tmp_path):
    config = config_copy(CITY, tmp_path, review={"channel": "#digital"}, office="#digital")
    year = max(next(iter(measures(yaml.safe_load((config / "plan.yaml").read_text(encoding="utf-8")))))["years"])

    assert any("確認者がいません" in e and "確認コード" in e for e in errors(tmp_path, config, year))

"""Fixtures for flow tests: a copy of a plan's config publishing into a temp folder, a Slack stand-in
that knows every channel and user the plan names, and the environment pointing tenken at both."""

import shutil
from pathlib import Path

import pytest
import yaml
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

import tenken.notify
from tenken_demo.slack_standin import SlackStandIn, workspace_for  # noqa: F401 — SlackStandIn for importers
from tests.conftest import ROOT


def config_copy(source: Path, tmp_path: Path, **cycle) -> Path:
    config = tmp_path / "config"
    shutil.copytree(source, config)
    settings = yaml.safe_load((config / "cycle.yaml").read_text(encoding="utf-8")) if (config / "cycle.yaml").exists() else {}
    settings.update({"publish_target": str(tmp_path / "site"), **cycle})
    (config / "cycle.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return config


def standin_for(config: Path) -> SlackStandIn:
    """Every channel and person the plan folder names, and a clerk per department (tenken_demo's workspace)."""
    return workspace_for(config)


@pytest.fixture
def environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TENKEN_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("TENKEN_REVIEW_POLL_SECONDS", "1")
    monkeypatch.delenv("TENKEN_DATABASE_URL", raising=False)
    monkeypatch.setenv("TENKEN_SLACK_SECRET_BLOCK", "")
    monkeypatch.delenv("TENKEN_CONFIG_DIR", raising=False)
    tenken.notify._slack_notifier.cache_clear()
    yield tmp_path
    tenken.notify._slack_notifier.cache_clear()


def point_at(monkeypatch, slack: SlackStandIn) -> None:
    for name, value in slack.env.items():
        monkeypatch.setenv(name, value)
    tenken.notify._slack_notifier.cache_clear()


KANAGAWA = ROOT / "tenken" / "examples" / "kanagawa"
CITY = ROOT / "tests" / "fixtures" / "city_plan"
FAST_RETRIES = FixedValueRetryIntervalCalculator(0)
MINATO = ROOT / "tenken" / "examples" / "minato"


def standin_for_plans(*configs: Path) -> SlackStandIn:
    """One workspace for several plans on one server (tenken_demo.slack_standin.workspace_for of them all)."""
    return workspace_for(*configs)

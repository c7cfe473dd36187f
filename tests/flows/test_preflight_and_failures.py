"""The cycle never fails or idles silently: the preflight (tenken check, the preflight flow, open-cycle's
refusal) and the office's notice of every failed run and of its repair, on a real Prefect server (the
test harness) with slack-sdk talking to the Slack stand-in.

A crash (the run's process killed under a worker) is in tests/browser/test_deployed_crash.py, on the
deployed stack, since only a worker can report a process that died.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from tenken.ledger import Ledger
from tests.conftest import run_cli
from tests.flows.conftest import KANAGAWA, config_copy, point_at, standin_for

pytestmark = pytest.mark.prefect
UI = "http://tenken-ui.example:4200"


def with_targets_for(config: Path, year: int, from_year: int = 2020) -> None:
    """The office enters next year's targets: every measure's `from_year` entry copied to `year`."""
    plan = yaml.safe_load((config / "plan.yaml").read_text(encoding="utf-8"))

    def walk(node: dict) -> None:
        for measure in node.get("measures") or []:
            years = measure.get("years") or {}
            if from_year in years and year not in years:
                years[year] = years[from_year]
        for child in node.get("children") or []:
            walk(child)

    for node in plan["tree"]:
        walk(node)
    (config / "plan.yaml").write_text(yaml.safe_dump(plan, allow_unicode=True), encoding="utf-8")


@pytest.fixture
def office(prefect_server, environment, monkeypatch, tmp_path):
    """The bundled plan (FY2020 targets only) with the office channel in a Slack stand-in."""
    from prefect.settings import PREFECT_UI_URL, temporary_settings

    config = config_copy(KANAGAWA, tmp_path)
    with standin_for(config) as slack, temporary_settings({PREFECT_UI_URL: UI}):
        point_at(monkeypatch, slack)
        yield config, slack


def office_messages(slack) -> list:
    return slack.messages_to("#tenken-office")


def test_tenken_check_passes_the_bundled_example_for_2020_and_lists_the_gaps_for_2021(tmp_path):
    ready = run_cli("check", "--year", "2020", "--var", str(tmp_path / "var"))
    gaps = run_cli("check", "--year", "2021", "--json", "--var", str(tmp_path / "var"))

    assert ready.returncode == 0, ready.stdout + ready.stderr
    assert "開始できます" in ready.stdout and "【要対応】" not in ready.stdout
    assert gaps.returncode == 1
    import json

    found = json.loads(gaps.stdout)
    assert found["ok"] is False
    [missing] = [f for f in found["findings"] if f["severity"] == "error"]
    assert "73件" in missing["text"] and "I-1-ア-1" in missing["text"] and "2021" in missing["text"]


def test_opening_a_year_without_targets_fails_tells_the_office_once_and_sends_and_writes_nothing(office):
    from flows.open_cycle import open_cycle

    config, slack = office
    state = open_cycle(2021, str(config), return_state=True)

    assert state.is_failed()
    assert "指標・目標が plan.yaml にない施策が 73件" in state.message
    [told] = office_messages(slack)
    assert "open-cycle" in told.text and "失敗しました" in told.text and "73件" in told.text
    assert f"<{UI}/runs/flow-run/{state.state_details.flow_run_id}|Prefect で開く>" in told.text
    departments = [m for m in slack.messages if m.conversation.startswith("#tenken-") and m.conversation not in (
        "#tenken-office",)]
    assert departments == [], "no department was sent anything"
    var = Path(__import__("os").environ["TENKEN_VAR_DIR"])
    assert not (var / "cycles" / "kanagawa" / "2021" / "requests").exists() or not any((var / "cycles" / "kanagawa" / "2021" / "requests").iterdir())
    with Ledger.open(f"sqlite:///{var / 'tenken.db'}") as ledger:
        assert ledger.requests(2021) == []


def test_a_failed_run_is_told_once_and_the_rerun_that_completes_is_told_as_resolved(office):
    from flows.open_cycle import open_cycle

    config, slack = office
    failed = open_cycle(2021, str(config), return_state=True)
    again = open_cycle(2021, str(config), return_state=True)  # the same failure: a second notice for a second run
    with_targets_for(config, 2021)
    repaired = open_cycle(2021, str(config), return_state=True)
    rerun = open_cycle(2021, str(config), return_state=True)

    assert failed.is_failed() and again.is_failed() and repaired.is_completed() and rerun.is_completed()
    messages = office_messages(slack)
    kinds = [m.metadata["event_payload"]["kind"] for m in messages]
    assert kinds == ["run-failed", "run-failed", "run-resolved"], "once per failed run, one resolution, no more"
    assert "正常に完了しました" in messages[-1].text and "（2回）" in messages[-1].text
    assert f"{UI}/runs/flow-run/{repaired.state_details.flow_run_id}" in messages[-1].text
    requests = [m for m in slack.messages if m.key and "/request/" in m.key and not m.key.endswith("/workbook")]
    assert len(requests) == 34 and len({m.key for m in requests}) == 34, "each department asked once"


def test_the_preflight_flow_sends_its_findings_to_the_office_once_a_day(office):
    from flows.preflight import preflight

    config, slack = office
    first = preflight(config_dir=str(config), today=date(2022, 3, 25))  # FY2021 opens in April 2022
    preflight(config_dir=str(config), today=date(2022, 3, 25))

    assert first["fiscal_year"] == 2021 and first["ok"] is False and first["office_told"] is True
    [told] = office_messages(slack)
    assert "令和3年度" in told.text and "開始できません" in told.text and "73件" in told.text
    with_targets_for(config, 2021)
    ready = preflight(config_dir=str(config), today=date(2022, 3, 26))
    assert ready["ok"] is True and ready["findings"] == []
    assert "問題はありません" in office_messages(slack)[-1].text and len(office_messages(slack)) == 2

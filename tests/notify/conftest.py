"""Fixtures for the notification tests: a running Slack stand-in and a notifier pointed at it."""

import pytest
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

import tenken.notify
from tenken.notify import SlackNotifier
from tenken_demo.slack_standin import SlackStandIn

TOURISM = "tenken-tourism"
REVIEW = "tenken-review"
HEAD = {"name": "tourism-head", "email": "tourism-head@example.jp", "display_name": "観光課長"}


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch, tmp_path):
    """No test here may reach a real Slack, a real token, or the repository's var/."""
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("TENKEN_SLACK_BASE_URL", raising=False)
    monkeypatch.setenv("TENKEN_SLACK_SECRET_BLOCK", "")
    monkeypatch.setenv("TENKEN_VAR_DIR", str(tmp_path / "var"))
    tenken.notify._slack_notifier.cache_clear()
    yield
    tenken.notify._slack_notifier.cache_clear()


@pytest.fixture
def slack():
    with SlackStandIn(channels=[TOURISM, REVIEW], users=[HEAD]) as standin:
        yield standin


@pytest.fixture
def notifier(slack):
    """Retry intervals of zero keep fault tests fast; Retry-After still comes from the stand-in."""
    return SlackNotifier(slack.token, base_url=slack.base_url, retry_interval=FixedValueRetryIntervalCalculator(0))

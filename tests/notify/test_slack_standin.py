"""The stand-in itself: what the end-to-end tests of the cycle rely on beyond the notifier tests."""

from urllib.request import urlopen

from tenken_demo.slack_standin import SlackStandIn


def test_channels_and_users_can_be_given_as_written_in_departments_yaml():
    with SlackStandIn(channels=["#tenken-tourism"], users=[{"name": "@tourism-head"}]) as slack:
        assert slack.messages_to("#tenken-tourism") == []
        assert slack.env == {"SLACK_BOT_TOKEN": slack.token, "TENKEN_SLACK_BASE_URL": slack.base_url}


def test_messages_to_finds_a_persons_direct_messages_by_handle_or_email(slack, notifier):
    notifier.post("@tourism-head", "一通目", key="k1")
    notifier.post("tourism-head@example.jp", "二通目", key="k2")
    notifier.post("#tenken-tourism", "別の宛先", key="k3")

    assert [m.key for m in slack.messages_to("@tourism-head")] == ["k1", "k2"]
    assert [m.key for m in slack.messages_to("tourism-head@example.jp")] == ["k1", "k2"]
    assert [m.key for m in slack.messages_to("#tenken-tourism")] == ["k3"]
    assert slack.messages_to("@nobody") == []


def test_faults_are_consumed_in_the_order_they_were_scripted(slack, notifier):
    slack.drop_connection("chat.postMessage")
    slack.server_error("chat.postMessage", status=503)
    slack.rate_limit("chat.postMessage", retry_after=0)

    notifier.post("#tenken-tourism", "本文", key="k1")

    assert [r.fault for r in slack.requests("chat.postMessage")] == ["drop", "server_error", "rate_limit", None]
    assert len(slack.messages) == 1


def test_an_unknown_method_and_a_wrong_token_are_answered_like_slack(slack):
    with urlopen(f"{slack.base_url}chat.postMessage", data=b"channel=C1&text=x") as response:
        assert b'"not_authed"' in response.read()
    with urlopen(f"{slack.base_url}no.such.method?token={slack.token}", data=b"") as response:
        assert b'"unknown_method"' in response.read()

    assert slack.messages == []

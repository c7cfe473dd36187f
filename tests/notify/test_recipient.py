"""One recipient type: how departments, escalation contacts, reviewers and channels are reached."""

import pytest

from tenken.config import ConfigError, load_cycle_settings, load_directory, load_plan
from tenken.notify import Recipient


def test_a_bare_target_in_the_config_is_a_slack_or_an_email_address():
    assert Recipient.model_validate("#tenken-review") == Recipient(slack="#tenken-review")
    assert Recipient.model_validate("@head") == Recipient(slack="@head")
    assert Recipient.model_validate("office@example.jp") == Recipient(email="office@example.jp")


def test_slack_comes_first_and_an_email_only_recipient_is_reached_by_mail():
    assert Recipient(slack="#a", email="a@example.jp").address == "#a"
    assert Recipient(email="a@example.jp").address == "mailto:a@example.jp"
    assert Recipient(name="誰か").address is None


def test_via_chooses_slack_mail_or_both_and_needs_the_address_it_names():
    assert Recipient(slack="#a", email="a@example.jp", via="email").targets == ("mailto:a@example.jp",)
    assert Recipient(slack="#a", email="a@example.jp", via="both").targets == ("#a", "mailto:a@example.jp")
    assert Recipient.model_validate("mailto:a@example.jp") == Recipient(email="a@example.jp", via="email")
    with pytest.raises(ValueError, match="email の宛先"):
        Recipient(slack="#a", via="email")


def test_the_directory_reads_departments_and_their_escalation_contacts():
    directory = load_directory()
    museum = directory.department("history-museum")
    assert (museum.name, museum.address) == ("歴史博物館", "#tenken-history-museum")
    assert directory.escalation("history-museum") == Recipient(
        name="歴史博物館長", slack="@history-museum-head", email="history-museum-head@example.jp")
    assert set(directory.departments) == {d.key for d in load_plan().departments}


def test_the_plan_keeps_departments_by_key_and_name_only():
    department = load_plan().department("history-museum")
    assert department.model_dump() == {"key": "history-museum", "name": "歴史博物館"}


def test_an_unreadable_channel_in_cycle_yaml_is_a_configuration_error_naming_the_file(tmp_path):
    (tmp_path / "cycle.yaml").write_text('announce_channel: "tenken announce"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="cycle.yaml.*\\n.*\\n.*announce_channel|解釈できません"):
        load_cycle_settings(tmp_path)


def test_an_unknown_field_of_a_department_is_a_configuration_error(tmp_path):
    (tmp_path / "departments.yaml").write_text(
        "departments:\n  - {key: a, name: 甲課, slak: '#a'}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="slak"):
        load_directory(tmp_path)

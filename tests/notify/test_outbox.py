"""Without a token: the outbox under var/, and how the Settings choose the notifier."""

import json

import pytest

from tenken.notify import NotificationError, OutboxNotifier, SlackNotifier, read_outbox
from tenken.settings import Settings


def notifier_from_env():
    return Settings.resolve().notifier()


def test_without_a_token_messages_go_to_the_outbox_under_the_var_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TENKEN_VAR_DIR", str(tmp_path / "elsewhere"))

    notifier = notifier_from_env()
    notifier.post("#tenken-tourism", "本文", key="k1")

    assert isinstance(notifier.chat, OutboxNotifier) and isinstance(notifier.mail, OutboxNotifier)
    assert [r["key"] for r in read_outbox(tmp_path / "elsewhere")] == ["k1"]


def test_the_outbox_writes_one_json_line_per_send(tmp_path):
    outbox = OutboxNotifier(tmp_path)
    workbook = tmp_path / "令和2年度_観光課.xlsx"
    workbook.write_bytes(b"PK")

    outbox.post("#tenken-tourism", "提出をお願いします <!channel>", key="2020/tourism/before_7", kind="reminder")
    outbox.upload("tourism-head@example.jp", workbook, key="2020/tourism/request", title="記入様式",
                  initial_comment="記入をお願いします", kind="request")

    lines = (tmp_path / "outbox" / "outbox.jsonl").read_text(encoding="utf-8").splitlines()
    first, second = (json.loads(line) for line in lines)
    assert {k: first[k] for k in ("target", "kind", "key", "text", "attachment")} == {
        "target": "#tenken-tourism", "kind": "reminder", "key": "2020/tourism/before_7",
        "text": "提出をお願いします <!channel>", "attachment": None}
    assert second["attachment"] == str(workbook.resolve()) and second["title"] == "記入様式"
    assert first["time"] <= second["time"] and "+" in first["time"]
    assert "提出をお願いします" in lines[0], "Japanese is written as is, not as \\u escapes"


def test_the_outbox_text_file_reads_as_a_list_of_sent_messages(tmp_path):
    outbox = OutboxNotifier(tmp_path)
    workbook = tmp_path / "観光課.xlsx"
    workbook.write_bytes(b"PK")

    outbox.post("#tenken-tourism", "一通目の本文\n二行目", key="k1", kind="reminder")
    outbox.upload("@tourism-head", workbook, key="k2", initial_comment="二通目の本文", kind="request")

    text = (tmp_path / "outbox" / "outbox.txt").read_text(encoding="utf-8")
    assert text.index("宛先 #tenken-tourism  種類 reminder  キー k1") < text.index("一通目の本文\n二行目")
    assert text.index("一通目の本文") < text.index("宛先 @tourism-head  種類 request  キー k2")
    assert f"添付: 観光課.xlsx ({workbook.resolve()})" in text and "二通目の本文" in text


def test_outbox_receipts_carry_the_key_and_say_where_they_went(tmp_path):
    receipt = OutboxNotifier(tmp_path).post("#tenken-tourism", "本文", key="k1")

    assert (receipt.key, receipt.target, receipt.via) == ("k1", "#tenken-tourism", "outbox") and receipt.ts


def test_the_outbox_refuses_an_unreadable_target_as_slack_would(tmp_path):
    with pytest.raises(NotificationError, match="解釈できません"):
        OutboxNotifier(tmp_path).post("tenken-tourism", "本文", key="k1")

    assert read_outbox(tmp_path) == []


def test_the_outbox_refuses_a_missing_attachment(tmp_path):
    with pytest.raises(NotificationError, match="添付ファイルがありません"):
        OutboxNotifier(tmp_path).upload("#tenken-tourism", tmp_path / "none.xlsx", key="k1")


def test_a_token_in_the_environment_sends_to_slack_at_the_configured_base_url(slack, monkeypatch):
    for name, value in slack.env.items():
        monkeypatch.setenv(name, value)

    notifier = notifier_from_env()
    notifier.post("#tenken-tourism", "本文", key="k1")

    assert isinstance(notifier.chat, SlackNotifier)
    assert [m.key for m in slack.messages] == ["k1"]


def test_the_same_environment_gives_the_same_slack_notifier_so_lookups_are_cached(slack, monkeypatch):
    for name, value in slack.env.items():
        monkeypatch.setenv(name, value)

    notifier_from_env().post("#tenken-tourism", "1", key="k1")
    notifier_from_env().post("#tenken-tourism", "2", key="k2")

    assert notifier_from_env().chat is notifier_from_env().chat
    assert len(slack.requests("conversations.list")) == 1


def test_the_outbox_finds_a_record_by_target_and_key(tmp_path):
    from tenken.notify.outbox import OutboxNotifier

    outbox = OutboxNotifier(tmp_path)
    outbox.post("#tenken-review", "本文", key="k-1")
    assert outbox.find("#tenken-review", "k-1").key == "k-1"
    assert outbox.find("#tenken-review", "k-2") is None
    assert outbox.find("#other", "k-1") is None

"""Review with authority, in process: each reviewer's one-time code reaches only them, the decision is
recorded under the code's owner, and the office's rule (any / all / N) decides when a round publishes.

Real parts: the city plan's draft rendered by WeasyPrint, a SQLite ledger, slack-sdk against the Slack
stand-in (reviewers' DMs are conversations of their own there).
"""

import re
import threading
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tenken.config import ConfigError, load_cycle_settings
from tenken.notify import SlackNotifier
from tenken.review_site import make_server
from tenken.services import Cycle, compiling, reviewing
from tests.flows.conftest import FAST_RETRIES, config_copy, standin_for, CITY
from tests.services.test_sending import settings_for

YEAR = 2024
CODE = re.compile(r"確認コード：([2-9A-Z]{4}-[2-9A-Z]{4})")
REVIEWERS = [{"name": "審査 花子", "slack": "@hanako"}, {"name": "審査 一郎", "slack": "@ichiro"}]


def review_config(tmp_path, approvals="any", **review):
    return config_copy(CITY, tmp_path, review={"channel": "#digital", "reviewers": REVIEWERS, "approvals": approvals,
                                               "site_url": "https://review.example.jp/", **review},
                       office="#office", publish_target="site")


@pytest.fixture
def make_review(tmp_path):
    """Build the FY2024 city cycle with a config's review settings; compile round 1 and open it."""
    opened = []

    def make(approvals="any", **review):
        config = review_config(tmp_path, approvals, **review)
        settings = settings_for(tmp_path, config)
        slack = standin_for(config)
        slack.start()
        ledger = settings.open_ledger()
        cycle = Cycle.build(settings, YEAR, ledger,
                            SlackNotifier(slack.token, base_url=slack.base_url, retry_interval=FAST_RETRIES))
        opened.append((slack, ledger))
        return cycle, slack

    yield make
    for slack, ledger in opened:
        ledger.close()
        slack.stop()


def start_round(cycle, now=None):
    round = reviewing.next_round(cycle, now)
    compiled = compiling.compile_draft(cycle, round)
    reviewing.open_round(cycle, compiled, "http://ui.example/runs/flow-run/1", now)
    return compiled


def code_of(slack, handle, round):
    texts = [m.text for m in slack.messages_to(handle) if f"（第{round}回レビュー）" in m.text]
    codes = [CODE.search(t).group(1) for t in texts if CODE.search(t)]
    assert codes, f"no code for {handle} in round {round}"
    return codes[-1]


def test_each_reviewer_gets_a_code_of_their_own_only_in_their_dm_and_the_ledger_keeps_no_code(make_review, tmp_path):
    cycle, slack = make_review()
    compiled = start_round(cycle)

    hanako, ichiro = code_of(slack, "@hanako", 1), code_of(slack, "@ichiro", 1)
    assert hanako != ichiro
    channel = " ".join(m.text for m in slack.messages_to("#digital"))
    assert "第1回レビュー" in channel and hanako not in channel and ichiro not in channel
    dm = slack.messages_to("@hanako")[-1].text
    assert "https://review.example.jp/r/" in dm and str(tmp_path) not in dm, "a signed link, never a server path"
    database = (tmp_path / "var" / "tenken.db").read_bytes()
    for code in (hanako, ichiro):
        assert code.encode() not in database and code.replace("-", "").encode() not in database
    assert {c.reviewer for c in cycle.ledger.review_codes(YEAR, 1)} == {"審査 花子", "審査 一郎"}

    # Opening the round again (a run resumed after a crash) sends nothing new.
    reviewing.open_round(cycle, compiled, "http://ui.example/runs/flow-run/1")
    assert len(slack.messages_to("@hanako")) == 1 and len(slack.messages_to("@ichiro")) == 1


def test_the_decision_is_recorded_under_the_owner_of_the_code_and_any_one_approval_decides(make_review):
    cycle, slack = make_review()
    start_round(cycle)
    code = code_of(slack, "@ichiro", 1)

    answered = reviewing.answer(cycle, 1, "approve", f" {code.lower()} ", "確認しました。", "")

    assert answered.accepted and answered.reviewer == "審査 一郎"
    [decision] = cycle.ledger.review_decisions(YEAR)
    assert (decision.round, decision.decision, decision.reviewer) == (1, "approve", "審査 一郎")
    assert reviewing.round_state(cycle, 1).status == "approved"


def test_with_all_two_reviewers_must_approve_the_first_approval_leaves_the_round_open(make_review):
    cycle, slack = make_review("all")
    start_round(cycle)

    reviewing.answer(cycle, 1, "approve", code_of(slack, "@hanako", 1), "", "")
    state = reviewing.round_state(cycle, 1)
    assert state.open and state.approved_by == ("審査 花子",) and state.waiting_for == ("審査 一郎",)

    again = reviewing.answer(cycle, 1, "approve", code_of(slack, "@hanako", 1), "", "")
    assert not again.accepted and again.outcome == "reused" and "使用済み" in again.message
    assert reviewing.round_state(cycle, 1).open, "the same reviewer twice is not two approvals"

    reviewing.answer(cycle, 1, "approve", code_of(slack, "@ichiro", 1), "", "")
    state = reviewing.round_state(cycle, 1)
    assert state.status == "approved" and set(state.approved_by) == {"審査 花子", "審査 一郎"}


def test_a_number_of_approvals_and_a_request_for_changes_from_anyone_opens_the_next_round(make_review):
    cycle, slack = make_review(1)
    start_round(cycle)

    reviewing.answer(cycle, 1, "request_changes", code_of(slack, "@hanako", 1), "別紙を確認してください。", "")

    assert reviewing.round_state(cycle, 1).status == "changes" and reviewing.next_round(cycle) == 2
    assert any("修正依頼" in m.text and "審査 花子" in m.text for m in slack.messages_to("#digital"))
    start_round(cycle)
    stale = reviewing.answer(cycle, 2, "approve", code_of(slack, "@ichiro", 1), "", "")
    assert stale.outcome == "stale" and not stale.accepted, "a code of round 1 does not decide round 2"
    assert reviewing.answer(cycle, 2, "approve", code_of(slack, "@ichiro", 2), "", "").accepted


def test_a_wrong_code_records_nothing_and_five_lock_the_round_and_tell_the_office(make_review):
    cycle, slack = make_review()
    start_round(cycle)

    first = reviewing.answer(cycle, 1, "approve", "AAAA-AAAA", "", "")
    assert not first.accepted and first.outcome == "wrong" and "正しくありません" in first.message
    assert "あと 4 回" in first.message and cycle.ledger.review_decisions(YEAR) == []
    for _ in range(4):
        last = reviewing.answer(cycle, 1, "approve", "2222-2222", "", "")
    assert "ロック" in last.message
    assert reviewing.round_state(cycle, 1).status == "locked"
    office = [m.text for m in slack.messages_to("#office")]
    assert len(office) == 1 and "ロック" in office[0] and "5 回" in office[0]

    locked = reviewing.answer(cycle, 1, "approve", code_of(slack, "@hanako", 1), "", "")
    assert not locked.accepted and locked.outcome == "locked", "even the right code: the round is locked"
    assert cycle.ledger.review_decisions(YEAR) == []
    assert [a.outcome for a in cycle.ledger.review_attempts(YEAR)] == ["wrong"] * 5 + ["locked"]
    assert reviewing.next_round(cycle) == 2, "a new round (new codes) is the way on"
    assert len(slack.messages_to("#office")) == 1, "the office is told once"


def test_an_expired_code_is_refused(make_review):
    cycle, slack = make_review(timeout_days=1)
    start_round(cycle)
    later = datetime.now(UTC) + timedelta(days=1, minutes=1)

    answered = reviewing.answer(cycle, 1, "approve", code_of(slack, "@hanako", 1), "", "", now=later)

    assert answered.outcome == "expired" and cycle.ledger.review_decisions(YEAR) == []
    assert reviewing.round_state(cycle, 1, later).status == "expired"


def test_a_run_stopped_between_storing_and_sending_a_code_sends_a_new_one_and_the_old_is_void(make_review):
    cycle, slack = make_review()
    compiled = compiling.compile_draft(cycle, 1)
    expires = datetime.now(UTC) + timedelta(days=30)
    cycle.ledger.store_review_code(YEAR, 1, "審査 花子", "@hanako", reviewing.code_digest(cycle, "ZZZZ-ZZZZ"), expires)

    reviewing.open_round(cycle, compiled, "")

    code = code_of(slack, "@hanako", 1)
    assert len(slack.messages_to("@hanako")) == 1
    assert reviewing.answer(cycle, 1, "approve", "ZZZZ-ZZZZ", "", "").outcome == "wrong", "never sent, never valid"
    assert reviewing.answer(cycle, 1, "approve", code, "", "").accepted


def test_a_run_stopped_between_sending_and_recording_a_code_does_not_send_it_again(make_review):
    cycle, slack = make_review()
    compiled = compiling.compile_draft(cycle, 1)
    reviewing.open_round(cycle, compiled, "")
    code = code_of(slack, "@hanako", 1)
    # As if the run had stopped before marking the code sent: the claim is there, the mark is not.
    with cycle.ledger._write() as session:
        from tenken.ledger.models import ReviewCode

        for row in session.query(ReviewCode):
            row.sent_at = None

    reviewing.open_round(cycle, compiled, "")

    assert len(slack.messages_to("@hanako")) == 1, "found in the DM by its key: not sent twice"
    assert reviewing.answer(cycle, 1, "approve", code, "", "").accepted


def test_reviewers_who_have_not_answered_are_reminded_once_per_step_and_the_office_told_when_it_runs_out(make_review):
    cycle, slack = make_review("all", remind_after_days=[3, 7], timeout_days=10)
    start_round(cycle)
    reviewing.answer(cycle, 1, "approve", code_of(slack, "@hanako", 1), "", "")
    start = datetime.now(UTC)

    assert reviewing.remind_reviewers(cycle, now=start + timedelta(days=1)) == []
    assert reviewing.remind_reviewers(cycle, now=start + timedelta(days=4)) == ["review_reminder/round-1/1/1"]
    assert reviewing.remind_reviewers(cycle, now=start + timedelta(days=5)) == []
    assert reviewing.remind_reviewers(cycle, now=start + timedelta(days=8)) == ["review_reminder/round-1/2/1"]
    reminders = [m.text for m in slack.messages_to("@ichiro") if "まだ判断をいただいていません" in m.text]
    assert len(reminders) == 2 and not any("まだ判断" in m.text for m in slack.messages_to("@hanako"))

    assert reviewing.remind_reviewers(cycle, now=start + timedelta(days=11)) == ["review_stopped/round-1"]
    assert reviewing.remind_reviewers(cycle, now=start + timedelta(days=12)) == []
    [office] = [m.text for m in slack.messages_to("#office")]
    assert "期限" in office and "審査 花子" in office and "審査 一郎" in office and "公表されていません" in office


def test_the_link_in_a_reviewers_dm_names_the_plan_and_opens_its_draft_on_the_review_site(make_review, tmp_path):
    cycle, slack = make_review()
    compiled = start_round(cycle)
    dm = slack.messages_to("@hanako")[-1].text
    [link] = re.findall(r"<(https://review\.example\.jp/r/[^|>]+)\|", dm)
    assert f"/{cycle.plan.id}/fy{YEAR}/round-1/" in link, "the link names the plan whose draft it opens"
    server = make_server(cycle.settings, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        with urllib.request.urlopen(link.replace("https://review.example.jp", server.url), timeout=10) as response:
            assert response.read() == Path(compiled.files["pdf"]).read_bytes()
    finally:
        server.shutdown()
        server.server_close()


def test_the_form_links_the_draft_on_the_review_site_and_says_who_has_approved(make_review, tmp_path):
    cycle, slack = make_review("all")
    compiled = start_round(cycle)
    reviewing.answer(cycle, 1, "approve", code_of(slack, "@hanako", 1), "", "")

    form = reviewing.review_form(cycle, compiled, "確認コードが正しくありません。")

    assert "https://review.example.jp/r/" in form.description and str(tmp_path) not in form.description
    assert "1/2 名" in form.description and "承認済み: 審査 花子" in form.description
    assert "確認コードが正しくありません" in form.description
    assert 29 * 86400 < form.timeout_seconds <= 30 * 86400


def test_the_pause_lasts_until_the_round_has_expired_not_a_fraction_of_a_second_less(make_review):
    """The run's end is told as a round that ran out only if the round has expired when the pause ends."""
    cycle, _ = make_review("all")
    compiled = start_round(cycle)
    expires_at = reviewing.round_state(cycle, 1).expires_at
    now = expires_at - timedelta(seconds=4.3)
    form = reviewing.review_form(cycle, compiled, now=now)
    assert now + timedelta(seconds=form.timeout_seconds) >= expires_at
    assert form.timeout_seconds == 5


@pytest.mark.parametrize("review, message", [
    ({"reviewers": [{"name": "審査 花子", "slack": "#review"}]}, "チャンネルは指定できません"),
    ({"reviewers": [{"slack": "@hanako"}]}, "氏名"),
    ({"reviewers": REVIEWERS, "approvals": 3}, "review.approvals"),
    ({"reviewers": [REVIEWERS[0], REVIEWERS[0]]}, "同じ氏名"),
])
def test_reviewers_who_could_not_get_a_code_of_their_own_are_a_configuration_error(tmp_path, review, message):
    config = config_copy(CITY, tmp_path, review=review)
    with pytest.raises(ConfigError, match=message):
        load_cycle_settings(config)


def test_an_e_mail_reviewer_is_a_person_too(tmp_path):
    config = config_copy(CITY, tmp_path, review={"reviewers": [{"name": "審査 花子", "email": "hanako@city.example.jp"}],
                                                 "approvals": "all"})
    assert load_cycle_settings(config).review.required_approvals == 1


def test_the_audit_lists_codes_sent_answers_with_the_verified_reviewer_adjustments_and_publications(make_review):
    import json

    from tenken.services import publishing
    from tests.conftest import run_cli

    cycle, slack = make_review()
    start_round(cycle)
    with pytest.raises(Exception, match="公表できません"):
        publishing.publish_final(cycle)  # nothing approved yet
    reviewing.answer(cycle, 1, "approve", "2345-2345", "", "")
    reviewing.answer(cycle, 1, "approve", code_of(slack, "@ichiro", 1), "確認しました。", "")
    cycle.ledger.record_adjustment(YEAR, "m-1", "○", "事情を考慮", "事務局 係長")
    published = publishing.publish_final(cycle)

    settings = cycle.settings
    done = run_cli("audit", "--year", str(YEAR), "--json", "--config", str(settings.config_dir),
                   "--db", settings.database_url, "--var", str(settings.var_dir))
    assert done.returncode == 0, done.stderr
    trail = json.loads(done.stdout)["review"]
    events = [(r["event"], r["round"], r["who"]) for r in trail]
    assert ("code_sent", 1, "審査 花子") in events and ("code_sent", 1, "審査 一郎") in events
    answers = [r for r in trail if r["event"] == "answer"]
    assert [(a["who"], a["detail"]) for a in answers] == [
        ("（不明）", "approve: 誤ったコード"), ("審査 一郎", "approve: 記録（確認しました。）")]
    assert any(r["event"] == "adjustment" and r["who"] == "事務局 係長" and "m-1 → ○" in r["detail"] for r in trail)
    [publication] = [r for r in trail if r["event"] == "publication"]
    assert publication["round"] == 1 and published.checksums["report-2024.pdf"] in publication["detail"]
    assert code_of(slack, "@ichiro", 1) not in done.stdout, "the audit never shows a code"
    text = run_cli("audit", "--year", str(YEAR), "--config", str(settings.config_dir), "--db", settings.database_url,
                   "--var", str(settings.var_dir)).stdout
    assert "確認・調整・公表の記録" in text and "確認コード送付" in text and "第1回の承認" in text

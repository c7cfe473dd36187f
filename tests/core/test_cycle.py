from datetime import date, timedelta

from hypothesis import given, strategies as st

from tenken.core.cycle import ReminderPolicy, due_stage, stages

DEADLINE = date(2021, 5, 31)
POLICY = ReminderPolicy()


def test_the_default_policy_reminds_before_on_and_after_the_deadline():
    names = [s.name for s in stages(DEADLINE, POLICY)][:6]
    assert names == ["before_7", "before_1", "due_today", "overdue_1", "overdue_2", "overdue_3"]
    assert stages(DEADLINE, POLICY)[3].on == date(2021, 6, 3)


def test_escalation_starts_with_the_second_overdue_reminder():
    escalating = {s.name: s.escalate for s in stages(DEADLINE, POLICY)}
    assert (escalating["overdue_1"], escalating["overdue_2"], escalating["overdue_3"]) == (False, True, True)


def test_nothing_is_due_before_the_first_stage():
    assert due_stage(DEADLINE, DEADLINE - timedelta(days=8), POLICY, set()) is None


def test_a_stage_already_sent_is_not_due_again():
    assert due_stage(DEADLINE, DEADLINE, POLICY, {"due_today"}) is None


def test_missed_days_send_only_the_latest_stage():
    assert due_stage(DEADLINE, DEADLINE + timedelta(days=4), POLICY, set()).name == "overdue_1"


@given(st.lists(st.integers(min_value=-10, max_value=40), max_size=40))
def test_running_daily_in_any_order_never_sends_a_stage_twice(offsets):
    sent: list[str] = []
    for offset in offsets:
        stage = due_stage(DEADLINE, DEADLINE + timedelta(days=offset), POLICY, set(sent))
        if stage:
            sent.append(stage.name)
    assert len(sent) == len(set(sent))


def test_the_cycle_opened_in_april_inspects_the_fiscal_year_just_closed():
    from tenken.core.cycle import fiscal_year_closed_before

    assert fiscal_year_closed_before(date(2021, 4, 15)) == 2020
    assert fiscal_year_closed_before(date(2022, 2, 1)) == 2020
    assert fiscal_year_closed_before(date(2021, 3, 31)) == 2019


def test_the_deadline_falls_in_the_year_after_the_fiscal_year():
    from tenken.cycle_config import CycleSettings

    assert CycleSettings(deadline="05-31").deadline_for(2020) == date(2021, 5, 31)

"""The typed summary: one walk over the summary table, counts that add up, and the JSON of `tenken summary`."""

from __future__ import annotations

import dataclasses
import json

import pytest

from tenken.config import DEFAULT_CONFIG, load_plan, load_results, plan_from_mapping
from tenken.core.aggregate import LevelSummary, Summary, SummaryRow, rate, summarize
from tenken.core.assessment import assess
from tenken.core.plan import PreviousRates
from tests.factories import DEPARTMENTS, measure, numeric, result, results

SUMMARY_KEYS = ["fiscal_year", "level_labels", "measure_label", "fields", "measures", "finished_earlier",
                "worked_on", "no_indicator", "missing", "rated", "exceeded", "achieved", "not_achieved", "met",
                "rate", "previous_rate", "not_achieved_by_cause", "not_achieved_by_cause_label",
                "not_achieved_external", "external_causes", "finished_in", "pillars"]
PILLAR_KEYS = ["key", "number", "title", "label", "rated", "exceeded", "achieved", "not_achieved", "met", "rate",
               "previous_rate", "sub_pillars"]
SUB_PILLAR_KEYS = ["key", "number", "title", "label", "rated", "exceeded", "achieved", "not_achieved", "met", "rate"]


@pytest.fixture(scope="module")
def kanagawa() -> Summary:
    """The bundled FY2020 example, read in-process (no CLI, no ledger)."""
    return summarize(assess(load_plan(DEFAULT_CONFIG), load_results(DEFAULT_CONFIG, 2020)))


def one_level_plan_summary() -> Summary:
    """Two pillars with measures directly below them: no sub-pillars, and the second has nothing rated."""
    raw = {
        "plan": {"name": "テスト計画", "organisation": "テスト県", "period": [2019, 2022]},
        "levels": [{"key": "goal", "label": "目標", "numbering": "arabic"}],
        "tree": [{"title": "安全", "measures": [measure("A", numeric("10件", "件"))]},
                 {"title": "便利", "measures": [measure("B", {"status": "no_indicator"})]}],
    }
    plan = plan_from_mapping(raw, DEPARTMENTS)
    return summarize(assess(plan, results(result("1-1", "12件", reason="理由"))),
                     previous=PreviousRates(total=90.0, levels={"1": 80.0}))


def test_summarize_returns_frozen_typed_figures(kanagawa):
    assert isinstance(kanagawa, Summary)
    assert all(isinstance(p, LevelSummary) for p in kanagawa.pillars)
    assert isinstance(kanagawa.pillars, tuple) and isinstance(kanagawa.pillars[0].sub_pillars, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        kanagawa.rate = 100.0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        kanagawa.pillars[0].rated = 0  # type: ignore[misc]


def test_the_rows_walk_gives_each_pillars_sub_pillars_then_its_subtotal_and_the_total_last(kanagawa):
    rows = list(kanagawa.rows())
    assert all(isinstance(row, SummaryRow) for row in rows)
    assert [row.kind for row in rows] == ["sub_pillar"] * 3 + ["pillar"] + ["sub_pillar"] * 4 + ["pillar", "total"]
    expected_labels = [label for p in kanagawa.pillars for label in [*(s.label for s in p.sub_pillars), p.label]]
    assert [row.label for row in rows] == [*expected_labels, "合計"]
    first, second = kanagawa.pillars
    assert [row.pillar for row in rows] == [first] * 4 + [second] * 5 + [None]
    assert rows[3].label == first.label == "Ⅰ くらしの情報化"


def test_the_rows_carry_the_seeds_figures_and_the_previous_rates_only_where_there_are_some(kanagawa):
    rows = list(kanagawa.rows())
    assert [(r.rated, r.exceeded, r.achieved, r.not_achieved) for r in rows if r.kind == "sub_pillar"] == [
        (27, 6, 11, 10), (7, 3, 4, 0), (10, 1, 7, 2), (8, 2, 3, 3), (4, 0, 3, 1), (5, 1, 3, 1), (2, 0, 0, 2)]
    assert [(r.rated, r.met, r.not_achieved, r.rate, r.previous_rate) for r in rows if r.kind != "sub_pillar"] == [
        (44, 32, 12, 72.7, 81.2), (19, 12, 7, 63.2, 82.6), (63, 44, 19, 69.8, 81.6)]
    assert all(r.previous_rate is None for r in rows if r.kind == "sub_pillar")


def test_the_counts_of_the_rows_add_up_to_each_subtotal_and_the_total(kanagawa):
    rows = list(kanagawa.rows())
    total = rows[-1]
    counts = ("rated", "exceeded", "achieved", "not_achieved", "met")
    pending: list[SummaryRow] = []
    subtotals: list[SummaryRow] = []
    for row in rows[:-1]:
        if row.kind == "sub_pillar":
            pending.append(row)
            continue
        for name in counts:
            assert sum(getattr(r, name) for r in pending) == getattr(row, name), (row.label, name)
        subtotals.append(row)
        pending = []
    for name in counts:
        assert sum(getattr(r, name) for r in subtotals) == getattr(total, name) == getattr(kanagawa, name)
    for row in rows:
        assert row.met == row.exceeded + row.achieved
        assert row.rated == row.met + row.not_achieved
        assert row.rate == rate(row.met, row.rated)


def test_a_pillar_without_sub_pillars_is_its_own_row_and_nothing_rated_has_no_rate():
    summary = one_level_plan_summary()
    rows = list(summary.rows())
    assert [(r.kind, r.label, r.rated, r.rate, r.previous_rate) for r in rows] == [
        ("pillar", "1 安全", 1, 100.0, 80.0), ("pillar", "2 便利", 0, None, None), ("total", "合計", 1, 100.0, 90.0)]
    assert rows[1].pillar is summary.pillars[1]


def test_the_rows_are_walked_afresh_each_time(kanagawa):
    assert list(kanagawa.rows()) == list(kanagawa.rows())


def test_to_dict_round_trips_through_json_with_the_documented_keys_in_order(kanagawa):
    data = kanagawa.to_dict()
    assert list(data) == SUMMARY_KEYS
    for pillar in data["pillars"]:
        assert list(pillar) == PILLAR_KEYS
        for sub in pillar["sub_pillars"]:
            assert list(sub) == SUB_PILLAR_KEYS
    text = json.dumps(data, ensure_ascii=False, indent=2)
    assert json.loads(text) == data
    assert json.dumps(json.loads(text), ensure_ascii=False, indent=2) == text
    # JSON has no tuples: a tuple left in the dict would compare unequal after the round trip.
    for key in ("level_labels", "external_causes", "finished_in", "pillars"):
        assert type(data[key]) is list, key
    assert type(data["pillars"][0]["sub_pillars"]) is list


def test_to_dict_carries_the_same_figures_as_the_attributes(kanagawa):
    data = kanagawa.to_dict()
    assert (data["fiscal_year"], data["level_labels"], data["measure_label"]) == (2020, ["柱", "中柱", "分野"], "施策")
    assert (data["fields"], data["measures"], data["finished_earlier"], data["worked_on"]) == (21, 76, 3, 73)
    assert (data["rated"], data["met"], data["not_achieved"], data["rate"], data["previous_rate"]) == (
        63, 44, 19, 69.8, 81.6)
    assert data["not_achieved_external"] == 13 and sum(data["not_achieved_by_cause"].values()) == 19
    assert data["not_achieved_by_cause_label"] == kanagawa.not_achieved_by_cause_label
    assert data["finished_in"] == list(kanagawa.finished_in)
    for pillar, level in zip(data["pillars"], kanagawa.pillars, strict=True):
        assert (pillar["key"], pillar["label"], pillar["rated"], pillar["rate"], pillar["previous_rate"]) == (
            level.key, level.label, level.rated, level.rate, level.previous_rate)
        assert [s["label"] for s in pillar["sub_pillars"]] == [s.label for s in level.sub_pillars]
        assert [s["rated"] for s in pillar["sub_pillars"]] == [s.rated for s in level.sub_pillars]


def test_to_dict_hands_out_copies_that_cannot_change_the_summary(kanagawa):
    data = kanagawa.to_dict()
    data["not_achieved_by_cause"].clear()
    data["pillars"][0]["sub_pillars"].clear()
    again = kanagawa.to_dict()
    assert sum(again["not_achieved_by_cause"].values()) == 19
    assert len(again["pillars"][0]["sub_pillars"]) == 3

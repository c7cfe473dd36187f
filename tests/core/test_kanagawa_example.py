"""The bundled FY2020 example reproduces the seed report: every rating and every figure of SPEC §3."""

import json

import pytest

from tests.conftest import run_cli


@pytest.fixture(scope="module")
def summary() -> dict:
    completed = run_cli("summary", "--year", "2020", "--json")
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


@pytest.fixture(scope="module")
def rated_rows() -> list[dict]:
    import csv
    import io

    completed = run_cli("rate", "--year", "2020", "--csv")
    assert completed.returncode == 0, completed.stderr
    return list(csv.DictReader(io.StringIO(completed.stdout)))


def seed_annex(seed_text: str) -> list[tuple[str, str]]:
    """(measure name, printed rating) for every annex row, finished ones rated '' ."""
    rows = []
    for line in seed_text.splitlines():
        cells = line.split("\t")
        if len(cells) > 5 and cells[:3] == ["", "", ""] and cells[3].isdigit():
            finished = "令和元年度で取組完了" in line
            rows.append((cells[4], "" if finished else cells[9]))
    return rows


def test_every_measure_gets_the_rating_printed_in_the_seed_annex(rated_rows, seed_text):
    expected = seed_annex(seed_text)
    assert len(rated_rows) == len(expected) == 76
    for row, (name, rating) in zip(rated_rows, expected):
        assert row["name"].replace(" ", "") == name.replace(" ", "")
        assert row["rating"] == (rating or "—"), row["key"]


def test_the_summary_json_has_the_promised_shape(summary):
    for key in ("fiscal_year", "fields", "measures", "finished_earlier", "worked_on", "no_indicator", "rated",
                "exceeded", "achieved", "not_achieved", "rate", "previous_rate", "not_achieved_by_cause", "pillars"):
        assert key in summary
    for pillar in summary["pillars"]:
        assert {"label", "rated", "exceeded", "achieved", "not_achieved", "rate", "previous_rate",
                "sub_pillars"} <= pillar.keys()
        for sub in pillar["sub_pillars"]:
            assert {"label", "rated", "exceeded", "achieved", "not_achieved", "rate"} <= sub.keys()


def test_the_narrative_figures_of_the_report_are_computed(summary):
    assert (summary["fields"], summary["measures"], summary["finished_earlier"], summary["worked_on"]) == (21, 76, 3, 73)
    assert (summary["rated"], summary["exceeded"] + summary["achieved"], summary["not_achieved"]) == (63, 44, 19)
    assert summary["rate"] == 69.8
    assert summary["previous_rate"] == 81.6
    assert summary["not_achieved_external"] == 13
    assert sum(summary["not_achieved_by_cause"].values()) == 19


def test_the_summary_table_matches_the_seed_row_by_row(summary):
    expected = {
        "I": (44, 32, 12, 72.7, 81.2, [(27, 6, 11, 10), (7, 3, 4, 0), (10, 1, 7, 2)]),
        "II": (19, 12, 7, 63.2, 82.6, [(8, 2, 3, 3), (4, 0, 3, 1), (5, 1, 3, 1), (2, 0, 0, 2)]),
    }
    assert [p["key"] for p in summary["pillars"]] == ["I", "II"]
    for pillar in summary["pillars"]:
        rated, met, missed, rate, previous, subs = expected[pillar["key"]]
        assert (pillar["rated"], pillar["exceeded"] + pillar["achieved"], pillar["not_achieved"]) == (rated, met, missed)
        assert (pillar["rate"], pillar["previous_rate"]) == (rate, previous)
        got = [(s["rated"], s["exceeded"], s["achieved"], s["not_achieved"]) for s in pillar["sub_pillars"]]
        assert got == subs


def test_the_two_adjusted_ratings_keep_the_rule_rating_and_a_justification(rated_rows):
    adjusted = [r for r in rated_rows if r["rule_rating"] != r["rating"]]
    assert [(r["name"], r["rule_rating"], r["rating"]) for r in adjusted] == [
        ("学習用コンピュータの整備", "△", "○"), ("モバイルPCの導入", "△", "○")]
    assert all(r["adjustment_reason"] and r["adjusted_by"] for r in adjusted)


def test_the_human_readable_summary_prints_the_rates():
    completed = run_cli("summary", "--year", "2020")
    assert completed.returncode == 0
    for figure in ("72.7%", "63.2%", "69.8%", "81.6%"):
        assert figure in completed.stdout

"""The second bundled example, みなと市デジタル推進計画（架空）: a fictional municipal plan of another shape
(基本目標 1 / 政策 A / 施策 ①, measures called 事業) with FY2023 and FY2024 results.

The expected figures are the ones computed by hand in tenken/examples/minato/README.md, not the
program's output copied back."""

import json
import re

import pytest

from tenken.config import load_plan, load_results
from tenken.core.aggregate import summarize
from tenken.core.plan import PreviousRates
from tenken.resources import PACKAGE_ROOT
from tenken.services.results import assess_cycle
from tests.conftest import ROOT, run_cli

CONFIG = ROOT / "config" / "minato"
PACKAGED = PACKAGE_ROOT / "examples" / "minato"

# Each measure's final rating, from the README's tables ("" for no rating: finished or no indicator).
RATINGS = {
    2023: {"1-A-1-1": "△", "1-A-1-2": "○", "1-A-2-1": "○", "1-A-2-2": "○", "1-B-1-1": "◎", "1-B-1-2": "○",
           "2-A-1-1": "◎", "2-A-1-2": "◎", "2-A-2-1": "△", "2-A-2-2": "○", "2-B-1-1": "◎", "2-B-1-2": "△",
           "2-B-1-3": "○", "2-B-1-4": "△", "2-C-1-1": "○", "2-C-1-2": "○", "3-A-1-1": "◎", "3-A-1-2": "△",
           "3-A-1-3": "—", "3-B-1-1": "○", "3-B-1-2": "△", "3-B-2-1": "◎", "3-B-2-2": "○", "3-B-2-3": "○"},
    2024: {"1-A-1-1": "○", "1-A-1-2": "◎", "1-A-2-1": "◎", "1-A-2-2": "△", "1-B-1-1": "○", "1-B-1-2": "—",
           "2-A-1-1": "○", "2-A-1-2": "○", "2-A-2-1": "○", "2-A-2-2": "○", "2-B-1-1": "△", "2-B-1-2": "○",
           "2-B-1-3": "◎", "2-B-1-4": "○", "2-C-1-1": "△", "2-C-1-2": "◎", "3-A-1-1": "○", "3-A-1-2": "△",
           "3-A-1-3": "—", "3-B-1-1": "○", "3-B-1-2": "△", "3-B-2-1": "○", "3-B-2-2": "○", "3-B-2-3": "△"},
}

# (rated, ◎, ○, △, met, rate) per 基本目標 with its 政策, and the total, by hand (README).
FIGURES = {
    2023: {
        "1": ((6, 1, 4, 1, 5, 83.3), [(4, 0, 3, 1, 3, 75.0), (2, 1, 1, 0, 2, 100.0)]),
        "2": ((10, 3, 4, 3, 7, 70.0), [(4, 2, 1, 1, 3, 75.0), (4, 1, 1, 2, 2, 50.0), (2, 0, 2, 0, 2, 100.0)]),
        "3": ((7, 2, 3, 2, 5, 71.4), [(2, 1, 0, 1, 1, 50.0), (5, 1, 3, 1, 4, 80.0)]),
        "total": (23, 6, 11, 6, 17, 73.9),
    },
    2024: {
        "1": ((5, 2, 2, 1, 4, 80.0), [(4, 2, 1, 1, 3, 75.0), (1, 0, 1, 0, 1, 100.0)]),
        "2": ((10, 2, 6, 2, 8, 80.0), [(4, 0, 4, 0, 4, 100.0), (4, 1, 2, 1, 3, 75.0), (2, 1, 0, 1, 1, 50.0)]),
        "3": ((7, 0, 4, 3, 4, 57.1), [(2, 0, 1, 1, 1, 50.0), (5, 0, 3, 2, 3, 60.0)]),
        "total": (22, 4, 12, 6, 16, 72.7),
    },
}
# (fields, measures, finished earlier, worked on, no indicator)
NARRATIVE = {2023: (10, 24, 0, 24, 1), 2024: (10, 24, 1, 23, 1)}
CAUSES = {2023: ({"demand": 2, "other": 1, "national": 1, "supply": 1, "budget": 1}, 2),
          2024: ({"demand": 2, "other": 2, "budget": 1, "national": 1}, 1)}
ADJUSTED = {2023: [("2-C-1-2", "△", "○")], 2024: [("3-B-2-2", "◎", "○")]}


def figures(level) -> tuple:
    return (level.rated, level.exceeded, level.achieved, level.not_achieved, level.met, level.rate)


@pytest.fixture(scope="module")
def plan():
    return load_plan(CONFIG)


@pytest.fixture(scope="module")
def assessments() -> dict:
    return {year: assess_cycle(year, CONFIG) for year in (2023, 2024)}


def test_config_minato_is_a_link_to_the_package_data():
    assert CONFIG.is_symlink()
    assert CONFIG.resolve() == PACKAGED.resolve()
    for name in ("plan.yaml", "departments.yaml", "cycle.yaml", "README.md", "results/2023.yaml",
                 "results/2024.yaml"):
        assert (PACKAGED / name).is_file(), name


def test_it_is_clearly_marked_as_fictional(plan):
    assert (PACKAGED / "plan.yaml").read_text(encoding="utf-8").startswith("plan:\n")
    assert "架空の例" in (PACKAGED / "plan.yaml").read_text(encoding="utf-8")
    assert "架空の例" in (PACKAGED / "README.md").read_text(encoding="utf-8")
    assert (plan.name, plan.organisation) == ("みなと市デジタル推進計画（架空）", "みなと市（架空）")
    assert any("架空の例" in paragraph for section in plan.overview for paragraph in section.paragraphs)


def test_the_plan_has_its_own_shape(plan):
    assert plan.id == "minato"
    assert plan.period == (2023, 2026)
    assert [(level.label, level.numbering.value) for level in plan.levels] == [
        ("基本目標", "arabic"), ("政策", "alpha"), ("施策", "circled")]
    assert plan.measure_label == "事業"
    assert [node.heading for node in plan.tree] == [
        "1 誰もが便利に使えるデジタル市役所", "2 デジタルで安全・安心なまち", "3 デジタルで活力あるまち"]
    assert plan.nodes["2-A-2"].heading == "② 救急・消防"
    assert (len(plan.measures), len(plan.departments), plan.leaf_count()) == (24, 12, 10)
    assert plan.previous_rates == {}  # FY2023 has nothing to compare with; FY2024 takes FY2023 from the ledger

    def parts(key, year=2023):
        return plan.measures_by_key[key].years[year].parts

    lower = sorted(m.key for m in plan.measures if any(p.direction == "lower" for p in parts(m.key)))
    assert lower == ["1-A-2-1", "2-A-2-1", "2-C-1-1", "3-B-1-2", "3-B-2-2", "3-B-2-3"]
    multi = sorted(m.key for m in plan.measures if len(parts(m.key)) > 1)
    assert multi == ["1-A-1-1", "2-A-2-2", "3-A-1-2"]
    assert all(p.label for key in multi for p in parts(key))
    assert [p.kind for p in parts("2-A-2-2")] == ["qualitative", "numeric"]
    assert plan.measures_by_key["2-A-2-2"].indicator == "(1)映像通報の受信体制 (2)三者間通訳の対応言語数"
    finished = plan.measures_by_key["1-B-1-2"].years[2024]
    assert (finished.status, finished.finished_in) == ("finished", 2023)
    assert {plan.measures_by_key["3-A-1-3"].years[y].status for y in (2023, 2024)} == {"no_indicator"}
    assert len(plan.rating.cause_tags) == 5 and plan.rating.external_cause_tags == ("national", "supply")


def test_every_measure_gets_the_rating_worked_out_by_hand(assessments):
    for year, expected in RATINGS.items():
        frame = assessments[year].measures
        assert dict(zip(frame["key"], frame["rating"])) == expected, year


def test_the_adjusted_ratings_keep_the_rules_rating_and_a_justification(assessments):
    for year, expected in ADJUSTED.items():
        frame = assessments[year].measures
        adjusted = frame[frame["rule_rating"] != frame["rating"]]
        assert list(zip(adjusted["key"], adjusted["rule_rating"], adjusted["rating"])) == expected
        assert all(adjusted["adjustment_reason"].str.len() > 50) and all(adjusted["adjusted_by"] != "")


@pytest.mark.parametrize("year", [2023, 2024])
def test_the_summary_figures_are_the_hand_computed_ones(assessments, year):
    summary = summarize(assessments[year])
    expected = FIGURES[year]
    assert (summary.fields, summary.measures, summary.finished_earlier, summary.worked_on,
            summary.no_indicator) == NARRATIVE[year]
    assert figures(summary) == expected["total"]
    assert [p.key for p in summary.pillars] == ["1", "2", "3"]
    for pillar in summary.pillars:
        own, subs = expected[pillar.key]
        assert figures(pillar) == own, pillar.label
        assert [figures(sub) for sub in pillar.sub_pillars] == subs, pillar.label
    by_cause, external = CAUSES[year]
    assert (summary.not_achieved_by_cause, summary.not_achieved_external) == (by_cause, external)


def test_fy2023_has_no_previous_rate_and_fy2024_compares_with_fy2023(assessments):
    first = summarize(assessments[2023])
    assert first.previous_rate is None and all(p.previous_rate is None for p in first.pillars)
    # What the ledger's FY2023 cycle gives FY2024 as its previous rates.
    previous = PreviousRates(total=first.rate, levels={p.key: p.rate for p in first.pillars})
    second = summarize(assessments[2024], previous)
    assert second.previous_rate == 73.9
    assert [(p.rate, p.previous_rate) for p in second.pillars] == [(80.0, 83.3), (80.0, 70.0), (57.1, 71.4)]


def test_the_second_years_figures_differ_from_the_first(assessments):
    first, second = (load_results(CONFIG, year) for year in (2023, 2024))
    assert first.report.published == "2024-07" and second.report.published == "2025-07"
    assert first.report.future and second.report.future
    actuals = {year: {r.measure: r.actual for r in results.results if r.actual}
               for year, results in ((2023, first), (2024, second))}
    both = actuals[2023].keys() & actuals[2024].keys()
    assert len(both) == 22
    assert all(actuals[2023][key] != actuals[2024][key] for key in both)


def test_the_preflight_of_fy2024_finds_no_error(tmp_path):
    completed = run_cli("check", "--config", str(CONFIG), "--year", "2024", "--json", "--var", str(tmp_path))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    checked = json.loads(completed.stdout)
    assert checked["ok"] and checked["plan"] == "みなと市デジタル推進計画（架空）"
    assert [f for f in checked["findings"] if f["severity"] == "error"] == []


def test_the_summary_command_runs_on_the_example(tmp_path):
    completed = run_cli("summary", "--config", str(CONFIG), "--year", "2023", "--var", str(tmp_path))
    assert completed.returncode == 0, completed.stderr
    assert "令和5年度" in completed.stdout
    for figure in ("83.3%", "70.0%", "71.4%", "73.9%"):
        assert figure in completed.stdout
    completed = run_cli("summary", "--config", str(PACKAGED), "--year", "2024", "--json", "--var", str(tmp_path))
    assert completed.returncode == 0, completed.stderr
    summary = json.loads(completed.stdout)
    assert (summary["rated"], summary["met"], summary["rate"]) == (22, 16, 72.7)
    assert [p["rate"] for p in summary["pillars"]] == [80.0, 80.0, 57.1]


def test_the_cycle_settings_and_contacts_load():
    from tenken.config import load_cycle_settings, load_directory

    cycle = load_cycle_settings(CONFIG)
    assert cycle.publish_target == "site" and len(cycle.review.reviewers) == 2
    assert all(r.name for r in cycle.review.reviewers)
    directory = load_directory(CONFIG)
    by_mail = sorted(key for key, r in directory.departments.items() if r.targets[0].startswith("mailto:"))
    assert by_mail == ["child-family", "commerce-tourism", "personnel"]
    assert directory.mail_senders("commerce-tourism") == ("minato-commerce-tourism@example.jp",
                                                          "minato-kanko-itaku@example.com")
    everything = "".join((CONFIG / name).read_text(encoding="utf-8") for name in ("departments.yaml", "cycle.yaml"))
    domains = set(re.findall(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)", everything))
    assert domains == {"example.jp", "example.com"}, domains


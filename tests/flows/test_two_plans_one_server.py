"""Two plans on one Prefect server, one var folder and one ledger: Kanagawa FY2020, and the fictional みなと市's
FY2023 then FY2024, the two plans' cycles running at the same time (one thread each).

Each plan's departments are played by tenken_demo.scenario (Kanagawa's FY2020 timeline; for みなと市 the
timeline derived from its cycle.yaml: one bad file then a corrected one, one late department, the
departments asked by mail handing their files over through the bridge). Each run pauses at its review and
is approved by the plan's own reviewer with the code read from their DM in the one Slack stand-in both
plans share (tenken_demo.in_process.run_demo with approve). Then each plan's summary, status, published
files and site entries are checked, and that neither plan's cycle touched the other's.
"""

import json
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tenken.config import load_plan
from tenken.ledger import Ledger
from tenken.workbook.layout import departments_on_form
from tests.conftest import run_cli
from tests.flows.conftest import KANAGAWA, MINATO, config_copy, point_at, standin_for_plans

pytestmark = pytest.mark.prefect

KANAGAWA_YEARS, MINATO_YEARS = [2020], [2023, 2024]
TREND = "計画期間の達成率の推移"
KANAGAWA_REVIEWER = "デジタル戦略本部室 情報政策グループリーダー"
MINATO_REVIEWER = "デジタル推進課 点検担当係長"


@pytest.fixture(scope="module")
def office(prefect_server, tmp_path_factory):
    """Both plans' cycles, at the same time, on the session's Prefect server; one var folder, one site."""
    tmp = tmp_path_factory.mktemp("two-plans")
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("TENKEN_VAR_DIR", str(tmp / "var"))
    monkeypatch.setenv("TENKEN_REVIEW_POLL_SECONDS", "1")
    monkeypatch.setenv("TENKEN_SLACK_SECRET_BLOCK", "")
    monkeypatch.delenv("TENKEN_DATABASE_URL", raising=False)
    monkeypatch.delenv("TENKEN_CONFIG_DIR", raising=False)
    site = tmp / "site"
    configs = {"kanagawa": config_copy(KANAGAWA, tmp / "kanagawa", publish_target=str(site)),
               "minato": config_copy(MINATO, tmp / "minato", publish_target=str(site))}
    years = {"kanagawa": KANAGAWA_YEARS, "minato": MINATO_YEARS}
    results, errors = {}, {}
    from tenken_demo.in_process import run_years

    with standin_for_plans(*configs.values()) as slack:
        point_at(monkeypatch, slack)

        def play(plan: str) -> None:
            try:
                results[plan] = run_years(approve=True, years=years[plan], config_dir=str(configs[plan]),
                                          workspace_url=slack.root_url)
            except BaseException as exc:  # noqa: BLE001 — reported by the fixture
                errors[plan] = exc

        started = time.monotonic()
        threads = [threading.Thread(target=play, args=(plan,), name=f"plan-{plan}", daemon=True) for plan in configs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=max(900 - (time.monotonic() - started), 1))
        assert not any(t.is_alive() for t in threads), f"a plan's cycles did not finish in 15 minutes: {results}"
        if errors:
            raise next(iter(errors.values()))
        yield {"slack": slack, "tmp": tmp, "var": tmp / "var", "site": site, "configs": configs, "results": results,
               "ledger": f"sqlite:///{tmp / 'var' / 'tenken.db'}"}
    monkeypatch.undo()


def cli_json(office, command: str, plan: str, year: int) -> dict:
    done = run_cli(command, "--year", str(year), "--config", str(office["configs"][plan]), "--var", str(office["var"]),
                   "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def squeezed(text: str) -> str:
    """Text without any white space: a sentence the PDF's layout broke over lines reads whole."""
    return "".join(text.split())


def test_the_two_plans_cycles_overlapped_on_one_server(office):
    from prefect import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["annual-inspection"])))
    ours = {str(config): plan for plan, config in office["configs"].items()}  # other modules' runs share the server
    spans = {(ours[run.parameters["config_dir"]], run.parameters["fiscal_year"]):
             (run.start_time, run.end_time, run.state.type.value)
             for run in runs if run.parameters.get("config_dir") in ours}
    assert set(spans) == {("kanagawa", 2020), ("minato", 2023), ("minato", 2024)}
    assert all(state == "COMPLETED" for _, _, state in spans.values())
    kanagawa, first, second = spans[("kanagawa", 2020)], spans[("minato", 2023)], spans[("minato", 2024)]
    assert first[1] <= second[0], "みなと市's FY2024 opened after its FY2023 was published"
    assert kanagawa[0] < first[1] and first[0] < kanagawa[1], "Kanagawa's cycle ran while みなと市's FY2023 did"


def test_the_ledger_holds_both_plans_each_with_its_own_departments(office):
    with Ledger.open(office["ledger"]) as ledger:
        assert ledger.plans() == {"kanagawa": KANAGAWA_YEARS, "minato": MINATO_YEARS}
    for plan, years in (("kanagawa", KANAGAWA_YEARS), ("minato", MINATO_YEARS)):
        own = load_plan(office["configs"][plan])
        with Ledger.open(office["ledger"], own.id, own.name) as ledger:
            for year in years:
                asked = departments_on_form(own, year)
                submissions = ledger.submissions(year)
                assert {r.department for r in ledger.requests(year)} == set(asked)
                assert {s.department for s in submissions} == set(asked), f"{plan} FY{year}: only its own departments"
                assert len(submissions) == len(asked) + 1, f"{plan} FY{year}: one refused first file, then one each"
                [refused] = [s for s in submissions if not s.accepted]
                assert refused.department == ("elderly-welfare" if plan == "kanagawa" else "digital-promotion")
                [publication] = ledger.publications(year)
                assert publication.review_round == 1
                [decision] = ledger.review_decisions(year)
                assert decision.decision == "approve"
                assert decision.reviewer == (KANAGAWA_REVIEWER if plan == "kanagawa" else MINATO_REVIEWER)


@pytest.mark.parametrize(("plan", "year", "rated", "met", "rate", "previous"), [
    ("kanagawa", 2020, 63, 44, 69.8, 81.6),
    ("minato", 2023, 23, 17, 73.9, None),
    ("minato", 2024, 22, 16, 72.7, 73.9),
])
def test_each_plans_summary_from_the_shared_ledger(office, plan, year, rated, met, rate, previous):
    summary = cli_json(office, "summary", plan, year)
    assert (summary["fiscal_year"], summary["rated"], summary["met"], summary["rate"], summary["previous_rate"]) == \
        (year, rated, met, rate, previous)
    if (plan, year) == ("minato", 2024):  # FY2023's rates per 基本目標, read from the ledger
        assert [p["previous_rate"] for p in summary["pillars"]] == [83.3, 70.0, 71.4]
        assert [p["rate"] for p in summary["pillars"]] == [80.0, 80.0, 57.1]


@pytest.mark.parametrize(("plan", "year", "corrected", "late"), [
    ("kanagawa", 2020, "elderly-welfare", {"tourism", "history-museum"}),
    ("minato", 2023, "digital-promotion", {"school-education"}),
    ("minato", 2024, "digital-promotion", {"school-education"}),
])
def test_each_plans_status_counts_only_its_own_departments(office, plan, year, corrected, late):
    status = cli_json(office, "status", plan, year)
    assert status["fiscal_year"] == year and status["stage"]["key"] == "published" and status["waiting"] == []
    asked = departments_on_form(load_plan(office["configs"][plan]), year)
    rows = {r["department"]: r for r in status["departments"]}
    assert list(rows) == asked
    assert all(r["status"] == "submitted" and r["versions"] == 1 for r in rows.values())
    assert {k for k, r in rows.items() if r["rejected"]} == {corrected}
    assert {k for k, r in rows.items() if r["reminders"]} == late, "reminders went to the late departments only"


def test_minato_departments_asked_by_mail_handed_their_files_over_through_the_bridge(office):
    mail = {"child-family", "commerce-tourism", "personnel"}  # departments.yaml: via: email
    own = load_plan(office["configs"]["minato"])
    with Ledger.open(office["ledger"], own.id, own.name) as ledger:
        for year in MINATO_YEARS:
            channels = {s.department: s.channel for s in ledger.submissions(year) if s.accepted}
            assert {d for d, c in channels.items() if c != "slack"} == mail, channels
            refs = {r.department: r.message_ref for r in ledger.requests(year)}
            assert all(refs[d].startswith("mailto:") for d in mail), "asked by mail (to the outbox: no mail server)"


def test_the_refused_file_of_minato_is_answered_in_its_thread(office):
    answers = [m.text for m in office["slack"].messages_to("#minato-digital-promotion")]
    refusals = [t for t in answers if "単位" in t]
    assert len(refusals) == 2, "one bad first file each year"
    assert "131件" in refusals[0] and "172件" in refusals[1]


def test_each_plans_messages_stay_in_its_own_channels(office):
    slack = office["slack"]
    kanagawa_dms = [m.text for m in slack.messages_to("@review-lead")]
    minato_dms = [m.text for m in slack.messages_to("@minato-review-lead")]
    assert len(kanagawa_dms) == 1 and "令和2年度「かながわICT・データ利活用推進計画」" in kanagawa_dms[0]
    assert len(minato_dms) == 2 and all("みなと市デジタル推進計画（架空）" in t for t in minato_dms)
    assert "令和5年度" in minato_dms[0] and "令和6年度" in minato_dms[1]
    kanagawa_news = [m.text for m in slack.messages_to("#tenken-announce")]
    minato_news = [m.text for m in slack.messages_to("#minato-tenken-announce")]
    assert len(kanagawa_news) == 1 and "/kanagawa/2020/report-2020.pdf" in kanagawa_news[0]
    assert len(minato_news) == 2
    assert "/minato/2023/report-2023.pdf" in minato_news[0] and "/minato/2024/report-2024.pdf" in minato_news[1]
    assert not any("minato" in t for t in kanagawa_news) and not any("kanagawa" in t for t in minato_news)


@pytest.mark.parametrize(("plan", "year"), [("kanagawa", 2020), ("minato", 2023), ("minato", 2024)])
def test_each_years_published_files_verify_in_the_plans_own_folder(office, plan, year):
    year_dir = office["site"] / plan / str(year)
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=year_dir, capture_output=True, text=True,
                           check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"report-{year}.pdf: OK" in check.stdout
    meta = json.loads((year_dir / "meta.json").read_text(encoding="utf-8"))
    assert (meta["plan_id"], meta["fiscal_year"]) == (plan, year)
    assert meta["plan_name"] == load_plan(office["configs"][plan]).name
    files = {p.name for p in year_dir.iterdir()} - {"SHA256SUMS", "meta.json"}
    assert files == {item["name"] for item in meta["files"]}, "nothing of another plan or year in the folder"
    assert all(str(year) in name for name in files)


def test_the_site_lists_both_plans_and_each_plans_index_only_its_years(office):
    site = office["site"]
    assert sorted(p.name for p in site.iterdir()) == ["index.html", "kanagawa", "minato"]
    assert sorted(p.name for p in (site / "minato").iterdir()) == ["2023", "2024", "index.html"]
    assert sorted(p.name for p in (site / "kanagawa").iterdir()) == ["2020", "index.html"]
    index = (site / "index.html").read_text(encoding="utf-8")
    kanagawa_name, minato_name = (load_plan(office["configs"][p]).name for p in ("kanagawa", "minato"))
    assert kanagawa_name in index and minato_name in index
    assert "kanagawa/2020/report-2020.pdf" in index and "minato/2024/report-2024.pdf" in index
    kanagawa = (site / "kanagawa" / "index.html").read_text(encoding="utf-8")
    minato = (site / "minato" / "index.html").read_text(encoding="utf-8")
    assert "2020/report-2020.pdf" in kanagawa and minato_name not in kanagawa and "2023" not in kanagawa
    assert "2023/report-2023.pdf" in minato and "2024/report-2024.pdf" in minato
    assert kanagawa_name not in minato and "2020/" not in minato


def test_minato_fy2024_report_compares_with_fy2023_from_the_ledger_and_shows_the_trend(office):
    text = pdf_text(office["site"] / "minato" / "2024" / "report-2024.pdf")
    assert "72.7%" in text and "73.9%" in text, "FY2023's rate, read from the ledger (plan.yaml has none)"
    assert "前回の成果指標の達成率（全体73.9%、基本目標183.3%、基本目標270.0%、基本目標371.4%）" in squeezed(text)
    assert "前回（令和5年度）" in text and "前回との比較" in squeezed(text)
    assert TREND in text and "成果指標の達成率の推移（令和5年度～令和6年度）" in text
    first = pdf_text(office["site"] / "minato" / "2023" / "report-2023.pdf")
    assert "73.9%" in first and TREND not in first and "前回との比較" not in first, "FY2023 has nothing before it"


def test_kanagawa_report_is_as_before_with_no_trend(office):
    text = pdf_text(office["site"] / "kanagawa" / "2020" / "report-2020.pdf")
    assert "69.8%" in text and "案" not in text.split("目")[0]
    assert "前回の成果指標の達成率（全体81.6%、柱Ⅰ81.2%、柱Ⅱ82.6%）" in squeezed(text)
    assert "前回（令和元年度）" in text and "前回との比較" in squeezed(text)
    assert TREND not in text and "令和5年度" not in text and "みなと" not in text, "nothing of the other plan"

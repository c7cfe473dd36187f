"""A reviewer answers the paused review in the real Prefect UI, and the public reads the published site.

The cycle runs as deployed (server, worker, deployments from deployments.yaml); chromium does what a
person does: open the run page, press Resume, fill 判断, コメント and 確認者の氏名, submit.
"""

import re

import pytest
from tenken_demo.deployed import run_cycle_until_review, start_review, wait_for_pause, wait_for_publication
from tenken.ledger import Ledger
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def first_review(stack):
    return run_cycle_until_review(config_dir=str(stack.config), workspace_url=stack.workspace_url)


def answer_in_the_ui(page, stack, flow_run_id, decision: str, comments: str, reviewer: str, shot: str) -> None:
    page.goto(f"{stack.ui_url}/runs/flow-run/{flow_run_id}")
    resume = page.get_by_role("button", name="Resume")
    resume.wait_for(timeout=60_000)
    screenshot(page, f"{shot}-paused")
    resume.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("点検報告書（案）").first.wait_for(timeout=30_000)
    fill_review_form(dialog, decision, comments, reviewer)
    screenshot(page, f"{shot}-form")
    submit_until_accepted(dialog)


def submit_until_accepted(dialog, attempts: int = 3) -> None:
    """Press Submit; when the server answered an error (Prefect's SQLite may report 'database is
    locked' under load, and the UI shows "Something went wrong"), press it again, as a person would.
    The run's state is checked by the caller either way."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(attempts):
        dialog.get_by_role("button", name="Submit").click()
        try:
            dialog.wait_for(state="hidden", timeout=20_000)
            return
        except PlaywrightTimeout:
            if attempt == attempts - 1:
                raise


def fill_review_form(dialog, decision: str, comments: str, reviewer: str) -> None:
    # The UI's labels are not tied to their inputs, so each field is found by the title it shows.
    field = lambda title: dialog.locator(".schema-form-property").filter(  # noqa: E731
        has=dialog.page.locator(".schema-form-property__label", has_text=title))
    # A mouse click on this select did not open it headless; the keyboard does, as for a person using one.
    field("判断").locator("button.p-select-button__control").press("ArrowDown")
    dialog.page.get_by_role("listbox").get_by_role("option", name=decision, exact=True).click()
    assert field("判断").locator(".p-select-button__value").inner_text() == decision
    field("コメント").locator("textarea").fill(comments)
    field("確認者の氏名").locator("textarea, input").fill(reviewer)


def decisions(stack) -> list[tuple[int, str, str, str]]:
    with Ledger.open(stack.ledger_url) as ledger:
        return [(d.round, d.decision, d.reviewer, d.comments) for d in ledger.review_decisions(2020)]


def test_a_reviewer_approves_in_the_prefect_ui_and_the_report_is_published(stack, first_review, page):
    answer_in_the_ui(page, stack, first_review.id, "approve", "内容を確認しました。", "審査 花子", "approve")
    finished = wait_for_publication(first_review.id, timeout=180)
    assert finished.state.is_completed()
    assert decisions(stack)[-1] == (1, "approve", "審査 花子", "内容を確認しました。")
    page.reload()
    page.get_by_text("Completed").first.wait_for(timeout=30_000)
    assert (stack.tmp / "site" / "2020" / "report-2020.pdf").is_file()


def test_a_reviewer_requests_changes_then_approves_the_next_round_in_the_ui(stack, first_review, page):
    wait_for_publication(first_review.id, timeout=180)
    review = start_review(config_dir=str(stack.config))
    round_key = review.state.state_details.pause_key
    answer_in_the_ui(page, stack, review.id, "request_changes", "別紙の理由欄を確認してください。", "審査 一郎",
                     "request-changes")
    next_key = re.sub(r"\d+$", lambda m: str(int(m.group()) + 1), round_key)
    wait_for_pause(review.id, next_key, timeout=120)
    answer_in_the_ui(page, stack, review.id, "approve", "修正を確認しました。", "審査 一郎", "approve-second-round")
    assert wait_for_publication(review.id, timeout=180).state.is_completed()
    answered = decisions(stack)[-2:]
    assert [(d[1], d[2]) for d in answered] == [("request_changes", "審査 一郎"), ("approve", "審査 一郎")]
    assert answered[0][3] == "別紙の理由欄を確認してください。"


def test_the_published_site_serves_the_pdf_and_an_accessible_japanese_report(stack, first_review, page):
    wait_for_publication(first_review.id, timeout=180)
    page.goto(f"{stack.site_url}/")
    assert page.locator("html").get_attribute("lang") == "ja"
    pdf_link = page.get_by_role("link", name="報告書（PDF）")
    response = page.request.get(f"{stack.site_url}/{pdf_link.get_attribute('href')}")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")
    screenshot(page, "site-index")

    page.get_by_role("link", name="報告書（HTML）").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "ja"
    assert page.get_by_role("heading", level=1).count() == 1
    assert "点検報告書" in page.get_by_role("heading", level=1).inner_text()
    assert page.get_by_role("heading", level=2).count() >= 2
    assert "達成率" in page.locator("body").inner_text()
    headers = page.locator("th")
    assert headers.count() > 0
    scoped = page.locator("th[scope=col], th[scope=row], th[scope=colgroup], th[scope=rowgroup]")
    assert scoped.count() == headers.count(), "every table header says whether it heads a column or a row"
    assert page.get_by_role("columnheader").count() > 0
    screenshot(page, "site-report")

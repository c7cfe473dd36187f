"""A reviewer answers the paused review in the real Prefect UI, and the public reads the published site.

The cycle runs as deployed (server with credentials, worker, deployments from deployments.yaml, the
review site, the Slack stand-in as the workspace); chromium does what a person does: sign in to the UI
with the server's credentials, open the run page, open the draft by the link in their DM, press Resume,
fill 判断, コメント and 確認コード (read from their DM), submit.
"""

import re

import httpx
import pytest
from tenken_demo.deployed import run_cycle_until_review, start_review, wait_for_pause, wait_for_publication
from tenken_demo.review_client import code_from_workspace
from tenken.ledger import Ledger
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]
REVIEWER = "@review-lead"  # the bundled cycle.yaml's reviewer, a person in the stand-in workspace
LEAD = "デジタル戦略本部室 情報政策グループリーダー"


@pytest.fixture(scope="module")
def first_review(stack):
    return run_cycle_until_review(config_dir=str(stack.config), workspace_url=stack.workspace_url)


def sign_in(page, stack) -> None:
    """The UI's own sign-in page: the server's credentials, as the office gave them to the reviewer."""
    page.goto(f"{stack.ui_url}/dashboard")
    password = page.locator("form input").first
    password.wait_for(timeout=60_000)
    screenshot(page, "sign-in")
    password.fill(stack.credentials)
    page.get_by_role("button", name="Login").click()
    page.wait_for_url(lambda url: "login" not in url, timeout=60_000)


def dm_texts(stack) -> list[str]:
    return [m["text"] for m in httpx.post(f"{stack.workspace_url}/_standin/messages", json={}).json()["messages"]
            if m["conversation"] == REVIEWER]


def draft_link(stack, round: int) -> str:
    text = next(t for t in reversed(dm_texts(stack)) if f"（第{round}回レビュー）" in t and "確認コード：" in t)
    return re.search(r"<(http[^|>]+)\|報告書案を開く>", text).group(1)


def answer_in_the_ui(page, stack, flow_run_id, decision: str, comments: str, code: str, shot: str,
                     expect_in_form: str = "点検報告書（案）") -> None:
    page.goto(f"{stack.ui_url}/runs/flow-run/{flow_run_id}")
    resume = page.get_by_role("button", name="Resume")
    resume.wait_for(timeout=60_000)
    screenshot(page, f"{shot}-paused")
    resume.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text(expect_in_form).first.wait_for(timeout=30_000)
    fill_review_form(dialog, decision, comments, code)
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


def fill_review_form(dialog, decision: str, comments: str, code: str) -> None:
    # The UI's labels are not tied to their inputs, so each field is found by the title it shows.
    field = lambda title: dialog.locator(".schema-form-property").filter(  # noqa: E731
        has=dialog.page.locator(".schema-form-property__label", has_text=title))
    # A mouse click on this select did not open it headless; the keyboard does, as for a person using one.
    field("判断").locator("button.p-select-button__control").press("ArrowDown")
    dialog.page.get_by_role("listbox").get_by_role("option", name=decision, exact=True).click()
    assert field("判断").locator(".p-select-button__value").inner_text() == decision
    field("コメント").locator("textarea").fill(comments)
    assert dialog.page.locator(".schema-form-property__label", has_text="氏名").count() == 0, "no name to type"
    field("確認コード").locator("textarea, input").fill(code)


def decisions(stack) -> list[tuple[int, str, str, str]]:
    with Ledger.open(stack.ledger_url) as ledger:
        return [(d.round, d.decision, d.reviewer, d.comments) for d in ledger.review_decisions(2020)]


def test_the_api_answers_401_without_credentials_and_the_ui_asks_for_them(stack, page):
    assert httpx.post(f"{stack.api_url}/flow_runs/filter", json={}).status_code == 401
    user, password = stack.credentials.split(":", 1)
    assert httpx.post(f"{stack.api_url}/flow_runs/filter", json={}, auth=(user, password + "x")).status_code == 401
    assert httpx.post(f"{stack.api_url}/flow_runs/filter", json={}, auth=(user, password)).status_code == 200
    assert "Prefect sign-in (shown once" in stack.started and stack.credentials in stack.started
    assert oct((stack.tmp / "run" / "prefect-auth").stat().st_mode & 0o777) == "0o600"
    page.goto(f"{stack.ui_url}/dashboard")
    page.get_by_role("button", name="Login").wait_for(timeout=60_000)


def test_a_wrong_code_brings_the_form_back_with_the_reason_and_records_nothing(stack, first_review, page):
    sign_in(page, stack)
    answer_in_the_ui(page, stack, first_review.id, "approve", "承認します。", "2345-6789", "wrong-code")

    wait_for_pause(first_review.id, "review-2020-round-1-2", timeout=120)
    page.goto(f"{stack.ui_url}/runs/flow-run/{first_review.id}")
    page.get_by_role("button", name="Resume").click()
    page.get_by_role("dialog").get_by_text("確認コードが正しくありません").first.wait_for(timeout=30_000)
    screenshot(page, "wrong-code-reason")
    href = page.get_by_role("dialog").get_by_role("link", name="報告書案（PDF）を開く").get_attribute("href")
    assert href.startswith(f"{stack.review_url}/r/"), "the form links the draft on the review site"
    assert page.request.get(href).headers["content-type"] == "application/pdf"
    page.keyboard.press("Escape")
    assert decisions(stack) == []
    assert not (stack.tmp / "site" / "kanagawa" / "2020").exists(), "nothing published"


def test_a_reviewer_signs_in_opens_the_draft_and_approves_with_the_code_from_their_dm(stack, first_review, page):
    sign_in(page, stack)
    link = draft_link(stack, 1)
    draft = page.request.get(link)
    assert draft.status == 200 and draft.headers["content-type"] == "application/pdf"
    assert draft.body().startswith(b"%PDF")
    unsigned = re.sub(r"/r/\d+/[0-9a-f]{64}", "", link)
    assert unsigned != link and page.request.get(unsigned).status == 403, "the same file without the signed part"
    assert str(stack.tmp) not in " ".join(dm_texts(stack)), "the reviewer never sees a server path"
    code = code_from_workspace(stack.workspace_url, REVIEWER, 2020, 1)

    answer_in_the_ui(page, stack, first_review.id, "approve", "内容を確認しました。", code, "approve",
                     expect_in_form="確認コードが正しくありません")
    finished = wait_for_publication(first_review.id, timeout=180)

    assert finished.state.is_completed()
    assert decisions(stack)[-1] == (1, "approve", LEAD, "内容を確認しました。")
    page.reload()
    page.get_by_text("Completed").first.wait_for(timeout=30_000)
    assert (stack.tmp / "site" / "kanagawa" / "2020" / "report-2020.pdf").is_file()
    with Ledger.open(stack.ledger_url) as ledger:
        assert [p.review_round for p in ledger.publications(2020)] == [1]


def test_a_reviewer_requests_changes_then_approves_the_next_round_in_the_ui(stack, first_review, page):
    wait_for_publication(first_review.id, timeout=180)
    review = start_review(config_dir=str(stack.config))
    assert review.state.state_details.pause_key == "review-2020-round-2"
    sign_in(page, stack)
    answer_in_the_ui(page, stack, review.id, "request_changes", "別紙の理由欄を確認してください。",
                     code_from_workspace(stack.workspace_url, REVIEWER, 2020, 2), "request-changes")
    wait_for_pause(review.id, "review-2020-round-3", timeout=120)
    answer_in_the_ui(page, stack, review.id, "approve", "修正を確認しました。",
                     code_from_workspace(stack.workspace_url, REVIEWER, 2020, 3), "approve-next-round")
    assert wait_for_publication(review.id, timeout=180).state.is_completed()
    answered = decisions(stack)[-2:]
    assert [(d[0], d[1], d[2]) for d in answered] == [(2, "request_changes", LEAD), (3, "approve", LEAD)]
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

"""A Prefect server with its UI, a worker and the deployments (scripts/stack.sh, on free ports and in
temporary folders), and a headless Debian chromium driven by Playwright.

The test harness serves the API only, so the UI gets a real `prefect server start`. Screenshots go to
test-artifacts/browser/ for a person to look at after a run.
"""

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from tests.flows.conftest import KANAGAWA, config_copy

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts" / "browser"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.port, self.site_port, self.slack_port = free_port(), free_port(), free_port()
        self.review_port = free_port()
        self.review_url = f"http://127.0.0.1:{self.review_port}"  # the review site stack.sh serves
        self.workspace_url = f"http://127.0.0.1:{self.slack_port}"  # the Slack stand-in stack.sh serves
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.ui_url = f"http://127.0.0.1:{self.port}"
        self.site_url = f"http://127.0.0.1:{self.site_port}"
        # Publishes to tmp/site, which the stack serves; the drafts' links point at this stack's review site.
        review = yaml.safe_load((KANAGAWA / "cycle.yaml").read_text(encoding="utf-8"))["review"]
        self.config = config_copy(KANAGAWA, tmp, review={**review, "site_url": f"{self.review_url}/"})
        self.env = {**os.environ, "TENKEN_PREFECT_PORT": str(self.port), "TENKEN_SITE_PORT": str(self.site_port),
                    "TENKEN_SLACK_PORT": str(self.slack_port), "TENKEN_REVIEW_PORT": str(self.review_port),
                    "TENKEN_RUN_DIR": str(tmp / "run"), "TENKEN_SITE_DIR": str(tmp / "site"),
                    "TENKEN_VAR_DIR": str(tmp / "var"), "TENKEN_REVIEW_POLL_SECONDS": "1",
                    "TENKEN_SLACK_SECRET_BLOCK": "", "PREFECT_API_URL": self.api_url, "PREFECT_UI_URL": self.ui_url,
                    # The tests trigger every run themselves; the scheduler would only add writers that
                    # contend for the server's SQLite file with the resume the tests are waiting on.
                    "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false"}
        # PREFECT_API_DATABASE_CONNECTION_URL passes through, and TENKEN_DATABASE_URL names the server of a
        # fresh ledger (below): scripts/postgres-suite.sh runs these tests again with both on PostgreSQL.
        self.env.pop("SLACK_BOT_TOKEN", None)
        self.ledger_url = f"sqlite:///{tmp / 'var' / 'tenken.db'}"
        self.database = None
        if os.environ.get("TENKEN_DATABASE_URL"):
            # A ledger of its own for each stack (each test module starts one): a database server given by
            # the environment (scripts/postgres-suite.sh) gets a fresh database, dropped afterwards, so one
            # module's cycle is not the next one's.
            self.database, self.ledger_url = fresh_database(os.environ["TENKEN_DATABASE_URL"])
            self.env["TENKEN_DATABASE_URL"] = self.ledger_url

        for name in ("PREFECT_SERVER_API_AUTH_STRING", "PREFECT_API_AUTH_STRING"):
            self.env.pop(name, None)  # stack.sh generates the server's credentials (tmp/run/prefect-auth)

    def run(self, action: str) -> str:
        done = subprocess.run(["bash", str(ROOT / "scripts" / "stack.sh"), action], env=self.env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    @property
    def credentials(self) -> str:
        """The server's sign-in string ("user:password"), as stack.sh generated it on first start."""
        return (self.tmp / "run" / "prefect-auth").read_text(encoding="utf-8").strip()


def fresh_database(url: str) -> tuple[str, str]:
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"tenken_stack_{uuid.uuid4().hex[:10]}"
    server = create_engine(url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    server.dispose()
    return name, make_url(url).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    server = create_engine(url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


@pytest.fixture(scope="module")
def stack():
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, PREFECT_UI_URL, temporary_settings

    # Not under pytest's basetemp: another pytest session of the same user may rotate it away meanwhile.
    deployed = Stack(Path(tempfile.mkdtemp(prefix="tenken-stack-")))
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("TENKEN_VAR_DIR", deployed.env["TENKEN_VAR_DIR"])
    if deployed.database:
        monkeypatch.setenv("TENKEN_DATABASE_URL", deployed.ledger_url)
    try:
        deployed.started = deployed.run("start")
        with temporary_settings({PREFECT_API_URL: deployed.api_url, PREFECT_UI_URL: deployed.ui_url,
                                 PREFECT_API_AUTH_STRING: deployed.credentials}):
            yield deployed
    finally:
        deployed.run("stop")
        monkeypatch.undo()
        if deployed.database:
            drop_database(os.environ["TENKEN_DATABASE_URL"], deployed.database)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for log in (deployed.tmp / "run").glob("*.log"):
            shutil.copy(log, ARTIFACTS / f"stack-{log.name}")
        shutil.rmtree(deployed.tmp, ignore_errors=True)


# Module scope, not session: while Playwright's sync API is open its event loop runs in this thread, and
# Prefect calls in later test modules would then return coroutines instead of results.
@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="ja-JP")
    page = context.new_page()
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-end.png"), full_page=True)
    context.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path

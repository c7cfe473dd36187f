import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TENKEN = Path(sys.executable).with_name("tenken")


# The key of the departments' submission tokens in every test (as TENKEN_SUBMISSION_KEY); a test of the
# key file's own making removes it from its environment.
TEST_SUBMISSION_KEY = "tenken-test-submission-key-0123456789"
SEED = ROOT / "tests" / "fixtures" / "seed" / "kanagawa-ict-data-plan-fy2020-inspection-report.txt"


def _seed_file() -> Path:
    """The published FY2020 report (a transcription), kept as the ground truth of the example."""
    return Path(os.environ.get("TENKEN_SEED") or SEED)


@pytest.fixture(scope="session", autouse=True)
def var_outside_the_checkout(tmp_path_factory):
    """No test writes into the checkout's var/: commands run without --var use a session folder."""
    patch = pytest.MonkeyPatch()
    patch.setenv("TENKEN_VAR_DIR", str(tmp_path_factory.mktemp("var")))
    patch.setenv("TENKEN_SUBMISSION_KEY", TEST_SUBMISSION_KEY)
    yield
    patch.undo()


def test_signer(plan_name: str):
    """The signer every test's settings use (the key in TENKEN_SUBMISSION_KEY)."""
    from tenken.identity import Signer

    return Signer(TEST_SUBMISSION_KEY.encode("utf-8"), plan_name)


test_signer.__test__ = False  # a helper, not a test


@pytest.fixture(scope="session")
def seed_text() -> str:
    return _seed_file().read_text(encoding="utf-8")


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the installed `tenken` command as a person would."""
    return subprocess.run([str(TENKEN), *args], capture_output=True, text=True, cwd=cwd or ROOT,
                          env={**os.environ, **(env or {})}, timeout=300)


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory):
    """One temporary Prefect server for the whole session (it takes ~10 s to start)."""
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with temporary_settings({PREFECT_LOCAL_STORAGE_PATH: tmp_path_factory.mktemp("prefect-results")}):
        with prefect_test_harness(server_startup_timeout=120):
            yield

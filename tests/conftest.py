import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TENKEN = Path(sys.executable).with_name("tenken")


def _seed_file() -> Path:
    """The seed report lives in shared/ beside the checkout (also in CI); TENKEN_SEED overrides."""
    candidates = [os.environ.get("TENKEN_SEED", ""), *ROOT.parent.glob("shared/seed/*inspection-report.txt")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise FileNotFoundError("seed report not found: set TENKEN_SEED to the seed .txt")


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

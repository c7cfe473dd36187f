"""Fixtures for collection: the Kanagawa plan, its example workbooks, a fresh ledger per test."""

from __future__ import annotations

import io
import os
import shutil
import uuid
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tenken.config import DEFAULT_CONFIG, load_plan
from tenken.example import write_example_workbooks
from tenken.intake import Intake
from tenken.ledger import Ledger
from tenken.services import adjustments_of, office_results
from tests.conftest import test_signer

YEAR = 2020
# A PostgreSQL server where the user may create databases, e.g.
# postgresql+psycopg://postgres@/postgres?host=/tmp/pg (needs psycopg); ledger tests then run on both.
POSTGRES = os.environ.get("TENKEN_TEST_POSTGRES_URL")


@pytest.fixture(scope="session")
def plan():
    return load_plan(DEFAULT_CONFIG)


@pytest.fixture(scope="session")
def example_files(tmp_path_factory) -> dict[str, Path]:
    """Department key -> its request workbook filled in from the example (written once; copy before editing)."""
    folder = tmp_path_factory.mktemp("example")
    paths = write_example_workbooks(YEAR, folder, signer=test_signer(load_plan(DEFAULT_CONFIG).name))
    return {p.stem.removeprefix(f"tenken-{YEAR}-"): p for p in paths}


@pytest.fixture
def db_url(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    monkeypatch.setenv("TENKEN_DATABASE_URL", url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"] if POSTGRES else ["sqlite"])
def ledger_url(request, tmp_path):
    """A fresh, empty ledger database: a SQLite file, and a new PostgreSQL database when configured."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    server = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    name = f"tenken_test_{uuid.uuid4().hex[:12]}"
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    server.dispose()


@pytest.fixture
def ledger(db_url, plan):
    """The ledger of the bundled plan, as `tenken` commands open it for that plan."""
    with Ledger.open(db_url, plan.id, plan.name) as opened:
        yield opened


@pytest.fixture
def intake(plan, ledger, tmp_path) -> Intake:
    return Intake(plan, YEAR, ledger, answers_dir=tmp_path / "answers",
                  adjustments=adjustments_of(office_results(YEAR)))


def take_in_as(senders: dict[str, list[Path]], answers: Path, config_dir: Path | None = None,
               env: dict | None = None) -> list:
    """Each department's files taken in as that department (what `tenken intake --from` does), in the
    ledger of the environment's settings (`env` over it); returns the outcomes."""
    from tenken.services import Cycle
    from tenken.services.collecting import intake_files
    from tenken.settings import Settings

    outcomes = []
    settings = Settings.resolve(config_dir=config_dir, environ={**os.environ, **(env or {})})
    with Cycle.opened(settings, YEAR, sending=False) as cycle:
        for department, paths in senders.items():
            outcomes += intake_files(cycle, paths, answers, department)
    return outcomes


def copy_example(example_files: dict[str, Path], department: str, folder: Path, name: str | None = None) -> Path:
    target = folder / (name or example_files[department].name)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(example_files[department], target)
    return target


def edit_workbook(path: Path, cells: dict[str, object], sheet: str = "実績入力", target: Path | None = None) -> Path:
    """Change cells the way a person with Excel could (protection does not stop a determined editor)."""
    workbook = load_workbook(path)
    for ref, value in cells.items():
        workbook[sheet][ref] = value
    out = target or path
    workbook.save(out)
    return out


def workbook_bytes_with(path: Path, change) -> bytes:
    workbook = load_workbook(path)
    change(workbook)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()

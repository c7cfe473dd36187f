"""A non-editable install works from any folder: templates, the bundled example and the migrations are
package data, nothing is read from the source checkout."""

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def run(*argv, cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed (not editable); its dependencies are borrowed from the test venv."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    # Built from a copy of the tracked files, so that nothing left in the checkout (builds, var/) can leak in.
    files = run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT).stdout.split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_bytes((ROOT / name).read_bytes())
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", tmp / "dist", source,
        cwd=tmp)
    wheel = next((tmp / "dist").glob("tenken-*.whl"))
    venv = tmp / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp)
    run(sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "-q", "--no-deps", wheel, cwd=tmp)
    site = Path(run(venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                    cwd=tmp).stdout.strip())
    # The dependencies (Prefect, WeasyPrint, pandas …) come from the test venv: appended after the new
    # venv's own site-packages, and without running its .pth files, so the editable tenken stays out of sight.
    (site / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def test_the_wheel_carries_templates_the_example_and_migrations(installed):
    where = run(installed / "bin" / "python", "-c",
                "import tenken, tenken.resources as r, tenken.ledger.engine as e; "
                "print(tenken.__file__); print(r.EXAMPLE_CONFIG / 'plan.yaml'); "
                "print(r.REPORT_TEMPLATES / 'report.html'); "
                "print(e.MIGRATIONS / 'versions' / '0001_initial_schema.py')",
                cwd=installed).stdout.split()
    assert Path(where[0]).is_relative_to(installed), "tenken is imported from the installed wheel"
    assert all(Path(p).is_file() and Path(p).is_relative_to(installed) for p in where[1:]), where


def test_summary_and_report_run_from_an_unrelated_folder(installed, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}

    summary = run(installed / "bin" / "tenken", "summary", "--year", "2020", cwd=elsewhere, env=env).stdout
    assert "令和2年度 成果指標の達成状況" in summary and "合計" in summary and "69.8%" in summary

    out = tmp_path / "report"
    run(installed / "bin" / "tenken", "report", "--year", "2020", "--out", out, cwd=elsewhere, env=env)
    assert (out / "report-2020.pdf").read_bytes().startswith(b"%PDF")
    text = run("pdftotext", out / "report-2020.pdf", "-", cwd=tmp_path).stdout
    assert "かながわICT・データ利活用推進計画" in text.replace("\n", "")
    assert sorted(p.name for p in out.iterdir()) == ["annex-2020-columns.csv", "annex-2020.csv", "annex-2020.json",
                                                     "report-2020.html", "report-2020.pdf"]
    assert list(elsewhere.iterdir()) == [], "nothing is written in the current folder"


def test_a_new_ledger_is_migrated_from_the_installed_package(installed, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8", "TENKEN_VAR_DIR": str(tmp_path / "var")}
    status = run(installed / "bin" / "tenken", "status", "--year", "2020", "--json", cwd=tmp_path, env=env).stdout
    assert '"status": "missing"' in status
    assert (tmp_path / "var" / "tenken.db").is_file()

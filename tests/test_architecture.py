"""The layers hold: the library never imports the flows, the tasks or the demo drivers, nothing below an
entry point reads the environment, and `tenken --help` loads no heavy library (typer itself loads pydantic)."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

LIBRARY = ROOT / "tenken"
OUTSIDE_THE_LIBRARY = ("flows", "tasks", "tenken_demo", "tests", "benchmarks")


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def library_files() -> list[Path]:
    files = sorted(LIBRARY.rglob("*.py"))
    assert len(files) > 40, "the library was found"
    return files


def test_the_library_never_imports_flows_tasks_or_drivers():
    offenders = {
        str(path.relative_to(ROOT)): sorted(m for m in imported_modules(path)
                                            if m.split(".")[0] in OUTSIDE_THE_LIBRARY)
        for path in library_files()}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_boundary_check_sees_imports_inside_functions(tmp_path):
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("def f():\n    from flows.open_cycle import open_cycle\n    import tasks.cycle\n")
    assert {"flows.open_cycle", "tasks.cycle"} <= imported_modules(sneaky)


def reads_environment(path: Path) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os" \
                and node.attr in ("environ", "getenv", "environb", "putenv"):
            lines.append(node.lineno)
    return lines


def test_only_the_settings_read_the_environment():
    readers = {str(p.relative_to(ROOT)): reads_environment(p)
               for p in [*library_files(), *(ROOT / "flows").glob("*.py"), *(ROOT / "tasks").glob("*.py")]}
    assert {k: v for k, v in readers.items() if v} == {"tenken/settings.py": readers["tenken/settings.py"]}
    assert readers["tenken/settings.py"], "the settings are where the environment is read"


@pytest.mark.parametrize("argv", [["--help"], ["summary", "--help"], ["open", "--help"]])
def test_the_command_line_answers_help_without_loading_heavy_libraries(argv):
    probe = ("import sys; from tenken.cli import app\n"
             f"try:\n    app({argv!r})\nexcept SystemExit:\n    pass\n"
             "heavy = {'pandas', 'numpy', 'sqlalchemy', 'alembic', 'openpyxl', 'python_calamine', 'weasyprint',"
             " 'prefect', 'slack_sdk', 'jinja2'}\n"
             "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"

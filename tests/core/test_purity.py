"""The core is pure: it imports no orchestration, rendering or messaging library and touches no file."""

import subprocess
import sys
import textwrap

from tests.conftest import ROOT

PROBE = textwrap.dedent("""
    import pkgutil, sys, importlib
    import tenken.core
    for module in pkgutil.walk_packages(tenken.core.__path__, "tenken.core."):
        importlib.import_module(module.name)
    loaded = sorted({name.split(".")[0] for name in sys.modules} & {"prefect", "weasyprint", "slack_sdk"})
    print("LOADED", loaded)

    from tenken.core.aggregate import summarize
    from tenken.core.assessment import assess
    from tests.factories import make_plan, measure, numeric, qualitative, result, results
    from tenken.core.plan import Rating

    plan = make_plan(measure("A", numeric("10件", "件")), measure("B", qualitative("実施")))
    rows = results(result("I-1-ア-1", "12件"), result("I-1-ア-2", "実施", self_rating=Rating.ACHIEVED))
    summarize(assess(plan, rows))  # warm up: first use may import lazily

    touched = []
    def hook(event, args):
        if event in ("open", "os.listdir", "os.scandir", "socket.connect", "subprocess.Popen"):
            touched.append((event, str(args[0])[:80]))
    sys.addaudithook(hook)
    figures = summarize(assess(plan, rows))
    print("TOUCHED", touched)
    print("RATE", figures.rate)
""")


def run_probe() -> dict[str, str]:
    completed = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert completed.returncode == 0, completed.stderr
    return dict(line.split(" ", 1) for line in completed.stdout.splitlines())


def test_the_core_imports_neither_prefect_weasyprint_nor_slack_sdk():
    assert run_probe()["LOADED"] == "[]"


def test_rating_and_aggregating_touch_no_file_socket_or_process():
    probe = run_probe()
    assert probe["RATE"] == "100.0"  # the probe really rated something
    assert probe["TOUCHED"] == "[]"

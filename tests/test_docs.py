"""Docs as contract: every command is documented in the README and answers --help."""

import re

import pytest

from tenken.cli import app
from tests.conftest import ROOT, run_cli

COMMANDS = sorted(c.name or c.callback.__name__.replace("_", "-") for c in app.registered_commands)
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_shows_make_demo_and_make_test_first():
    first_block = README.split("```")[1]
    assert "make demo" in first_block and "make test" in first_block


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_documented_in_the_readme(command):
    assert re.search(rf"`tenken {re.escape(command)}\b", README), command


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_answers_help(command):
    completed = run_cli(command, "--help")
    assert completed.returncode == 0 and "Usage:" in completed.stdout

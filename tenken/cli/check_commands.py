"""`tenken check`: the preflight of a year's cycle, before anything is sent."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from tenken.cli.app import ConfigOption, DbOption, VarOption, YearOption, app, domain_errors, settings, write_stdout


@app.command()
@domain_errors
def check(
    year: YearOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    config: ConfigOption = None,
    db: DbOption = None,
    var: VarOption = None,
) -> None:
    """What the year's cycle needs and lacks: the year in the plan's period, every measure's indicator and
    target for the year, a contact for every department, reviewers with a channel, a writable publish
    target, Slack. Exit 0 when the cycle can open (warnings may be listed), 1 when it cannot."""
    from tenken.services.preflight import preflight

    checked = preflight(settings(config, db, var), year)
    if as_json:
        write_stdout(json.dumps(checked.to_dict(), ensure_ascii=False, indent=2))
    else:
        write_stdout(checked.text())
    if not checked.ok:
        raise typer.Exit(1)

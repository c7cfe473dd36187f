"""The use cases of the yearly cycle, one module per stage; the CLI and the Prefect tasks both call them.

    opening      record the cycle, write and send each department's request workbook
    collecting   take in submitted files, store every version, answer each sender
    reminding    remind each missing department at the stage due today
    compiling    rate, aggregate and render the draft of a review round
    reviewing    notify reviewers, the review form's text and artifacts, record decisions
    publishing   the final report and open data to the website, announced

Each takes a `Cycle` (tenken.services.cycle): the plan, the ledger and the notifier an entry point
built once from the Settings. Every step is safe to repeat: what it sends goes through the
Dispatcher (at most once per item), what it stores is idempotent in the ledger.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tenken.services.cycle import Cycle
    from tenken.services.results import adjustments_of, assess_cycle, load_cycle, office_results

# Re-exported lazily: a command that needs one use case (e.g. `tenken summary` with no ledger) does not
# import the ledger, the notifiers and the workbooks through this package.
_HOMES = {"Cycle": "cycle", "adjustments_of": "results", "assess_cycle": "results", "load_cycle": "results",
          "office_results": "results"}


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(importlib.import_module(f"tenken.services.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Cycle", "adjustments_of", "assess_cycle", "load_cycle", "office_results"]

"""Worker processes: how many CPUs this process may use, and how to start a worker safely.

Shared by the parallel report (tenken/report/parallel.py) and the forms read ahead at intake
(tenken/workbook/ahead.py).
"""

from __future__ import annotations

import os
import threading
from multiprocessing import get_all_start_methods, get_context
from multiprocessing.context import BaseContext


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, where the platform tells), at least 1."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def forks_here() -> bool:
    """A worker may be forked from this process: the platform forks, and no other thread runs that could
    hold a lock the worker would need."""
    return "fork" in get_all_start_methods() and threading.active_count() == 1


def start_context(preload: list[str]) -> BaseContext:
    """Fork when this process runs one thread (fast: what the workers need is imported already); else a
    fork server, which imports `preload` once and forks the workers from there, since forking a process
    whose other threads may hold locks (a Prefect flow's, a server's) is unsafe; spawn where neither is."""
    methods = get_all_start_methods()
    if forks_here():
        return get_context("fork")
    if "forkserver" in methods:
        context = get_context("forkserver")
        context.set_forkserver_preload(preload)  # used by the server's first start only
        return context
    return get_context("spawn")

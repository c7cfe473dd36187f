"""Issue 14: a run taking in many files has worker processes read the next files' forms while it checks and
stores the current one (tenken/workbook/ahead.py). Reading there must change nothing a department or the
office sees: the hostile corpus (tests/collect/hostile_corpus.py) and the 34 genuine FY2020 workbooks are
taken in with and without workers, and every file's record, problems and results must be the same; a
worker lost or failing costs nothing but time."""

from __future__ import annotations

import logging
import os
import signal
import threading
from multiprocessing import get_context
from pathlib import Path

import pytest

from tenken.intake import Intake
from tenken.ledger import Ledger
from tenken.services.results import adjustments_of, office_results
from tenken.workbook import ahead

from .conftest import YEAR, copy_example
from .test_hostile_corpus import built, place, sources  # noqa: F401 — the corpus fixtures, built once per module


@pytest.fixture(scope="module")
def corpus(sources, built, example_files, tmp_path_factory) -> list[Path]:  # noqa: F811
    """The corpus and the genuine workbooks in one folder (placed once: each run takes in copies)."""
    from .hostile_corpus import CASES

    folder = tmp_path_factory.mktemp("ahead-corpus")
    for case in CASES:
        place(case, folder / case.name, sources, built)
    for department in example_files:
        copy_example(example_files, department, folder / "genuine")
    return [folder]


def taken_in(plan, corpus: list[Path], tmp_path: Path, name: str, workers: int | None) -> list[tuple]:
    """Every file taken in by Intake.run into a fresh ledger: what each file's record says, and the results
    of those accepted. `workers`: read ahead by that many workers (None: every form read here)."""
    with Ledger.open(f"sqlite:///{tmp_path / f'{name}.db'}", plan.id, plan.name) as ledger:
        intake = Intake(plan, YEAR, ledger, answers_dir=tmp_path / f"answers-{name}",
                        adjustments=adjustments_of(office_results(YEAR)))
        if workers is not None:
            start = ahead.FormsAhead.start
            intake_run_ahead = lambda paths, peek, reading, _workers=None, min_files=None: start(  # noqa: E731
                paths, peek, reading, workers, min_files=1)
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(ahead.FormsAhead, "start", staticmethod(intake_run_ahead))
                outcomes = intake.run(corpus)
        else:
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(ahead, "MIN_FILES", 10**9)
                outcomes = intake.run(corpus)
        seen = []
        for outcome in outcomes:
            record = outcome.record
            seen.append((outcome.path.relative_to(corpus[0]).as_posix(), record.status, record.department,
                         record.version, record.sha256, record.file_format, record.duplicate,
                         tuple((p.message, p.sheet, p.cell, p.measure, p.field, p.part) for p in record.problems),
                         tuple(r.model_dump_json() for r in ledger.results_of(record.id)) if record.accepted else ()))
        return seen


@pytest.fixture(scope="module")
def read_here(plan, corpus, tmp_path_factory) -> list[tuple]:
    return taken_in(plan, corpus, tmp_path_factory.mktemp("here"), "here", None)


class Counted:
    """How many forms FormsAhead.take handed over as read by a worker (counted in this process)."""

    def __init__(self, monkeypatch):
        self.read_there = 0
        take = ahead.FormsAhead.take

        def counting(this, sha256):
            got = take(this, sha256)
            self.read_there += got is not None
            return got

        monkeypatch.setattr(ahead.FormsAhead, "take", counting)


@pytest.mark.parametrize("workers", [1, 2])
def test_the_corpus_read_ahead_by_workers_gets_the_very_outcomes_of_reading_each_file_here(
        plan, corpus, read_here, tmp_path, monkeypatch, workers):
    counted = Counted(monkeypatch)
    there = taken_in(plan, corpus, tmp_path, "there", workers)
    assert there == read_here
    accepted = [row for row in read_here if row[1] == "accepted"]
    assert len(accepted) >= 34 and len(read_here) > len(accepted) + 20  # genuine and hostile both taken in
    # Most forms were read there: every regular file named as a form, but the copies of bytes already held.
    assert counted.read_there >= len(accepted)


def test_beside_other_threads_as_in_a_flow_the_workers_come_from_a_fork_server_and_read_the_same(
        plan, corpus, read_here, tmp_path, monkeypatch):
    """A Prefect flow runs threads of its own: forking it is unsafe, so the workers come from a fork server."""
    counted = Counted(monkeypatch)
    methods: list[str] = []
    context_for = ahead.start_context
    monkeypatch.setattr(ahead, "start_context", lambda preload: methods.append(
        (context := context_for(preload)).get_start_method()) or context)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, name="another task", daemon=True)
    other.start()
    try:
        assert taken_in(plan, corpus, tmp_path, "forkserver", 2) == read_here
    finally:
        stop.set()
        other.join()
    assert methods == ["forkserver"]
    assert counted.read_there > 30


def test_workers_killed_at_the_start_cost_nothing_but_time(plan, corpus, read_here, tmp_path, monkeypatch, caplog):
    counted = Counted(monkeypatch)
    start = ahead.FormsAhead.start

    def killed(paths, peek, reading, workers=None, min_files=None):
        started = start(paths, peek, reading, 2, min_files=1)
        for worker in started._workers:
            os.kill(worker.process.pid, signal.SIGKILL)
            worker.process.join()
        return started

    monkeypatch.setattr(ahead.FormsAhead, "start", staticmethod(killed))
    with caplog.at_level(logging.WARNING, logger=ahead.__name__):
        assert taken_in(plan, corpus, tmp_path, "killed", 2) == read_here
    assert counted.read_there == 0
    said = [r.getMessage() for r in caplog.records if r.name == ahead.__name__]
    assert len(said) == 1 and "lost" in said[0]  # said once, not once a file


def test_a_fault_in_a_worker_is_met_here_where_the_file_is_read_again(plan, corpus, read_here, tmp_path,
                                                                       monkeypatch, caplog):
    """A worker's read that fails (not a refusal of the file: a fault) is logged, and the file read here."""
    monkeypatch.setattr(ahead, "start_context", lambda preload: get_context("fork"))  # the fault, inherited
    real = ahead.read_form

    def faulty(data, *args):
        if len(data) % 3 == 0:  # about a third of the files, decided by their bytes
            raise RuntimeError("a fault in the worker")
        return real(data, *args)

    monkeypatch.setattr(ahead, "read_form", faulty)
    counted = Counted(monkeypatch)
    with caplog.at_level(logging.WARNING, logger=ahead.__name__):
        assert taken_in(plan, corpus, tmp_path, "faulty", 2) == read_here
    said = [r.getMessage() for r in caplog.records if r.name == ahead.__name__]
    assert said and all("a fault in the worker" in message for message in said)
    assert counted.read_there > 0  # the others were still read there

"""Files arriving at the same moment, in threads and in separate processes: every version is
stored, numbered in the order stored, and the same bytes are still recorded once."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tenken.intake import Intake
from tenken.ledger import Ledger
from tenken.ledger.engine import head_revision

from .conftest import YEAR, copy_example, edit_workbook


def _versions(example_files, folder: Path, count: int) -> list[Path]:
    """`count` different versions of the tourism workbook (different actuals, so different bytes)."""
    return [edit_workbook(copy_example(example_files, "tourism", folder / str(n)), {"H7": f"{841_586 + n:,}PV"})
            for n in range(count)]


def _submit_together(url: str, plan, paths: list[Path]) -> list:
    barrier = threading.Barrier(len(paths), timeout=30)

    def submit(path: Path):
        with Ledger.open(url) as ledger:
            intake = Intake(plan, YEAR, ledger)
            barrier.wait()
            return intake.submit_file(path)

    with ThreadPoolExecutor(len(paths)) as pool:
        return list(pool.map(submit, paths))


def test_two_versions_arriving_at_once_are_both_stored_and_the_later_one_counts(ledger_url, plan, example_files,
                                                                                tmp_path):
    outcomes = _submit_together(ledger_url, plan, _versions(example_files, tmp_path, 2))
    assert all(o.accepted for o in outcomes)
    earlier, later = sorted(outcomes, key=lambda o: o.record.version)
    assert (earlier.record.version, later.record.version) == (1, 2)
    assert later.record.received_at >= earlier.record.received_at
    with Ledger.open(ledger_url) as ledger:
        assert ledger.latest_versions(YEAR)["tourism"].id == later.record.id
        now = {r.measure: r.actual[0] for r in ledger.latest_results(YEAR)}["I-1-イ-1"]
        assert now == {r.measure: r.actual[0] for r in ledger.results_of(later.record.id)}["I-1-イ-1"]
        assert len(ledger.results_of(earlier.record.id)) == len(ledger.results_of(later.record.id))


def test_the_same_bytes_arriving_at_once_are_recorded_once(ledger_url, plan, example_files, tmp_path):
    same = copy_example(example_files, "tourism", tmp_path)
    outcomes = _submit_together(ledger_url, plan, [same] * 4)
    assert len({o.record.id for o in outcomes}) == 1
    assert sum(not o.record.duplicate for o in outcomes) == 1
    with Ledger.open(ledger_url) as ledger:
        assert len(ledger.submissions(YEAR)) == 1


def test_a_reminder_claimed_by_many_at_once_goes_to_one(ledger_url):
    Ledger.open(ledger_url).close()
    barrier = threading.Barrier(8, timeout=30)

    def claim(_):
        with Ledger.open(ledger_url) as ledger:
            barrier.wait()
            return ledger.claim_reminder(YEAR, "tourism", "overdue-1", "@tourism-head", escalated=True)

    with ThreadPoolExecutor(8) as pool:
        assert sorted(pool.map(claim, range(8))) == [False] * 7 + [True]


def _run_all(workers, results) -> list:
    """Start the processes, collect one result from each; none is left running whatever happens."""
    for worker in workers:
        worker.start()
    try:
        collected = [results.get(timeout=30) for _ in workers]
        for worker in workers:
            worker.join(timeout=30)
            assert worker.exitcode == 0
        return collected
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.kill()


def _process_submit(url, plan, path, barrier, results):
    with Ledger.open(url) as ledger:
        intake = Intake(plan, YEAR, ledger)
        barrier.wait()
        outcome = intake.submit_file(path)
        results.put((outcome.record.version, outcome.record.received_at, outcome.accepted))


def test_versions_from_separate_processes_at_once_are_all_kept_in_order(ledger_url, plan, example_files, tmp_path):
    context = multiprocessing.get_context("fork")
    paths = _versions(example_files, tmp_path, 4)
    barrier, results = context.Barrier(len(paths), timeout=30), context.Queue()
    workers = [context.Process(target=_process_submit, args=(ledger_url, plan, p, barrier, results)) for p in paths]
    stored = sorted(_run_all(workers, results))
    assert [version for version, _, accepted in stored if accepted] == [1, 2, 3, 4]
    received = [when for _, when, _ in stored]
    assert received == sorted(received)


def _process_open(url, barrier, results):
    barrier.wait()
    with Ledger.open(url) as ledger, ledger.engine.connect() as connection:
        from alembic.runtime.migration import MigrationContext

        results.put(MigrationContext.configure(connection).get_current_revision())


def test_a_new_ledger_opened_by_several_processes_at_once_is_migrated_once(ledger_url):
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(4, timeout=30), context.Queue()
    workers = [context.Process(target=_process_open, args=(ledger_url, barrier, results)) for _ in range(4)]
    revisions = _run_all(workers, results)
    assert revisions == [head_revision()] * 4


def test_threads_opening_a_new_sqlite_ledger_at_once_all_succeed(tmp_path):
    """Switching a new file to WAL races between first opens; each must wait its turn, not fail."""
    failures = []

    def open_it(url):
        try:
            Ledger.open(url).close()
        except Exception as exc:  # the assertion below shows what went wrong
            failures.append(repr(exc))

    for attempt in range(20):
        url = f"sqlite:///{tmp_path / f'ledger-{attempt}.db'}"
        threads = [threading.Thread(target=open_it, args=(url,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []

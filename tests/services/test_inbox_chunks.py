"""Taking in the inbox in chunks (issue 14): each file stored in its own transaction, the chunk's deliveries
marked taken together, its answers claimed together and each sent and marked on its own; the delivery
records read once a run. What the office relies on stays: every file counts for whoever delivered it,
is answered once, and leaves the inbox once answered.

Real parts: the service layer, the ledger (SQLite), slack-sdk against the local Slack stand-in."""

from __future__ import annotations

import shutil
from collections import Counter

from tenken.services import collecting
from tests.services.test_sending import PLAN, YEAR, city, filled_workbook  # noqa: F401 — city is a fixture

DEPARTMENTS = ("crisis", "fire", "safety", "digital", "citizens")


def test_files_taken_in_a_chunk_at_a_time_are_each_stored_marked_and_answered_once(city, tmp_path, monkeypatch):  # noqa: F811
    cycle, slack = city
    monkeypatch.setattr(collecting, "INBOX_CHUNK", 2)
    for department in DEPARTMENTS:
        path = tmp_path / f"{department}.xlsx"
        path.write_bytes(filled_workbook(cycle, department))
        collecting.deliver(cycle, [path], department, "mail-bridge")
    copy = tmp_path / "crisis-再送.xlsx"  # the same bytes once more, delivered again by the same department
    shutil.copy(tmp_path / "crisis.xlsx", copy)
    collecting.deliver(cycle, [copy], "crisis", "mail-bridge")
    unrecorded = filled_workbook(cycle, "fire", **{"1-A-1-2": "7.5秒"})
    (cycle.folder("inbox") / "誰かが置いた.xlsx").write_bytes(unrecorded)  # nobody recorded its sender

    report = collecting.take_in(cycle)

    assert sorted(e["department"] for e in report.accepted) == sorted([*DEPARTMENTS, "crisis"])
    assert [e["version"] for e in report.accepted if e["department"] == "crisis"] == [1, 1]
    [refused] = report.rejected
    assert refused["department"] is None and report.failed == []
    assert list(cycle.folder("inbox").iterdir()) == []
    assert {a.status for a in cycle.ledger.arrivals(YEAR, "inbox")} == {"taken"}
    accepted = Counter(m.key for m in slack.messages if m.key and "/accepted/" in m.key)
    assert sorted(accepted.values()) == [1] * len(DEPARTMENTS), "one receipt per department's file"
    assert {r.status for r in cycle.ledger.notices(YEAR)} == {"sent"}
    assert all(k.startswith(f"{PLAN}/") for k in accepted)


def test_a_delivery_recorded_after_the_run_read_the_records_still_names_the_sender(city, tmp_path):  # noqa: F811
    cycle, _ = city
    path = tmp_path / "safety.xlsx"
    path.write_bytes(filled_workbook(cycle, "safety"))
    read_at_start = collecting._Deliveries.read(cycle)
    shutil.copy(path, cycle.folder("inbox") / path.name)

    collecting.record_delivery(cycle, cycle.folder("inbox") / path.name, "safety", "mail-bridge")

    found = read_at_start.of(cycle.folder("inbox") / path.name)
    assert found is not None and found.department == "safety" and found.status == "claimed"
    read_at_start.taken(found)
    again = read_at_start.of(cycle.folder("inbox") / path.name)
    assert again.ref == found.ref and again.status == "taken", "taken by this run, though not yet marked in the ledger"

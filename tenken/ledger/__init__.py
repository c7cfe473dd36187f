"""The ledger: every cycle's requests, submitted versions, validation results, ratings, reminders,
review decisions and publications, in a database (SQLite file by default, PostgreSQL by URL).

See docs/ledger.md for the schema and the migrations.
"""

from .engine import exists, sqlite_file
from .repository import (
                         ACCEPTED,
                         ANY_DEPARTMENT,
                         AdjustmentRecord,
                         REJECTED,
                         ArrivalRecord,
                         CycleRecord,
                         DepartmentStatus,
                         Ledger,
                         NewSubmission,
                         Origin,
                         OutboundRecord,
                         PublicationRecord,
                         ReviewAttemptRecord,
                         ReviewCodeRecord,
                         ReviewRecord,
                         ReviewVerdict,
                         SubmissionRecord,
)

__all__ = [
    "ACCEPTED", "ANY_DEPARTMENT", "AdjustmentRecord", "REJECTED", "ArrivalRecord", "CycleRecord", "DepartmentStatus", "Ledger", "LedgerError", "NewSubmission", "Origin",
    "OutboundRecord", "PublicationRecord", "ReviewAttemptRecord", "ReviewCodeRecord", "ReviewRecord", "ReviewVerdict", "SubmissionRecord", "exists", "sqlite_file",
]

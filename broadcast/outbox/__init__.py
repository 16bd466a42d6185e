"""The outbox: notices and their deliveries in the database.

Creating a notice writes the notice and one delivery per group in the same
transaction (`writes`). Dispatchers `claim()` due deliveries under a lease (on
PostgreSQL with `FOR UPDATE SKIP LOCKED`, so processes never take the same row),
send them, and `record()` the outcomes in batches (`claims`). A delivery whose
lease ran out (its dispatcher died, see `workers`) is claimed again: only those
in-flight deliveries can go out twice. Staff read plain models (`reads`).
"""

from __future__ import annotations

from broadcast.outbox.claims import Claims
from broadcast.outbox.reads import OutboxReads
from broadcast.outbox.workers import WorkerRegistry
from broadcast.outbox.writes import NoticeWrites
from broadcast.records import (
    FINAL_STATES,
    OPEN_STATES,
    AttemptLog,
    Job,
    NoticeReport,
    Outcome,
    RoomMessage,
)

__all__ = ["FINAL_STATES", "OPEN_STATES", "AttemptLog", "Job", "NoticeReport", "Outbox",
           "Outcome", "RoomMessage"]


class Outbox(NoticeWrites, OutboxReads, Claims, WorkerRegistry):
    """One object over the four concerns, each in its own module."""

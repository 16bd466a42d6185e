"""The dispatchers' side: claims under a lease, lease renewal, and outcomes
written back in batches, guarded by `claimed_by` so that a dispatcher that lost its
lease cannot overwrite another's work; the in-memory pacer's saved budgets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection

from broadcast.model import DeliveryState, NoticeStatus
from broadcast.outbox.base import Store
from broadcast.records import OPEN_STATES, Job, Outcome
from broadcast.tables import (
    AttemptRow,
    DeliveryRow,
    NoticeRow,
    PacingRow,
    WebMessageRow,
    WorkerRow,
)

S = DeliveryState

# A claim: deliveries whose dispatcher's lease ran out, then due retries, then due
# pending ones, oldest first; plain rows of what a dispatcher needs. Built once (a
# claim runs many times a second).
_CLAIMED = (DeliveryRow.id, DeliveryRow.notice_id, DeliveryRow.platform,
            DeliveryRow.external_id, DeliveryRow.group_name, DeliveryRow.send_via,
            DeliveryRow.send_target, DeliveryRow.attempts, DeliveryRow.parts_sent)
_CLAIM_QUERIES = tuple(
    select(*_CLAIMED).where(state, due).order_by(order).limit(bindparam("n"))
    .with_for_update(skip_locked=True)
    for state, due, order in (
        (DeliveryRow.state == S.SENDING.value, DeliveryRow.lease_until < bindparam("now"),
         DeliveryRow.lease_until),
        (DeliveryRow.state == S.RETRYING.value, DeliveryRow.due_at <= bindparam("now"),
         DeliveryRow.due_at),
        (DeliveryRow.state == S.PENDING.value, DeliveryRow.due_at <= bindparam("now"),
         DeliveryRow.due_at)))
_RECORD_UPDATE = (update(DeliveryRow)
                  .where(DeliveryRow.id == bindparam("b_id"),
                         DeliveryRow.claimed_by == bindparam("b_worker"),
                         DeliveryRow.state == S.SENDING.value)
                  .values(state=bindparam("b_state"), parts_sent=bindparam("b_parts"),
                          parts_total=bindparam("b_total"), attempts=bindparam("b_attempts"),
                          due_at=bindparam("b_due"), reason=bindparam("b_reason"),
                          last_error=bindparam("b_error"), sent_at=bindparam("b_sent"),
                          claimed_by=bindparam("b_claimed"), lease_until=bindparam("b_lease"),
                          updated_at=bindparam("b_now")))
_CLAIM_UPDATE = (update(DeliveryRow)
                 .where(DeliveryRow.id.in_(bindparam("ids", expanding=True)))
                 .values(state=S.SENDING.value, claimed_by=bindparam("worker"),
                         lease_until=bindparam("lease"), updated_at=bindparam("now")))


class Claims(Store):
    def claim(self, worker: str, limit: int, lease: float) -> list[Job]:
        """Take up to `limit` due deliveries: first those whose dispatcher's lease ran
        out, then due retries, then due pending ones, each oldest first. Every query
        walks the (state, due_at) index in order, so a claim costs the same with 80
        or 80,000 deliveries waiting (no sort of everything that is due)."""
        now = self.clock()
        with self.engine.begin() as conn:
            rows: list[Any] = []
            for stmt in _CLAIM_QUERIES:
                if len(rows) >= limit:
                    break
                rows += conn.execute(stmt, {"now": now, "n": limit - len(rows)}).all()
            if not rows:
                return []
            conn.execute(_CLAIM_UPDATE, {"ids": [r.id for r in rows], "worker": worker,
                                         "lease": now + lease, "now": now})
            missing = {r.notice_id for r in rows} - set(self._notices)
            if missing:
                for n in conn.execute(select(NoticeRow.id, NoticeRow.title, NoticeRow.body,
                                             NoticeRow.body_format)
                                      .where(NoticeRow.id.in_(missing))):
                    self._notices[n.id] = (n.title, n.body, n.body_format)
        jobs = []
        for r in rows:
            title, body, body_format = self._notices[r.notice_id]
            jobs.append(Job(r.id, r.notice_id, r.platform, r.external_id, r.group_name,
                            r.send_via, r.send_target, title, body, body_format,
                            r.attempts, r.parts_sent))
        return jobs

    def renew(self, worker: str, lease: float) -> int:
        now = self.clock()
        with self.engine.begin() as conn:
            result = conn.execute(update(DeliveryRow)
                                  .where(DeliveryRow.claimed_by == worker,
                                         DeliveryRow.state == S.SENDING.value)
                                  .values(lease_until=now + lease))
            conn.execute(update(WorkerRow).where(WorkerRow.id == worker)
                         .values(heartbeat_at=now))
            return int(result.rowcount or 0)

    def record(self, worker: str, outcomes: Sequence[Outcome], lease: float = 60.0,
               pacing: Mapping[str, float] | None = None) -> None:
        """Store outcomes (with their web-room messages) and pacing state in one
        transaction."""
        now = self.clock()
        with self.engine.begin() as conn:
            if pacing:
                self._save_pacing(conn, pacing)
            if not outcomes:
                return
            rooms = [{"room": o.room_message.room, "notice_id": o.notice_id,
                      "delivery_id": o.delivery_id, "text": o.room_message.text,
                      "created_at": now} for o in outcomes if o.room_message is not None]
            if rooms:
                conn.execute(insert(WebMessageRow), rooms)
            conn.execute(_RECORD_UPDATE, [_params(o, worker, now, lease) for o in outcomes])
            logs = [{"delivery_id": o.delivery_id, "part": log.part, "started_at": log.started_at,
                     "duration_ms": log.duration_ms, "outcome": log.outcome, "code": log.code,
                     "answer": log.answer[:500], "worker": worker}
                    for o in outcomes for log in o.logs]
            if logs:
                conn.execute(insert(AttemptRow), logs)
            finished = {o.notice_id for o in outcomes if o.state.final}
            if finished:
                still_open = (select(DeliveryRow.id)
                              .where(DeliveryRow.notice_id == NoticeRow.id,
                                     DeliveryRow.state.in_(OPEN_STATES)).exists())
                conn.execute(update(NoticeRow)
                             .where(NoticeRow.id.in_(finished),
                                    NoticeRow.status == NoticeStatus.SENDING.value, ~still_open)
                             .values(status=NoticeStatus.DONE.value, finished_at=now))

    def _save_pacing(self, conn: Connection, pacing: Mapping[str, float]) -> None:
        keys = list(pacing)
        conn.execute(delete(PacingRow).where(PacingRow.key.in_(keys)))
        conn.execute(insert(PacingRow), [{"key": k, "tat": pacing[k]} for k in keys])

    def load_pacing(self) -> dict[str, float]:
        with self.session() as session:
            return {k: float(t) for k, t in session.execute(select(PacingRow.key, PacingRow.tat))}


def _params(o: Outcome, worker: str, now: float, lease: float) -> dict[str, object]:
    in_flight = o.state is S.SENDING  # progress of a multi-part delivery
    return {"b_id": o.delivery_id, "b_worker": worker, "b_now": now, "b_state": o.state.value, "b_parts": o.parts_sent,
            "b_total": o.parts_total, "b_attempts": o.attempts,
            "b_due": o.due_at if o.due_at is not None else now, "b_reason": o.reason,
            "b_error": o.last_error, "b_sent": now if o.state is S.SENT else None,
            "b_claimed": worker if in_flight else None,
            "b_lease": now + lease if in_flight else None}

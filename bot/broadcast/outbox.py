"""The outbox: notices and their deliveries in the database.

Creating a notice writes the notice and one delivery per group in the same
transaction. Dispatchers `claim()` due deliveries under a lease (on PostgreSQL
with `FOR UPDATE SKIP LOCKED`, so processes never take the same row), send
them, and `record()` the outcomes in batches, guarded by `claimed_by` so a
dispatcher that lost its lease cannot overwrite another's work. A delivery
whose lease ran out (its dispatcher died) is claimed again: only those
in-flight deliveries can go out twice.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from bot.broadcast import formatting
from bot.broadcast.model import (
    BroadcastError,
    DeliveryState,
    DispatcherBusy,
    NoticeDraft,
    NoticeNotFound,
    NoticeStatus,
    Recipient,
)
from bot.broadcast.tables import (
    AttemptRow,
    DeliveryRow,
    NoticeRow,
    PacingRow,
    WebMessageRow,
    WorkerRow,
)
from bot.broadcast.targets import resolve

S = DeliveryState
OPEN_STATES = (S.PENDING.value, S.RETRYING.value, S.SENDING.value)
FINAL_STATES = (S.SENT.value, S.FAILED.value, S.CANCELLED.value)

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

@dataclass(frozen=True)
class Job:
    """A claimed delivery with what is needed to send it."""

    delivery_id: int
    notice_id: int
    platform: str
    external_id: str
    group_name: str
    send_via: str
    send_target: str
    title: str
    body: str
    body_format: str
    attempts: int
    parts_sent: int


@dataclass(frozen=True)
class AttemptLog:
    part: int
    started_at: float
    duration_ms: int
    outcome: str
    code: str | None
    answer: str


@dataclass
class Outcome:
    """What happened to a job: progress (`SENDING`), or a final or retry state."""

    delivery_id: int
    notice_id: int
    state: DeliveryState
    parts_sent: int
    parts_total: int
    attempts: int
    due_at: float | None = None
    reason: str | None = None
    last_error: str | None = None
    logs: list[AttemptLog] = field(default_factory=list)


@dataclass(frozen=True)
class NoticeReport:
    id: int
    title: str
    author: str
    status: NoticeStatus
    target_label: str
    schedule_kind: str
    run_at: float | None
    cron: str | None
    created_at: float
    finished_at: float | None
    total: int
    counts: dict[str, int]
    failures: dict[str, int]      # reason → how many groups
    parent_id: int | None

    @property
    def open(self) -> int:
        return sum(self.counts.get(s, 0) for s in OPEN_STATES)


class Outbox:
    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.clock = clock
        self._notices: dict[int, tuple[str, str, str]] = {}

    @property
    def shared(self) -> bool:
        """True when several processes may dispatch (not SQLite)."""
        return self.engine.dialect.name != "sqlite"

    def session(self) -> Session:
        return Session(self.engine, future=True, expire_on_commit=False)

    # --- notices -------------------------------------------------------------------
    def create(self, draft: NoticeDraft, *, status: NoticeStatus = NoticeStatus.SENDING,
               due_at: float | None = None, parent_id: int | None = None,
               occurrence: float | None = None, with_deliveries: bool = True,
               recipients: Sequence[Recipient] | None = None) -> int:
        """Write the notice and every delivery in one transaction; returns its id.
        `recipients` replaces the directory lookup (benchmarks, imports)."""
        draft.validate()
        now = self.clock()
        with self.session() as session, session.begin():
            if recipients is None:
                recipients = resolve(session, draft.targets)
            for platform in {r.platform for r in recipients}:  # title must fit everywhere
                formatting.render(platform, draft.title, "x", draft.body_format)
            notice = NoticeRow(
                title=draft.title.strip(), body=draft.body, body_format=draft.body_format,
                author=draft.author.strip(), targets=draft.targets.as_dict(),
                target_label=draft.targets.label(), schedule_kind=draft.schedule.kind,
                run_at=draft.schedule.at, cron=draft.schedule.cron,
                timezone=draft.schedule.timezone, status=status.value, parent_id=parent_id,
                occurrence=occurrence, total=len(recipients) if with_deliveries else 0,
                created_at=now)
            session.add(notice)
            session.flush()
            if with_deliveries:
                self._write_deliveries(session, int(notice.id), recipients,
                                       due_at if due_at is not None else now, now)
            return int(notice.id)

    def _write_deliveries(self, session: Session, notice_id: int,
                          recipients: Sequence[Recipient], due_at: float, now: float) -> None:
        rows = [{"notice_id": notice_id, "platform": r.platform, "external_id": r.external_id,
                 "group_name": r.name, "grid_code": r.grid_code, "send_via": r.send_via,
                 "send_target": r.send_target, "state": S.PENDING.value, "attempts": 0,
                 "parts_sent": 0, "parts_total": 1, "due_at": due_at, "updated_at": now}
                for r in recipients]
        for start in range(0, len(rows), 5000):
            session.execute(insert(DeliveryRow), rows[start:start + 5000])

    def notice(self, notice_id: int) -> NoticeRow:
        with self.session() as session:
            row = session.get(NoticeRow, notice_id)
            if row is None:
                raise NoticeNotFound(notice_id)
            return row

    def release(self, notice_id: int) -> bool:
        """A scheduled notice's time has come: make its deliveries due now."""
        now = self.clock()
        with self.session() as session, session.begin():
            row = session.get(NoticeRow, notice_id)
            if row is None or row.status != NoticeStatus.SCHEDULED.value:
                return False
            row.status = NoticeStatus.SENDING.value
            session.execute(update(DeliveryRow)
                            .where(DeliveryRow.notice_id == notice_id,
                                   DeliveryRow.state == S.PENDING.value,
                                   DeliveryRow.due_at > now)
                            .values(due_at=now, updated_at=now))
            return True

    def cancel(self, notice_id: int, by: str) -> int:
        """Stop what has not gone out yet; returns how many deliveries were cancelled."""
        now = self.clock()
        with self.session() as session, session.begin():
            row = session.get(NoticeRow, notice_id)
            if row is None:
                raise NoticeNotFound(notice_id)
            result = session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.notice_id == notice_id,
                       DeliveryRow.state.in_([S.PENDING.value, S.RETRYING.value]))
                .values(state=S.CANCELLED.value, reason="已取消", updated_at=now))
            if row.status not in (NoticeStatus.DONE.value, NoticeStatus.CANCELLED.value):
                row.status = NoticeStatus.CANCELLED.value
                row.cancelled_by = by.strip()[:64] or "staff"
                row.finished_at = now
            return int(result.rowcount or 0)

    def retry_failed(self, notice_id: int) -> int:
        """Send the failed deliveries again (after staff fixed a webhook, say)."""
        now = self.clock()
        with self.session() as session, session.begin():
            row = session.get(NoticeRow, notice_id)
            if row is None:
                raise NoticeNotFound(notice_id)
            if row.status == NoticeStatus.CANCELLED.value:
                raise BroadcastError(f"通知 {notice_id} 已取消，不能重试")
            result = session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.notice_id == notice_id, DeliveryRow.state == S.FAILED.value)
                .values(state=S.PENDING.value, attempts=0, due_at=now, reason=None,
                        claimed_by=None, lease_until=None, updated_at=now))
            count = int(result.rowcount or 0)
            if count:
                row.status = NoticeStatus.SENDING.value
                row.finished_at = None
            return count

    def report(self, notice_id: int) -> NoticeReport:
        with self.session() as session:
            row = session.get(NoticeRow, notice_id)
            if row is None:
                raise NoticeNotFound(notice_id)
            counts = dict(session.execute(
                select(DeliveryRow.state, func.count()).where(DeliveryRow.notice_id == notice_id)
                .group_by(DeliveryRow.state)).all())
            failures = dict(session.execute(
                select(DeliveryRow.reason, func.count())
                .where(DeliveryRow.notice_id == notice_id, DeliveryRow.state == S.FAILED.value)
                .group_by(DeliveryRow.reason).order_by(func.count().desc())).all())
            return _report(row, counts, failures)

    def notices(self, limit: int = 50) -> list[NoticeReport]:
        with self.session() as session:
            rows = session.execute(select(NoticeRow).order_by(NoticeRow.id.desc())
                                   .limit(limit)).scalars().all()
            ids = [r.id for r in rows]
            counts: dict[int, dict[str, int]] = {i: {} for i in ids}
            for nid, state, n in session.execute(
                    select(DeliveryRow.notice_id, DeliveryRow.state, func.count())
                    .where(DeliveryRow.notice_id.in_(ids))
                    .group_by(DeliveryRow.notice_id, DeliveryRow.state)):
                counts[nid][state] = n
            return [_report(r, counts[r.id], {}) for r in rows]

    def deliveries(self, notice_id: int, state: str | None = None,
                   limit: int = 1000, offset: int = 0) -> list[DeliveryRow]:
        with self.session() as session:
            stmt = select(DeliveryRow).where(DeliveryRow.notice_id == notice_id)
            if state:
                stmt = stmt.where(DeliveryRow.state == state)
            return list(session.execute(stmt.order_by(DeliveryRow.id).limit(limit)
                                        .offset(offset)).scalars())

    def attempts(self, delivery_id: int) -> list[AttemptRow]:
        with self.session() as session:
            return list(session.execute(select(AttemptRow).where(
                AttemptRow.delivery_id == delivery_id).order_by(AttemptRow.id)).scalars())

    def pending_by_target(self, notice_id: int | None = None,
                          limit: int | None = None) -> list[tuple[str, str, str, int]]:
        """(platform, send_via, send_target, parts left) of open deliveries (for the ETA)."""
        with self.session() as session:
            stmt = select(DeliveryRow.platform, DeliveryRow.send_via, DeliveryRow.send_target,
                          DeliveryRow.parts_total - DeliveryRow.parts_sent).where(
                DeliveryRow.state.in_(OPEN_STATES))
            if notice_id is not None:
                stmt = stmt.where(DeliveryRow.notice_id == notice_id)
            if limit is not None:
                stmt = stmt.limit(limit)
            return [(p, v, t, max(1, int(n))) for p, v, t, n in session.execute(stmt)]

    def mean_latency(self, notice_id: int) -> float | None:
        """Mean seconds per send attempt so far (for the ETA)."""
        with self.session() as session:
            value = session.execute(
                select(func.avg(AttemptRow.duration_ms))
                .join(DeliveryRow, AttemptRow.delivery_id == DeliveryRow.id)
                .where(DeliveryRow.notice_id == notice_id)).scalar()
            return float(value) / 1000 if value else None

    # --- dispatching -----------------------------------------------------------------
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

    def defer(self, worker: str, delays: Iterable[tuple[int, float]]) -> None:
        """Give claimed deliveries back, due later (their budget is used up for now)."""
        now = self.clock()
        params = [{"b_id": i, "b_due": due} for i, due in delays]
        if not params:
            return
        with self.engine.begin() as conn:
            conn.execute(update(DeliveryRow)
                         .where(DeliveryRow.id == bindparam("b_id"),
                                DeliveryRow.claimed_by == worker,
                                DeliveryRow.state == S.SENDING.value)
                         .values(state=S.PENDING.value, due_at=bindparam("b_due"),
                                 claimed_by=None, lease_until=None, updated_at=now), params)

    def record(self, worker: str, outcomes: Sequence[Outcome],
               web: Sequence[tuple[str, int, int, str]] = (), lease: float = 60.0,
               pacing: Mapping[str, float] | None = None) -> None:
        """Store outcomes, web-room messages and pacing state in one transaction."""
        now = self.clock()
        with self.engine.begin() as conn:
            if pacing:
                self._save_pacing(conn, pacing)
            if not outcomes:
                return
            for r in web:
                room, notice_id, delivery_id, text = r
                conn.execute(insert(WebMessageRow).values(room=room, notice_id=notice_id,
                                                          delivery_id=delivery_id, text=text,
                                                          created_at=now))
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

    # --- dispatcher processes ----------------------------------------------------------
    def register_worker(self, worker: str, stale_after: float) -> list[str]:
        """Announce a dispatcher; on SQLite only one may run at a time. Dispatchers
        that stopped beating, or whose process on this host is gone (killed), are
        removed and their in-flight deliveries made claimable at once."""
        now = self.clock()
        host = socket.gethostname()
        with self.engine.begin() as conn:
            dead = [w.id for w in conn.execute(select(WorkerRow))
                    if w.heartbeat_at < now - stale_after
                    or (w.host == host and not _pid_alive(w.pid))]
            if dead:
                conn.execute(delete(WorkerRow).where(WorkerRow.id.in_(dead)))
                conn.execute(update(DeliveryRow)
                             .where(DeliveryRow.claimed_by.in_(dead),
                                    DeliveryRow.state == S.SENDING.value)
                             .values(lease_until=0.0))
            if not self.shared:
                alive = conn.execute(select(WorkerRow.id, WorkerRow.pid)).first()
                if alive is not None:
                    raise DispatcherBusy(
                        f"另一个发送进程（{alive.id}，pid {alive.pid}）正在运行；"
                        "SQLite 只支持一个发送进程，多进程请使用 PostgreSQL")
            conn.execute(insert(WorkerRow).values(id=worker, host=host, pid=os.getpid(),
                                                  started_at=now, heartbeat_at=now))
        return dead

    def unregister_worker(self, worker: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(WorkerRow).where(WorkerRow.id == worker))

    def live_workers(self, stale_after: float) -> int:
        with self.session() as session:
            return int(session.execute(select(func.count()).select_from(WorkerRow).where(
                WorkerRow.heartbeat_at >= self.clock() - stale_after)).scalar() or 0)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _params(o: Outcome, worker: str, now: float, lease: float) -> dict[str, object]:
    in_flight = o.state is S.SENDING  # progress of a multi-part delivery
    return {"b_id": o.delivery_id, "b_worker": worker, "b_now": now, "b_state": o.state.value, "b_parts": o.parts_sent,
            "b_total": o.parts_total, "b_attempts": o.attempts,
            "b_due": o.due_at if o.due_at is not None else now, "b_reason": o.reason,
            "b_error": o.last_error, "b_sent": now if o.state is S.SENT else None,
            "b_claimed": worker if in_flight else None,
            "b_lease": now + lease if in_flight else None}


def _report(row: NoticeRow, counts: dict[str, int], failures: dict[str | None, int]) -> NoticeReport:
    return NoticeReport(
        id=row.id, title=row.title, author=row.author, status=NoticeStatus(row.status),
        target_label=row.target_label, schedule_kind=row.schedule_kind, run_at=row.run_at,
        cron=row.cron, created_at=row.created_at, finished_at=row.finished_at,
        total=row.total, counts=counts,
        failures={k or "未知原因": v for k, v in failures.items()}, parent_id=row.parent_id)

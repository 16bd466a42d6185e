"""What staff and the CLI read: a notice, its report, its deliveries and their
attempts, as plain read models (`broadcast.records`)."""

from __future__ import annotations

from sqlalchemy import func, select

from broadcast.model import DeliveryState, NoticeNotFound, NoticeStatus
from broadcast.outbox.base import Store
from broadcast.records import (
    OPEN_STATES,
    AttemptView,
    DeliveryView,
    NoticeReport,
    NoticeView,
    view_of,
)
from broadcast.tables import AttemptRow, DeliveryRow, NoticeRow

S = DeliveryState


class OutboxReads(Store):
    def notice(self, notice_id: int) -> NoticeView:
        with self.session() as session:
            row = session.get(NoticeRow, notice_id)
            if row is None:
                raise NoticeNotFound(notice_id)
            return view_of(NoticeView, row)

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
            return report_of(row, counts, failures)

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
            return [report_of(r, counts[r.id], {}) for r in rows]

    def deliveries(self, notice_id: int, state: str | None = None,
                   limit: int = 1000, offset: int = 0) -> list[DeliveryView]:
        with self.session() as session:
            stmt = select(DeliveryRow).where(DeliveryRow.notice_id == notice_id)
            if state:
                stmt = stmt.where(DeliveryRow.state == state)
            return [view_of(DeliveryView, row) for row in session.execute(
                stmt.order_by(DeliveryRow.id).limit(limit).offset(offset)).scalars()]

    def deliveries_changed(self, notice_id: int, since: float,
                           limit: int = 5000) -> list[DeliveryView]:
        """The notice's deliveries updated at or after `since` (epoch seconds), oldest
        change first: what a live progress view needs after its first full read."""
        with self.session() as session:
            stmt = (select(DeliveryRow).where(DeliveryRow.notice_id == notice_id,
                                              DeliveryRow.updated_at >= since)
                    .order_by(DeliveryRow.updated_at, DeliveryRow.id).limit(limit))
            return [view_of(DeliveryView, row) for row in session.execute(stmt).scalars()]

    def delivery(self, delivery_id: int) -> DeliveryView | None:
        with self.session() as session:
            row = session.get(DeliveryRow, delivery_id)
            return None if row is None else view_of(DeliveryView, row)

    def attempts(self, delivery_id: int) -> list[AttemptView]:
        with self.session() as session:
            return [view_of(AttemptView, row) for row in session.execute(
                select(AttemptRow).where(AttemptRow.delivery_id == delivery_id)
                .order_by(AttemptRow.id)).scalars()]

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


def report_of(row: NoticeRow, counts: dict[str, int], failures: dict[str | None, int]) -> NoticeReport:
    return NoticeReport(
        id=row.id, title=row.title, author=row.author, status=NoticeStatus(row.status),
        target_label=row.target_label, schedule_kind=row.schedule_kind, run_at=row.run_at,
        cron=row.cron, created_at=row.created_at, finished_at=row.finished_at,
        total=row.total, counts=counts,
        failures={k or "未知原因": v for k, v in failures.items()}, parent_id=row.parent_id)

"""The write path of staff: a notice and all its deliveries in one transaction;
releasing a scheduled notice, cancelling, sending the failed groups again."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from broadcast import formatting
from broadcast.model import (
    BroadcastError,
    DeliveryState,
    NoticeDraft,
    NoticeNotFound,
    NoticeStatus,
    Recipient,
)
from broadcast.outbox.base import Store
from broadcast.tables import DeliveryRow, NoticeRow
from broadcast.targets import resolve

S = DeliveryState


class NoticeWrites(Store):
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

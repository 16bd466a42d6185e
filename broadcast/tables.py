"""Tables of the broadcaster (prefix `bc_`), created by the Alembic migrations in
`broadcast/migrations`. Times are epoch seconds (float) so that comparisons
are the same on SQLite and PostgreSQL and across dispatcher processes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)

from core.db import declarative_base

Base: Any = declarative_base()
metadata = Base.metadata


class NoticeRow(Base):
    __tablename__ = "bc_notices"
    __table_args__ = (UniqueConstraint("parent_id", "occurrence", name="uq_bc_notices_run"),)
    id = Column(Integer, primary_key=True, autoincrement=True)
    title = Column(String(200), nullable=False)
    body = Column(Text, nullable=False)
    body_format = Column(String(16), nullable=False, default="text")
    author = Column(String(64), nullable=False)
    targets = Column(JSON, nullable=False)
    target_label = Column(Text, nullable=False)
    schedule_kind = Column(String(8), nullable=False, default="now")
    run_at = Column(Float, nullable=True)
    cron = Column(String(64), nullable=True)
    timezone = Column(String(64), nullable=False, default="Asia/Shanghai")
    status = Column(String(16), nullable=False, index=True)
    parent_id = Column(Integer, ForeignKey("bc_notices.id"), nullable=True)
    occurrence = Column(Float, nullable=True)
    total = Column(Integer, nullable=False, default=0)
    created_at = Column(Float, nullable=False)
    finished_at = Column(Float, nullable=True)
    cancelled_by = Column(String(64), nullable=True)


class DeliveryRow(Base):
    __tablename__ = "bc_deliveries"
    __table_args__ = (
        UniqueConstraint("notice_id", "platform", "external_id", name="uq_bc_deliveries_group"),
        Index("ix_bc_deliveries_due", "state", "due_at"),
    )
    id = Column(Integer, primary_key=True, autoincrement=True)
    notice_id = Column(Integer, ForeignKey("bc_notices.id"), nullable=False, index=True)
    platform = Column(String(16), nullable=False)
    external_id = Column(String(128), nullable=False)
    group_name = Column(String(128), nullable=False)
    grid_code = Column(String(32), nullable=False)
    send_via = Column(String(16), nullable=False)
    send_target = Column(Text, nullable=False)
    state = Column(String(16), nullable=False)
    attempts = Column(Integer, nullable=False, default=0)
    parts_sent = Column(Integer, nullable=False, default=0)
    parts_total = Column(Integer, nullable=False, default=1)
    due_at = Column(Float, nullable=False)
    claimed_by = Column(String(64), nullable=True)
    lease_until = Column(Float, nullable=True)
    sent_at = Column(Float, nullable=True)
    reason = Column(Text, nullable=True)       # why it failed (Chinese, for staff)
    last_error = Column(Text, nullable=True)   # the platform's last answer (for operators)
    updated_at = Column(Float, nullable=False)


class AttemptRow(Base):
    __tablename__ = "bc_attempts"
    id = Column(Integer, primary_key=True, autoincrement=True)
    delivery_id = Column(Integer, ForeignKey("bc_deliveries.id"), nullable=False, index=True)
    part = Column(Integer, nullable=False)
    started_at = Column(Float, nullable=False)
    duration_ms = Column(Integer, nullable=False)
    outcome = Column(String(16), nullable=False)   # sent, retrying, failed
    code = Column(String(32), nullable=True)
    answer = Column(Text, nullable=True)
    worker = Column(String(64), nullable=False)


class PacingRow(Base):
    """Shared pacing state (GCRA theoretical arrival time) per robot, group or account."""

    __tablename__ = "bc_pacing"
    key = Column(String(255), primary_key=True)
    tat = Column(Float, nullable=False)


class WorkerRow(Base):
    __tablename__ = "bc_workers"
    id = Column(String(64), primary_key=True)
    host = Column(String(128), nullable=False)
    pid = Column(Integer, nullable=False)
    started_at = Column(Float, nullable=False)
    heartbeat_at = Column(Float, nullable=False)


class WebMessageRow(Base):
    """Notices for the web chat rooms (the union site and the demo page read them)."""

    __tablename__ = "bc_web_messages"
    id = Column(Integer, primary_key=True, autoincrement=True)
    room = Column(String(128), nullable=False, index=True)
    notice_id = Column(Integer, nullable=False)
    delivery_id = Column(Integer, nullable=False)
    text = Column(Text, nullable=False)
    created_at = Column(Float, nullable=False)

"""Broadcaster: notices, deliveries (the outbox), attempts, pacing, workers, web rooms.

Revision ID: b0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bc_notices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_format", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("target_label", sa.Text(), nullable=False),
        sa.Column("schedule_kind", sa.String(length=8), nullable=False),
        sa.Column("run_at", sa.Float(), nullable=True),
        sa.Column("cron", sa.String(length=64), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("occurrence", sa.Float(), nullable=True),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("finished_at", sa.Float(), nullable=True),
        sa.Column("cancelled_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["parent_id"], ["bc_notices.id"],
                                name=op.f("fk_bc_notices_parent_id_bc_notices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bc_notices")),
        sa.UniqueConstraint("parent_id", "occurrence", name="uq_bc_notices_run"),
    )
    op.create_index(op.f("ix_bc_notices_status"), "bc_notices", ["status"])
    op.create_table(
        "bc_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("group_name", sa.String(length=128), nullable=False),
        sa.Column("grid_code", sa.String(length=32), nullable=False),
        sa.Column("send_via", sa.String(length=16), nullable=False),
        sa.Column("send_target", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("parts_sent", sa.Integer(), nullable=False),
        sa.Column("parts_total", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.Float(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=True),
        sa.Column("sent_at", sa.Float(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["notice_id"], ["bc_notices.id"],
                                name=op.f("fk_bc_deliveries_notice_id_bc_notices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bc_deliveries")),
        sa.UniqueConstraint("notice_id", "platform", "external_id",
                            name="uq_bc_deliveries_group"),
    )
    op.create_index("ix_bc_deliveries_due", "bc_deliveries", ["state", "due_at"])
    op.create_index(op.f("ix_bc_deliveries_notice_id"), "bc_deliveries", ["notice_id"])
    op.create_table(
        "bc_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("worker", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["delivery_id"], ["bc_deliveries.id"],
                                name=op.f("fk_bc_attempts_delivery_id_bc_deliveries")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bc_attempts")),
    )
    op.create_index(op.f("ix_bc_attempts_delivery_id"), "bc_attempts", ["delivery_id"])
    op.create_table(
        "bc_pacing",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("tat", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_bc_pacing")),
    )
    op.create_table(
        "bc_workers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=128), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("heartbeat_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bc_workers")),
    )
    op.create_table(
        "bc_web_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("room", sa.String(length=128), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bc_web_messages")),
    )
    op.create_index(op.f("ix_bc_web_messages_room"), "bc_web_messages", ["room"])


def downgrade() -> None:
    op.drop_table("bc_web_messages")
    op.drop_table("bc_workers")
    op.drop_table("bc_pacing")
    op.drop_table("bc_attempts")
    op.drop_table("bc_deliveries")
    op.drop_table("bc_notices")

"""Statistics: turns (the fact table), cursors, the grid read model, broker events.

Revision ID: i0001
Revises:
Create Date: 2026-12-10 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "i0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "in_turns",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sender_key", sa.String(length=16), nullable=False),
        sa.Column("asker_key", sa.String(length=16), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("group_id", sa.String(length=128), nullable=True),
        sa.Column("grid_code", sa.String(length=32), nullable=True),
        sa.Column("street_code", sa.String(length=32), nullable=True),
        sa.Column("topic", sa.String(length=32), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("fallback", sa.Integer(), nullable=False),
        sa.Column("handoff", sa.Integer(), nullable=False),
        sa.Column("replied", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("attention", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_in_turns")),
        sa.UniqueConstraint("source", "event_id", name="uq_in_turns_event"),
    )
    with op.batch_alter_table("in_turns", schema=None) as batch_op:
        batch_op.create_index("ix_in_turns_day", ["day", "topic", "platform", "street_code",
                                                  "grid_code", "answered", "fallback",
                                                  "handoff", "asker_key"], unique=False)
        batch_op.create_index("ix_in_turns_grid_day", ["grid_code", "day", "asker_key", "answered",
                                                       "fallback", "handoff"], unique=False)
        batch_op.create_index("ix_in_turns_street_day", ["street_code", "day", "asker_key",
                                                         "answered", "fallback", "handoff"],
                              unique=False)
        batch_op.create_index("ix_in_turns_sender", ["sender_key", "id"], unique=False)
        batch_op.create_index("ix_in_turns_queue", ["attention", "id"], unique=False)
        batch_op.create_index("ix_in_turns_grid_queue", ["grid_code", "attention", "id"],
                              unique=False)

    op.create_table(
        "in_cursors",
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("gap_id", sa.Integer(), nullable=True),
        sa.Column("gap_seen_at", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_in_cursors")),
    )
    op.create_table(
        "in_grids",
        sa.Column("grid_code", sa.String(length=32), nullable=False),
        sa.Column("grid_name", sa.String(length=128), nullable=False),
        sa.Column("community_code", sa.String(length=32), nullable=False),
        sa.Column("community_name", sa.String(length=128), nullable=False),
        sa.Column("street_code", sa.String(length=32), nullable=False),
        sa.Column("street_name", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("grid_code", name=op.f("pk_in_grids")),
    )
    with op.batch_alter_table("in_grids", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_in_grids_street_code"), ["street_code"],
                              unique=False)
    op.create_table(
        "in_broker_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sender_id", sa.String(length=255), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_in_broker_events")),
        sa.UniqueConstraint("digest", name=op.f("uq_in_broker_events_digest")),
    )


def downgrade() -> None:
    op.drop_table("in_broker_events")
    with op.batch_alter_table("in_grids", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_in_grids_street_code"))
    op.drop_table("in_grids")
    op.drop_table("in_cursors")
    with op.batch_alter_table("in_turns", schema=None) as batch_op:
        for name in ("ix_in_turns_grid_queue", "ix_in_turns_queue", "ix_in_turns_sender",
                     "ix_in_turns_street_day", "ix_in_turns_grid_day", "ix_in_turns_day"):
            batch_op.drop_index(name)
    op.drop_table("in_turns")

"""Tickets: tickets, their events, timers (reminders, escalations) and outgoing messages.

Revision ID: t0001
Revises:
Create Date: 2026-12-01 11:45:46.721569
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "t0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("tk_tickets",
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("question", sa.Text(), nullable=False),
    sa.Column("turns", sa.JSON(), nullable=False),
    sa.Column("topic", sa.String(length=32), nullable=False),
    sa.Column("kind", sa.String(length=16), nullable=False),
    sa.Column("status", sa.String(length=16), nullable=False),
    sa.Column("asker_platform", sa.String(length=16), nullable=False),
    sa.Column("asker_id", sa.String(length=128), nullable=False),
    sa.Column("asker_name", sa.String(length=64), nullable=False),
    sa.Column("group_id", sa.String(length=128), nullable=True),
    sa.Column("grid_code", sa.String(length=32), nullable=True),
    sa.Column("relayed_by", sa.String(length=160), nullable=True),
    sa.Column("relayed_name", sa.String(length=64), nullable=True),
    sa.Column("resident", sa.String(length=64), nullable=False),
    sa.Column("assignee_platform", sa.String(length=16), nullable=True),
    sa.Column("assignee_id", sa.String(length=128), nullable=True),
    sa.Column("assignee_name", sa.String(length=64), nullable=True),
    sa.Column("office_code", sa.String(length=32), nullable=True),
    sa.Column("created_at", sa.Float(), nullable=False),
    sa.Column("clock_started_at", sa.Float(), nullable=False),
    sa.Column("respond_by", sa.Float(), nullable=False),
    sa.Column("resolve_by", sa.Float(), nullable=False),
    sa.Column("flagged", sa.Boolean(), nullable=False),
    sa.Column("responded_at", sa.Float(), nullable=True),
    sa.Column("answer", sa.Text(), nullable=True),
    sa.Column("answered_at", sa.Float(), nullable=True),
    sa.Column("closed_at", sa.Float(), nullable=True),
    sa.Column("rating", sa.String(length=16), nullable=True),
    sa.Column("reopened", sa.Boolean(), nullable=False),
    sa.Column("escalation", sa.Integer(), nullable=False),
    sa.Column("generation", sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_tk_tickets"))
    )
    with op.batch_alter_table("tk_tickets", schema=None) as batch_op:
        batch_op.create_index("ix_tk_tickets_asker", ["asker_platform", "asker_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tk_tickets_grid_code"), ["grid_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_tk_tickets_status"), ["status"], unique=False)

    op.create_table("tk_events",
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("ticket_id", sa.Integer(), nullable=False),
    sa.Column("kind", sa.String(length=16), nullable=False),
    sa.Column("at", sa.Float(), nullable=False),
    sa.Column("actor", sa.String(length=160), nullable=False),
    sa.Column("note", sa.Text(), nullable=False),
    sa.Column("office_code", sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(["ticket_id"], ["tk_tickets.id"], name=op.f("fk_tk_events_ticket_id_tk_tickets")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_tk_events"))
    )
    with op.batch_alter_table("tk_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tk_events_ticket_id"), ["ticket_id"], unique=False)

    op.create_table("tk_messages",
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("ticket_id", sa.Integer(), nullable=False),
    sa.Column("platform", sa.String(length=16), nullable=False),
    sa.Column("group_id", sa.String(length=128), nullable=True),
    sa.Column("user_id", sa.String(length=128), nullable=True),
    sa.Column("mention_id", sa.String(length=128), nullable=True),
    sa.Column("mention_name", sa.String(length=64), nullable=True),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("state", sa.String(length=16), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("due_at", sa.Float(), nullable=False),
    sa.Column("created_at", sa.Float(), nullable=False),
    sa.Column("sent_at", sa.Float(), nullable=True),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("platform_message_id", sa.String(length=128), nullable=True),
    sa.ForeignKeyConstraint(["ticket_id"], ["tk_tickets.id"], name=op.f("fk_tk_messages_ticket_id_tk_tickets")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_tk_messages"))
    )
    with op.batch_alter_table("tk_messages", schema=None) as batch_op:
        batch_op.create_index("ix_tk_messages_platform_id", ["platform", "platform_message_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_tk_messages_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_tk_messages_ticket_id"), ["ticket_id"], unique=False)

    op.create_table("tk_timers",
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("ticket_id", sa.Integer(), nullable=False),
    sa.Column("kind", sa.String(length=16), nullable=False),
    sa.Column("level", sa.Integer(), nullable=False),
    sa.Column("due_at", sa.Float(), nullable=False),
    sa.Column("generation", sa.Integer(), nullable=False),
    sa.Column("claimed_by", sa.String(length=64), nullable=True),
    sa.Column("lease_until", sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(["ticket_id"], ["tk_tickets.id"], name=op.f("fk_tk_timers_ticket_id_tk_tickets")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_tk_timers"))
    )
    with op.batch_alter_table("tk_timers", schema=None) as batch_op:
        batch_op.create_index("ix_tk_timers_due", ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_tk_timers_ticket_id"), ["ticket_id"], unique=False)



def downgrade() -> None:
    with op.batch_alter_table("tk_timers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tk_timers_ticket_id"))
        batch_op.drop_index("ix_tk_timers_due")

    op.drop_table("tk_timers")
    with op.batch_alter_table("tk_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tk_messages_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_tk_messages_state"))
        batch_op.drop_index("ix_tk_messages_platform_id")

    op.drop_table("tk_messages")
    with op.batch_alter_table("tk_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tk_events_ticket_id"))

    op.drop_table("tk_events")
    with op.batch_alter_table("tk_tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tk_tickets_status"))
        batch_op.drop_index(batch_op.f("ix_tk_tickets_grid_code"))
        batch_op.drop_index("ix_tk_tickets_asker")

    op.drop_table("tk_tickets")

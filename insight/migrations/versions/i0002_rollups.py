"""Statistics: daily and monthly rollups of the turns, distinct askers per day, month
and year, an index of the turns by asker; backfilled from the turns.

Revision ID: i0002
Revises: i0001
Create Date: 2026-12-20 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from insight.rollup import rebuild_sql

revision = "i0002"
down_revision = "i0001"
branch_labels = None
depends_on = None

COUNTS = [sa.Column(name, sa.Integer(), nullable=False)
          for name in ("questions", "answered", "fallbacks", "handoffs")]


def upgrade() -> None:
    op.create_table(
        "in_rollup_places",
        sa.Column("span", sa.String(length=1), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("grid_code", sa.String(length=32), nullable=False),
        sa.Column("street_code", sa.String(length=32), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        *[c.copy() for c in COUNTS],
        sa.PrimaryKeyConstraint("span", "start", "grid_code", "street_code", "platform",
                                name=op.f("pk_in_rollup_places")),
    )
    op.create_index("ix_in_rollup_places_grid", "in_rollup_places",
                    ["grid_code", "span", "start"])
    op.create_index("ix_in_rollup_places_street", "in_rollup_places",
                    ["street_code", "span", "start"])
    op.create_table(
        "in_rollup_topics",
        sa.Column("span", sa.String(length=1), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("street_code", sa.String(length=32), nullable=False),
        sa.Column("topic", sa.String(length=32), nullable=False),
        *[c.copy() for c in COUNTS],
        sa.PrimaryKeyConstraint("span", "start", "street_code", "topic",
                                name=op.f("pk_in_rollup_topics")),
    )
    op.create_table(
        "in_askers",
        sa.Column("span", sa.String(length=1), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("askers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("span", "start", "kind", "key", name=op.f("pk_in_askers")),
    )
    op.create_index("ix_in_turns_asker", "in_turns",
                    ["asker_key", "day", "street_code", "grid_code", "platform", "topic"])
    for statement in rebuild_sql(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    op.drop_index("ix_in_turns_asker", table_name="in_turns")
    op.drop_table("in_askers")
    op.drop_table("in_rollup_topics")
    op.drop_index("ix_in_rollup_places_street", table_name="in_rollup_places")
    op.drop_index("ix_in_rollup_places_grid", table_name="in_rollup_places")
    op.drop_table("in_rollup_places")

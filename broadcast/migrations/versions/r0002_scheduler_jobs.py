"""APScheduler's job table, created here so that dispatcher processes starting at
the same moment never race to create it (APScheduler would CREATE TABLE itself).
Columns as apscheduler.jobstores.sqlalchemy.SQLAlchemyJobStore (3.9) defines them.

Revision ID: b0002
Revises: b0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b0002"
down_revision = "b0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bc_scheduler_jobs",
        sa.Column("id", sa.Unicode(length=191), nullable=False),
        sa.Column("next_run_time", sa.Float(precision=25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bc_scheduler_jobs")),
    )
    op.create_index(op.f("ix_bc_scheduler_jobs_next_run_time"), "bc_scheduler_jobs",
                    ["next_run_time"])


def downgrade() -> None:
    op.drop_table("bc_scheduler_jobs")

"""Staff console: accounts, sessions, login failures, audit log, notice scopes.

Revision ID: c0001
Revises:
Create Date: 2026-12-10 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("cs_accounts",
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("username", sa.String(length=64), nullable=False),
    sa.Column("display_name", sa.String(length=64), nullable=False),
    sa.Column("role", sa.String(length=16), nullable=False),
    sa.Column("street_code", sa.String(length=32), nullable=True),
    sa.Column("coordinator_code", sa.String(length=32), nullable=True),
    sa.Column("password_hash", sa.String(length=256), nullable=False),
    sa.Column("must_change_password", sa.Boolean(), nullable=False),
    sa.Column("disabled", sa.Boolean(), nullable=False),
    sa.Column("created_at", sa.Float(), nullable=False),
    sa.Column("password_changed_at", sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_cs_accounts")),
    sa.UniqueConstraint("username", name=op.f("uq_cs_accounts_username"))
    )
    op.create_table("cs_audit",
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("at", sa.Float(), nullable=False),
    sa.Column("username", sa.String(length=64), nullable=False),
    sa.Column("action", sa.String(length=32), nullable=False),
    sa.Column("target", sa.String(length=128), nullable=False),
    sa.Column("detail", sa.Text(), nullable=False),
    sa.Column("address", sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_cs_audit"))
    )
    op.create_index(op.f("ix_cs_audit_at"), "cs_audit", ["at"], unique=False)
    op.create_table("cs_login_failures",
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("key", sa.String(length=160), nullable=False),
    sa.Column("at", sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_cs_login_failures"))
    )
    op.create_index("ix_cs_login_failures_key_at", "cs_login_failures", ["key", "at"], unique=False)
    op.create_table("cs_notices",
    sa.Column("notice_id", sa.Integer(), nullable=False),
    sa.Column("username", sa.String(length=64), nullable=False),
    sa.Column("street_code", sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint("notice_id", name=op.f("pk_cs_notices"))
    )
    op.create_index(op.f("ix_cs_notices_street_code"), "cs_notices", ["street_code"], unique=False)
    op.create_table("cs_sessions",
    sa.Column("token_hash", sa.String(length=64), nullable=False),
    sa.Column("account_id", sa.Integer(), nullable=False),
    sa.Column("csrf_token", sa.String(length=64), nullable=False),
    sa.Column("created_at", sa.Float(), nullable=False),
    sa.Column("last_seen", sa.Float(), nullable=False),
    sa.Column("address", sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(["account_id"], ["cs_accounts.id"], name=op.f("fk_cs_sessions_account_id_cs_accounts"), ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_cs_sessions"))
    )
    op.create_index(op.f("ix_cs_sessions_account_id"), "cs_sessions", ["account_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_cs_sessions_account_id"), table_name="cs_sessions")
    op.drop_table("cs_sessions")
    op.drop_index(op.f("ix_cs_notices_street_code"), table_name="cs_notices")
    op.drop_table("cs_notices")
    op.drop_index("ix_cs_login_failures_key_at", table_name="cs_login_failures")
    op.drop_table("cs_login_failures")
    op.drop_index(op.f("ix_cs_audit_at"), table_name="cs_audit")
    op.drop_table("cs_audit")
    op.drop_table("cs_accounts")

"""Tables of the staff console (prefix `cs_`), created by the migrations in
`console/migrations`. Times are epoch seconds (float), as in the other packages.

- `cs_accounts`: who may log in: role, the street (street staff) or the grid
  coordinator of the directory (coordinators) they are scoped to, the argon2 hash;
- `cs_sessions`: logged-in browsers, keyed by the SHA-256 of the cookie's token (the
  token itself is never stored), with the CSRF token of the session;
- `cs_login_failures`: failed logins per account and per address (rate limit);
- `cs_audit`: who did what (sent a notice, answered a ticket, imported a file …);
- `cs_notices`: which console scope created a notice (street staff see their own).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Column, Float, ForeignKey, Index, Integer, String, Text

from core.db import declarative_base

Base: Any = declarative_base()
metadata = Base.metadata


class AccountRow(Base):
    __tablename__ = "cs_accounts"
    id = Column(Integer, primary_key=True, autoincrement=True)
    username = Column(String(64), nullable=False, unique=True)
    display_name = Column(String(64), nullable=False)
    role = Column(String(16), nullable=False)               # admin, staff, coordinator
    street_code = Column(String(32), nullable=True)          # street staff
    coordinator_code = Column(String(32), nullable=True)     # a coordinator of the directory
    password_hash = Column(String(256), nullable=False)
    must_change_password = Column(Boolean, nullable=False, default=False)
    disabled = Column(Boolean, nullable=False, default=False)
    created_at = Column(Float, nullable=False)
    password_changed_at = Column(Float, nullable=False)


class SessionRow(Base):
    __tablename__ = "cs_sessions"
    token_hash = Column(String(64), primary_key=True)
    account_id = Column(Integer, ForeignKey("cs_accounts.id", ondelete="CASCADE"),
                        nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(Float, nullable=False)
    last_seen = Column(Float, nullable=False)
    address = Column(String(64), nullable=False, default="")


class LoginFailureRow(Base):
    __tablename__ = "cs_login_failures"
    id = Column(Integer, primary_key=True, autoincrement=True)
    key = Column(String(160), nullable=False)     # "account:<name>" or "address:<ip>"
    at = Column(Float, nullable=False)
    __table_args__ = (Index("ix_cs_login_failures_key_at", "key", "at"),)


class AuditRow(Base):
    __tablename__ = "cs_audit"
    id = Column(Integer, primary_key=True, autoincrement=True)
    at = Column(Float, nullable=False, index=True)
    username = Column(String(64), nullable=False)
    action = Column(String(32), nullable=False)
    target = Column(String(128), nullable=False, default="")
    detail = Column(Text, nullable=False, default="")
    address = Column(String(64), nullable=False, default="")


class NoticeScopeRow(Base):
    __tablename__ = "cs_notices"
    notice_id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False)
    street_code = Column(String(32), nullable=True, index=True)   # None: district level

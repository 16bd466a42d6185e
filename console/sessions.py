"""Logged-in sessions (server side) and the rate limit of logins. No web framework.

A session is a random token in an HttpOnly cookie; the database keeps only its
SHA-256, with the session's CSRF token and when it was last used. A session unused
for `idle` seconds, or older than `lifetime`, is over. `last_seen` is written at most
every `touch_every` seconds, so reading a page does not always write.

Failed logins are counted per account and per client address within `window`
seconds: more than `per_account` (or `per_address`) and further tries are refused
until the oldest counted failure leaves the window, whatever the password.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from console.accounts import Account, account_of
from console.tables import AccountRow, LoginFailureRow, SessionRow


@dataclass(frozen=True)
class SessionPolicy:
    idle: float = 30 * 60          # seconds without a request
    lifetime: float = 12 * 3600    # seconds since login, whatever the activity
    touch_every: float = 60.0
    window: float = 15 * 60        # login failures counted over this many seconds
    per_account: int = 5
    per_address: int = 20


@dataclass(frozen=True)
class LiveSession:
    account: Account
    csrf_token: str
    token_hash: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "backslashreplace")).hexdigest()


class SessionStore:
    def __init__(self, engine: Engine, policy: SessionPolicy | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.policy = policy or SessionPolicy()
        self.clock = clock

    def _session(self) -> Session:
        return Session(self.engine, future=True, expire_on_commit=False)

    def open(self, account: Account, address: str) -> tuple[str, str]:
        """A new session for `account`; returns (cookie token, CSRF token)."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.clock()
        with self._session() as session, session.begin():
            session.add(SessionRow(token_hash=token_hash(token), account_id=account.id,
                                   csrf_token=csrf, created_at=now, last_seen=now,
                                   address=address[:64]))
            # sessions of anybody that are over: cleaned up on the way
            session.execute(delete(SessionRow).where(
                (SessionRow.last_seen < now - self.policy.idle)
                | (SessionRow.created_at < now - self.policy.lifetime)))
        return token, csrf

    def get(self, token: str) -> LiveSession | None:
        """The live session of a cookie's token (touched), or None."""
        if not token or len(token) > 128:
            return None
        digest = token_hash(token)
        now = self.clock()
        with self._session() as session, session.begin():
            found = session.execute(select(SessionRow, AccountRow).join(
                AccountRow, SessionRow.account_id == AccountRow.id).where(
                SessionRow.token_hash == digest)).first()
            if found is None:
                return None
            row, account = found
            expired = (now - row.last_seen > self.policy.idle
                       or now - row.created_at > self.policy.lifetime)
            if expired or account.disabled:
                session.delete(row)
                return None
            if now - row.last_seen >= self.policy.touch_every:
                row.last_seen = now
            return LiveSession(account_of(account), row.csrf_token, digest)

    def close(self, token: str) -> None:
        with self._session() as session, session.begin():
            session.execute(delete(SessionRow).where(SessionRow.token_hash == token_hash(token)))

    # --- the rate limit of logins -----------------------------------------------------
    def _keys(self, username: str, address: str) -> tuple[str, str]:
        return f"account:{username.strip().lower()[:64]}", f"address:{address[:64]}"

    def locked_for(self, username: str, address: str) -> float:
        """Seconds until another login may be tried (0: now)."""
        now, policy = self.clock(), self.policy
        since = now - policy.window
        waits = [0.0]
        with self._session() as session:
            for key, limit in zip(self._keys(username, address),
                                  (policy.per_account, policy.per_address), strict=True):
                count, oldest = session.execute(
                    select(func.count(), func.min(LoginFailureRow.at)).where(
                        LoginFailureRow.key == key, LoginFailureRow.at > since)).one()
                if count >= limit:
                    # the failure that must leave the window before another try
                    cutoff = session.execute(
                        select(LoginFailureRow.at).where(LoginFailureRow.key == key,
                                                         LoginFailureRow.at > since)
                        .order_by(LoginFailureRow.at.desc()).offset(limit - 1).limit(1)
                    ).scalar() or oldest
                    waits.append(cutoff + policy.window - now)
        return max(waits)

    def failed(self, username: str, address: str) -> None:
        now = self.clock()
        with self._session() as session, session.begin():
            for key in self._keys(username, address):
                session.add(LoginFailureRow(key=key, at=now))
            session.execute(delete(LoginFailureRow).where(
                LoginFailureRow.at < now - self.policy.window))

    def succeeded(self, username: str) -> None:
        """A right password clears the account's failures (not the address's)."""
        key = self._keys(username, "")[0]
        with self._session() as session, session.begin():
            session.execute(delete(LoginFailureRow).where(LoginFailureRow.key == key))


def minutes(seconds: float) -> int:
    return max(1, math.ceil(seconds / 60))

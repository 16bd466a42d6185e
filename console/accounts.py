"""Console accounts: who may log in, with which role and scope, and their argon2
password hashes (`argon2-cffi`, its default parameters, rehashed on login when they
change). Used by the console's login and by `cloud-doctor users`. No web framework.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from console.permissions import Perm, Profile, Role, allowed
from console.tables import AccountRow, SessionRow

MIN_PASSWORD = 10
MAX_PASSWORD = 256
USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{2,32}$")
DEMO_ADMIN = "admin"

_hasher = PasswordHasher()
# verified against when the account does not exist, so that the time taken does not
# tell which user names exist
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(Exception):
    """A problem with an account; the message is Chinese."""


class AccountNotFound(AccountError):
    def __init__(self, username: str) -> None:
        super().__init__(f"没有这个账号：{username[:32]}")


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    display_name: str
    role: Role
    street_code: str | None
    coordinator_code: str | None
    must_change_password: bool
    disabled: bool

    @property
    def profile(self) -> Profile:
        if self.role is Role.ADMIN:
            return Profile.ADMIN
        if self.role is Role.COORDINATOR:
            return Profile.COORDINATOR
        return Profile.STREET_STAFF if self.street_code else Profile.DISTRICT_STAFF

    def may(self, perm: Perm) -> bool:
        return allowed(self.profile, perm)


def account_of(row: AccountRow) -> Account:
    return Account(row.id, row.username, row.display_name, Role(row.role), row.street_code,
                   row.coordinator_code, bool(row.must_change_password), bool(row.disabled))


def check_password(password: str, username: str = "") -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"密码至少 {MIN_PASSWORD} 个字符")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"密码不能超过 {MAX_PASSWORD} 个字符")
    if username and password.lower() == username.lower():
        raise AccountError("密码不能与账号相同")
    if len(set(password)) < 4:
        raise AccountError("密码太简单，请混用字母、数字和符号")


def new_password() -> str:
    """A one-time password: 16 characters of URL-safe randomness."""
    return secrets.token_urlsafe(12)


class AccountStore:
    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.clock = clock

    def session(self) -> Session:
        return Session(self.engine, future=True, expire_on_commit=False)

    def count(self) -> int:
        with self.session() as session:
            return int(session.execute(select(func.count()).select_from(AccountRow)).scalar()
                       or 0)

    def add(self, username: str, password: str, *, role: Role, display_name: str = "",
            street_code: str | None = None, coordinator_code: str | None = None,
            must_change: bool = False) -> Account:
        username = username.strip()
        if not USERNAME.match(username):
            raise AccountError("账号只能用 2–32 个字母、数字、下划线、点或减号")
        if role is Role.COORDINATOR and not coordinator_code:
            raise AccountError("网格员账号需要网格员编码（--coordinator），用来确定他负责的网格")
        if role is not Role.COORDINATOR and coordinator_code:
            raise AccountError("只有网格员账号可以指定网格员编码")
        if role is not Role.STAFF and street_code:
            raise AccountError("只有工作人员账号可以指定街道（--street）")
        display_name = (display_name or username).strip()[:64]
        check_password(password, username)
        now = self.clock()
        row = AccountRow(username=username, display_name=display_name, role=role.value,
                         street_code=street_code or None, coordinator_code=coordinator_code or None,
                         password_hash=_hasher.hash(password), must_change_password=must_change,
                         disabled=False, created_at=now, password_changed_at=now)
        try:
            with self.session() as session, session.begin():
                session.add(row)
        except IntegrityError:
            raise AccountError(f"账号 {username} 已存在") from None
        return account_of(row)

    def _row(self, session: Session, username: str) -> AccountRow:
        row = session.execute(select(AccountRow).where(AccountRow.username == username.strip())
                              ).scalar_one_or_none()
        if row is None:
            raise AccountNotFound(username)
        return row

    def get(self, username: str) -> Account:
        with self.session() as session:
            return account_of(self._row(session, username))

    def by_id(self, account_id: int) -> Account | None:
        with self.session() as session:
            row = session.get(AccountRow, account_id)
            return None if row is None else account_of(row)

    def all(self) -> list[Account]:
        with self.session() as session:
            return [account_of(r) for r in session.execute(
                select(AccountRow).order_by(AccountRow.username)).scalars()]

    def set_password(self, username: str, password: str, *, must_change: bool = False) -> Account:
        """A new password; every session of the account ends (log in again)."""
        with self.session() as session, session.begin():
            row = self._row(session, username)
            check_password(password, row.username)
            row.password_hash = _hasher.hash(password)
            row.must_change_password = must_change
            row.password_changed_at = self.clock()
            session.query(SessionRow).filter(SessionRow.account_id == row.id).delete()
            return account_of(row)

    def set_disabled(self, username: str, disabled: bool = True) -> Account:
        """Disable (or enable) an account; a disabled one's sessions end at once."""
        with self.session() as session, session.begin():
            row = self._row(session, username)
            row.disabled = disabled
            if disabled:
                session.query(SessionRow).filter(SessionRow.account_id == row.id).delete()
            return account_of(row)

    def authenticate(self, username: str, password: str) -> Account | None:
        """The account when the password is right and it is enabled, else None (the same
        time taken whether or not the account exists)."""
        if len(password) > MAX_PASSWORD:
            return None
        with self.session() as session, session.begin():
            row = session.execute(select(AccountRow).where(
                AccountRow.username == username.strip())).scalar_one_or_none()
            try:
                _hasher.verify(row.password_hash if row is not None else _DUMMY_HASH, password)
            except (VerificationError, InvalidHashError):
                return None
            if row is None or row.disabled:
                return None
            if _hasher.check_needs_rehash(row.password_hash):
                row.password_hash = _hasher.hash(password)
            return account_of(row)

    def verify(self, account_id: int, password: str) -> bool:
        with self.session() as session:
            row = session.get(AccountRow, account_id)
            if row is None:
                return False
            try:
                return _hasher.verify(row.password_hash, password)
            except (VerificationError, InvalidHashError):
                return False

    def ensure_demo_admin(self) -> str | None:
        """On an empty table: an admin `admin` with a one-time password (returned, to be
        printed once; it must be changed at the first login). None when accounts exist."""
        if self.count():
            return None
        password = new_password()
        try:
            self.add(DEMO_ADMIN, password, role=Role.ADMIN, display_name="演示管理员",
                     must_change=True)
        except AccountError:   # another process created it first
            return None
        return password

"""Accounts (argon2 hashes, rules for passwords and roles), sessions (idle and
absolute timeouts) and the login rate limit, on a throw-away SQLite database with a
controlled clock; the permission table; the navigation registry; upload names."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web

from console import db as console_db
from console import nav, uploads
from console.accounts import AccountError, AccountStore
from console.permissions import PERMISSIONS, Perm, Profile, Role, allowed
from console.sessions import SessionPolicy, SessionStore
from console.web import safe_next
from core.db import create


class Clock:
    def __init__(self) -> None:
        self.now = 1_780_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def stores(tmp_path: Path) -> tuple[AccountStore, SessionStore, Clock]:
    engine = create(f"sqlite:///{tmp_path / 'c.db'}")
    console_db.upgrade(engine)
    clock = Clock()
    policy = SessionPolicy(idle=600, lifetime=3600, touch_every=60, window=900, per_account=3,
                           per_address=5)
    return AccountStore(engine, clock), SessionStore(engine, policy, clock), clock


def test_passwords_are_argon2_and_checked(stores: tuple[AccountStore, SessionStore, Clock]) -> None:
    accounts, _, _ = stores
    accounts.add("li", "a-good-password", role=Role.STAFF, display_name="李干事")
    assert accounts.authenticate("li", "a-good-password") is not None
    assert accounts.authenticate("li", "a-wrong-password") is None
    assert accounts.authenticate("nobody", "a-good-password") is None
    for bad, reason in (("short", "至少 10 个字符"), ("aaaaaaaaaaaa", "太简单"),
                        ("zhangsan01", "不能与账号相同")):
        with pytest.raises(AccountError, match=reason):
            accounts.add("zhangsan01", bad, role=Role.STAFF)
    with pytest.raises(AccountError, match="已存在"):
        accounts.add("li", "another-password", role=Role.STAFF)
    with pytest.raises(AccountError, match="网格员编码"):
        accounts.add("wang", "another-password", role=Role.COORDINATOR)
    with pytest.raises(AccountError, match="只能用"):
        accounts.add("王 五", "another-password", role=Role.STAFF)
    accounts.set_disabled("li")
    assert accounts.authenticate("li", "a-good-password") is None


def test_demo_admin_only_on_an_empty_table(stores: tuple[AccountStore, SessionStore, Clock]) -> None:
    accounts, _, _ = stores
    password = accounts.ensure_demo_admin()
    assert password is not None and len(password) >= 16
    admin = accounts.authenticate("admin", password)
    assert admin is not None and admin.must_change_password and admin.role is Role.ADMIN
    assert accounts.ensure_demo_admin() is None


def test_sessions_end_when_idle_or_too_old(stores: tuple[AccountStore, SessionStore, Clock]
                                           ) -> None:
    accounts, sessions, clock = stores
    account = accounts.add("li", "a-good-password", role=Role.STAFF)
    token, csrf = sessions.open(account, "127.0.0.1")
    live = sessions.get(token)
    assert live is not None and live.csrf_token == csrf and live.account.username == "li"
    assert sessions.get("not-a-token") is None
    for _ in range(6):                      # active every 9 minutes: alive for 54 minutes
        clock.now += 540
        assert sessions.get(token) is not None
    clock.now += 540                        # 63 minutes after login: over the lifetime
    assert sessions.get(token) is None
    token, _ = sessions.open(account, "127.0.0.1")
    clock.now += 601                        # idle too long
    assert sessions.get(token) is None
    token, _ = sessions.open(account, "127.0.0.1")
    accounts.set_password("li", "a-new-password-2")   # a new password ends every session
    assert sessions.get(token) is None


def test_login_rate_limit_per_account_and_address(
        stores: tuple[AccountStore, SessionStore, Clock]) -> None:
    _, sessions, clock = stores
    for _ in range(3):
        assert sessions.locked_for("li", "10.0.0.1") == 0
        sessions.failed("li", "10.0.0.1")
        clock.now += 10
    wait = sessions.locked_for("li", "10.0.0.2")   # the account, from anywhere
    assert 0 < wait <= 900
    assert sessions.locked_for("wang", "10.0.0.2") == 0
    for name in "abcd":
        sessions.failed(name, "10.0.0.9")
    assert sessions.locked_for("e", "10.0.0.9") == 0
    sessions.failed("e", "10.0.0.9")
    assert sessions.locked_for("f", "10.0.0.9") > 0   # 5 from this address, any accounts
    clock.now += 901
    assert sessions.locked_for("li", "10.0.0.1") == 0
    sessions.failed("li", "10.0.0.1")
    sessions.succeeded("li")
    assert sessions.locked_for("li", "10.0.0.3") == 0


def test_permission_table() -> None:
    assert all(allowed(p, Perm.PUBLIC) for p in Profile)
    assert all(allowed(p, Perm.LOGGED_IN) for p in Profile)
    assert not allowed(Profile.COORDINATOR, Perm.BROADCAST_SEND)
    assert not allowed(Profile.STREET_STAFF, Perm.GRIDS_IMPORT)
    assert allowed(Profile.DISTRICT_STAFF, Perm.GRIDS_IMPORT)
    assert not any(allowed(p, Perm.AUDIT_VIEW) for p in Profile if p is not Profile.ADMIN)
    assert set(PERMISSIONS) == set(Profile)


@pytest.mark.parametrize("target, expected", [
    ("/tickets?light=red", "/tickets?light=red"), (None, "/"), ("", "/"),
    ("//evil.example/x", "/"), ("https://evil.example", "/"), ("/\\evil", "/"),
    ("/api/notices", "/"), ("/login?next=/x", "/")])
def test_safe_next(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


def test_navigation_registry_shows_only_permitted_pages() -> None:
    from console.accounts import Account

    app = web.Application()
    nav.register(app, nav.NavItem("tickets", "工单", "/tickets", Perm.TICKETS_VIEW, 10))
    nav.register(app, nav.NavItem("knowledge", "知识库", "/knowledge", Perm.BROADCAST_SEND, 40))
    with pytest.raises(ValueError):
        nav.register(app, nav.NavItem("tickets", "工单", "/tickets", Perm.TICKETS_VIEW))
    coordinator = Account(1, "c", "c", Role.COORDINATOR, None, "P1", False, False)
    assert [i.key for i in nav.visible(app, coordinator)] == ["tickets"]
    assert nav.visible(app, None) == []


def test_upload_names() -> None:
    assert uploads.safe_name("C:\\Users\\li\\网格表.xlsx") == "网格表.xlsx"
    assert uploads.safe_name("../../etc/社区.csv") == "社区.csv"
    assert uploads.safe_name("%E7%A4%BE%E5%8C%BA.csv") == "社区.csv"
    with pytest.raises(uploads.UploadError):
        uploads.safe_name("evil.sh")

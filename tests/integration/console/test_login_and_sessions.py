"""Logging in and staying logged in: argon2 passwords, HttpOnly/SameSite (and Secure
over HTTPS) session cookies, CSRF on every state-changing request (the login form
included), the rate limit per account and per address, the one-time password that
must be changed, disabling an account, logging out, idle sessions."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.compose import open_engine
from console.accounts import AccountStore
from console.audit import AuditLog
from console.permissions import Role
from console.tables import AccountRow, SessionRow
from tests.integration.console.conftest import CSRF, PASSWORD, Desk

pytestmark = pytest.mark.asyncio(loop_scope="module")


def _store(desk: Desk) -> AccountStore:
    return AccountStore(open_engine(desk.settings))


async def test_login_sets_a_safe_cookie_and_stores_only_an_argon2_hash(desk: Desk) -> None:
    browser = await desk.browser()
    resp = await browser.login("district")
    assert resp.status == 303 and resp.headers["Location"] == "/"
    cookie = resp.headers["Set-Cookie"]
    assert "cd_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie                      # plain HTTP here
    token = resp.cookies["cd_session"].value
    with Session(open_engine(desk.settings), future=True) as session:
        stored = session.execute(select(AccountRow.password_hash).where(
            AccountRow.username == "district")).scalar_one()
        hashes = set(session.execute(select(SessionRow.token_hash)).scalars())
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert token not in hashes                          # only its SHA-256 is kept
    status, text, _ = await browser.get("/")
    assert status == 200 and "区总李干事" in text


async def test_cookie_is_secure_behind_an_https_proxy(desk: Desk) -> None:
    browser = await desk.browser()
    async with browser.client.get("/login") as page:
        token = CSRF.search(await page.text())
        assert "Secure" not in page.headers["Set-Cookie"]
    assert token is not None
    async with browser.client.post("/login", allow_redirects=False,
                                   headers={"X-Forwarded-Proto": "https"},
                                   data={"_csrf": token.group(1), "username": "admin",
                                         "password": PASSWORD}) as resp:
        assert resp.status == 303
        assert "Secure" in resp.headers["Set-Cookie"]


async def test_wrong_password_and_unknown_user_get_the_same_answer(desk: Desk) -> None:
    browser = await desk.browser()
    wrong = await browser.login("street", "not-the-password")
    nobody = await browser.login("nobody-here", "not-the-password")
    assert wrong.status == nobody.status == 401
    status, _, resp = await browser.get("/tickets")
    assert status == 303 and resp.headers["Location"] == "/login?next=/tickets"
    entries = AuditLog(open_engine(desk.settings)).latest(action="login_failed")
    assert {"street", "nobody-here"} <= {e.username for e in entries}


async def test_the_login_form_needs_its_csrf_token(desk: Desk) -> None:
    browser = await desk.browser()
    async with browser.client.post("/login", allow_redirects=False,
                                   data={"username": "admin", "password": PASSWORD}) as resp:
        assert resp.status == 403 and "登录页面已过期" in await resp.text()
        assert "cd_session" not in resp.cookies


async def test_logins_are_rate_limited_per_account(desk: Desk) -> None:
    _store(desk).add("limited", PASSWORD, role=Role.STAFF)
    browser = await desk.browser()
    for _ in range(5):
        assert (await browser.login("limited", "wrong-password-1")).status == 401
    # now even the right password is refused, with a Chinese reason
    resp = await browser.login("limited", PASSWORD)
    assert resp.status == 429
    async with browser.client.get("/") as page:
        assert "/login" in str(page.url)
    other = await desk.browser()
    assert (await other.login("admin")).status == 303   # other accounts are not affected


async def test_logins_are_rate_limited_per_address(desk: Desk) -> None:
    """Behind the reverse proxy on this machine, the address is the one it saw."""
    store = _store(desk)
    browser = await desk.browser()
    attacker = {"X-Forwarded-For": "203.0.113.7"}
    for i in range(50):                                 # the fixture's per_address
        await browser.login(f"ghost-{i}", "wrong-password-1", headers=attacker)
    store.add("innocent", PASSWORD, role=Role.STAFF)
    assert (await browser.login("innocent", PASSWORD, headers=attacker)).status == 429
    neighbour = await desk.browser()
    assert (await neighbour.login("innocent", PASSWORD,
                                  headers={"X-Forwarded-For": "203.0.113.8"})).status == 303


async def test_one_time_password_must_be_changed_first(desk: Desk) -> None:
    _store(desk).add("fresh", "one-time-pass-1", role=Role.STAFF, must_change=True)
    browser = await desk.browser()
    resp = await browser.login("fresh", "one-time-pass-1")
    assert resp.headers["Location"] == "/account/password"
    status, _, resp2 = await browser.get("/tickets")
    assert status == 303 and resp2.headers["Location"] == "/account/password"
    status, text, _ = await browser.get("/account/password")
    browser.csrf = CSRF.search(text).group(1)  # type: ignore[union-attr]
    status, text, _ = await browser.post("/account/password", {
        "old": "one-time-pass-1", "new": "short", "again": "short"})
    assert status == 400 and "至少 10 个字符" in text
    status, text, _ = await browser.post("/account/password", {
        "old": "one-time-pass-1", "new": "my-own-pass-42", "again": "my-own-pass-42"})
    assert status == 200 and "密码已修改" in text
    assert (await browser.get("/tickets"))[0] == 200
    assert not _store(desk).get("fresh").must_change_password


async def test_disabling_an_account_ends_its_sessions(desk: Desk) -> None:
    _store(desk).add("leaving", PASSWORD, role=Role.STAFF)
    browser = await desk.browser("leaving")
    assert (await browser.get("/tickets"))[0] == 200
    _store(desk).set_disabled("leaving")
    status, _, resp = await browser.get("/tickets")
    assert status == 303 and resp.headers["Location"].startswith("/login")
    assert (await browser.login("leaving")).status == 401


async def test_logout_needs_the_token_and_ends_the_session(desk: Desk) -> None:
    browser = await desk.browser("district")
    status, _, _ = await browser.post("/logout", {}, csrf=False)
    assert status == 403                                # a forged logout does nothing
    assert (await browser.get("/"))[0] == 200
    status, _, resp = await browser.post("/logout")
    assert status == 303 and resp.headers["Location"] == "/login"
    assert (await browser.get("/"))[0] == 303


async def test_idle_sessions_time_out(desk: Desk) -> None:
    app_console = desk.server.app
    from console.web import CONSOLE

    sessions = app_console[CONSOLE].sessions
    browser = await desk.browser("district")
    real = sessions.clock
    try:
        sessions.clock = lambda: real() + sessions.policy.idle + 1
        status, _, resp = await browser.get("/tickets")
        assert status == 303 and resp.headers["Location"].startswith("/login")
    finally:
        sessions.clock = real
    assert (await browser.get("/tickets"))[0] == 303    # the session is gone for good


async def test_a_forged_form_without_the_csrf_token_is_refused(desk: Desk) -> None:
    number = desk.ticket()
    before = desk.service.history(number)
    browser = await desk.browser("admin")
    for data in ({"text": "伪造的答复"}, {"text": "伪造的答复", "_csrf": "not-the-token"}):
        async with browser.client.post(f"/tickets/{number}/answer", data=data,
                                       allow_redirects=False) as resp:
            assert resp.status == 403
            assert "缺少安全令牌" in await resp.text()
    async with browser.client.post(f"/tickets/{number}/answer", allow_redirects=False,
                                   json={"text": "伪造的答复"}) as resp:
        assert resp.status == 403
    assert desk.service.history(number) == before
    assert desk.service.get(number).answer is None

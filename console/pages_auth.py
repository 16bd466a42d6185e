"""Login, logout, changing one's password, the home page and the audit log."""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web

from console import nav
from console.accounts import AccountError
from console.audit import ACTION_LABELS
from console.permissions import Perm
from console.routing import Routes
from console.sessions import minutes
from console.web import (
    CSRF_FIELD,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    account,
    audit,
    client_address,
    console_of,
    live,
    off_loop,
    redirect,
    render,
    safe_next,
    scope,
    served_over_https,
    set_session_cookie,
)

routes = Routes()
MAX_FIELD = 256


def _login_page(request: web.Request, *, error: str = "", username: str = "",
                status: int = 200) -> web.Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", {"error": error, "username": username,
                                              "login_csrf": token,
                                              "next": safe_next(request.query.get("next"))},
                      status=status)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="Strict", path="/login",
                        secure=served_over_https(request))
    return response


@routes.get("/login", Perm.PUBLIC)
async def login_form(request: web.Request) -> web.StreamResponse:
    return _login_page(request)


@routes.post("/login", Perm.PUBLIC)
async def login(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    form = await request.post()
    username = str(form.get("username", ""))[:MAX_FIELD].strip()
    password = str(form.get("password", ""))[:MAX_FIELD]
    given, expected = str(form.get(CSRF_FIELD, "")), request.cookies.get(LOGIN_COOKIE, "")
    if not given or not secrets.compare_digest(given, expected):
        return _login_page(request, error="登录页面已过期，请重新输入", username=username,
                           status=403)
    if not username or not password:
        return _login_page(request, error="请输入账号和密码", username=username, status=400)
    address = client_address(request)
    wait = await off_loop(console.sessions.locked_for, username, address)
    if wait > 0:
        return _login_page(request, username=username, status=429,
                           error=f"登录失败次数太多，请 {minutes(wait)} 分钟后再试")
    found = await off_loop(console.accounts.authenticate, username, password)
    if found is None:
        await off_loop(console.sessions.failed, username, address)
        await off_loop(console.audit.record, username, "login_failed", "", "", address)
        return _login_page(request, error="账号或密码不对，或账号已停用", username=username,
                           status=401)
    await off_loop(console.sessions.succeeded, username)
    token, _ = await off_loop(console.sessions.open, found, address)
    await off_loop(console.audit.record, found.username, "login", "", "", address)
    target = "/account/password" if found.must_change_password else safe_next(
        str(form.get("next", "")))
    response = redirect(target)
    set_session_cookie(request, response, token)
    response.del_cookie(LOGIN_COOKIE, path="/login")
    raise response


@routes.post("/logout", Perm.LOGGED_IN)
async def logout(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    await audit(request, "logout")
    await off_loop(console.sessions.close, request.cookies.get(SESSION_COOKIE, ""))
    response = redirect("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


@routes.get("/account/password", Perm.LOGGED_IN)
async def password_form(request: web.Request) -> web.StreamResponse:
    return render(request, "password.html", {"error": "", "done": False})


@routes.post("/account/password", Perm.LOGGED_IN)
async def change_password(request: web.Request) -> web.StreamResponse:
    console, me = console_of(request), account(request)
    form = await request.post()
    old = str(form.get("old", ""))[:MAX_FIELD]
    new, again = str(form.get("new", ""))[:MAX_FIELD + 1], str(form.get("again", ""))
    error = ""
    if not await off_loop(console.accounts.verify, me.id, old):
        error = "原密码不对"
    elif new != again:
        error = "两次输入的新密码不一样"
    elif new == old:
        error = "新密码不能与原密码相同"
    if not error:
        try:
            changed = await off_loop(console.accounts.set_password, me.username, new)
        except AccountError as exc:
            error = str(exc)
    if error:
        return render(request, "password.html", {"error": error, "done": False}, status=400)
    await audit(request, "password")
    # every session ended with the change: this browser gets a new one
    token, _ = await off_loop(console.sessions.open, changed, client_address(request))
    response = render(request, "password.html", {"error": "", "done": True})
    set_session_cookie(request, response, token)
    return response


@routes.get("/", Perm.LOGGED_IN)
async def home(request: web.Request) -> web.StreamResponse:
    from console.pages_tickets import light_counts

    me = account(request)
    context: dict[str, Any] = {"lights": None, "scope": await scope(request)}
    if me.may(Perm.TICKETS_VIEW):
        context["lights"] = {light.value: n for light, n in (await light_counts(request)).items()}
    return render(request, "home.html", context)


@routes.get("/audit", Perm.AUDIT_VIEW)
async def audit_log(request: web.Request) -> web.StreamResponse:
    action = request.query.get("action", "").strip()
    username = request.query.get("user", "").strip()[:64]
    entries = await off_loop(lambda: console_of(request).audit.latest(
        300, action=action if action in ACTION_LABELS else None, username=username or None))
    return render(request, "audit.html", {"entries": entries, "actions": ACTION_LABELS,
                                          "action": action, "user": username})


def setup(app: web.Application) -> None:
    routes.add_to(app)
    nav.register(app, nav.NavItem("audit", "审计日志", "/audit", Perm.AUDIT_VIEW, order=90))


__all__ = ["live", "setup"]

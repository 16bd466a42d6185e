"""The staff console's web layer: `setup(app, console)` mounts the pages on the staff
app (`bot.app.create_app`), next to the JSON API under /api, which keeps its bearer
token; everything else is the console, with its own login.

The guard middleware, in this order, for every console request:
1. the route's declared permission (`console.routing`); a route without one is refused;
2. the session from the HttpOnly cookie (idle and absolute timeouts, `SessionStore`);
   no session → 303 to /login?next=…;
3. an account whose password is one-time must change it before anything else;
4. the profile lacks the permission → 403;
5. every state-changing request (not GET/HEAD) carries the session's CSRF token, in
   the `X-CSRF-Token` header or the form's `_csrf` field (for a file upload, the
   form's first field) → otherwise 403, nothing changed.
Pages get security headers (CSP without inline scripts, no framing, no caching).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp.typedefs import Handler
from sqlalchemy.engine import Engine

from console import nav
from console.accounts import Account, AccountStore
from console.audit import AuditLog
from console.permissions import PROFILE_LABELS, Perm
from console.routing import mark_public, permissions_of
from console.scope import Scope, scope_of
from console.sessions import LiveSession, SessionStore
from console.staff_api import is_api
from grids.service import DirectoryService

logger = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
SESSION_COOKIE = "cd_session"
LOGIN_COOKIE = "cd_login"
CSRF_FIELD = "_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PASSWORD_PATHS = frozenset({"/account/password", "/logout"})
LIVE = "console.session"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
ERROR_TEXTS = {
    400: "请求有误", 403: "没有权限", 404: "页面不存在", 405: "不支持这种请求方法",
    413: "提交的内容太大", 429: "操作太频繁", 500: "服务器出错了",
}


@dataclass
class Console:
    """What the console's handlers use, built once per process (`bot.app`)."""

    engine: Engine
    accounts: AccountStore
    sessions: SessionStore
    audit: AuditLog
    directory: DirectoryService
    uploads: Path                       # spreadsheets between preview and import
    stopping: asyncio.Event = field(default_factory=asyncio.Event)   # ends live streams
    sse_interval: float = 0.5


CONSOLE = web.AppKey("console", Console)


# --- what handlers use ------------------------------------------------------------------
def console_of(request: web.Request) -> Console:
    return request.app[CONSOLE]


def live(request: web.Request) -> LiveSession:
    return request[LIVE]


def account(request: web.Request) -> Account:
    return live(request).account


async def off_loop(fn: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.to_thread(fn, *args)


async def scope(request: web.Request) -> Scope:
    if "console.scope" not in request:
        request["console.scope"] = await off_loop(scope_of, console_of(request).engine,
                                                  account(request))
    return request["console.scope"]


def client_address(request: web.Request) -> str:
    """The peer's address; behind a reverse proxy on this machine, the address it saw."""
    remote = request.remote or ""
    forwarded = request.headers.get("X-Forwarded-For", "")
    if forwarded and _loopback(remote):
        return forwarded.split(",")[-1].strip()[:64] or remote
    return remote


def served_over_https(request: web.Request) -> bool:
    if request.secure:
        return True
    return (_loopback(request.remote or "")
            and request.headers.get("X-Forwarded-Proto", "").lower() == "https")


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


async def audit(request: web.Request, action: str, target: str = "", detail: str = "") -> None:
    await off_loop(console_of(request).audit.record, account(request).username, action,
                   target, detail, client_address(request))


def render(request: web.Request, template: str, context: dict[str, Any] | None = None,
           status: int = 200) -> web.Response:
    return aiohttp_jinja2.render_template(template, request, {**_common(request), **(context or {})},
                                          status=status)


def redirect(location: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(location)


def error_page(request: web.Request, status: int, message: str = "") -> web.Response:
    title = ERROR_TEXTS.get(status, "出错了")
    return render(request, "error.html", {"status": status, "title": title,
                                          "message": message or title}, status=status)


def safe_next(target: str | None) -> str:
    """Where to go after login: a path of this site only (never //host or the API)."""
    if not target or not target.startswith("/") or target.startswith("//") \
            or "\\" in target or is_api_path(target) or target.startswith("/login"):
        return "/"
    return target


def is_api_path(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def set_session_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="Lax", path="/",
                        secure=served_over_https(request))


# --- the guard ----------------------------------------------------------------------------
async def _csrf_given(request: web.Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.content_type == "multipart/form-data":
        reader = await request.multipart()
        first = await reader.next()
        if first is None or getattr(first, "name", None) != CSRF_FIELD:
            return ""
        request["console.multipart"] = reader   # the handler reads on from here
        return (await first.read(decode=True)).decode("utf-8", "replace")[:128]  # type: ignore[union-attr]
    if request.content_type == "application/x-www-form-urlencoded":
        form = await request.post()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


def _same(a: str, b: str) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    if is_api(request):
        return await handler(request)
    try:
        return await _guarded(request, handler)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_page(request, exc.status, exc.text if exc.text and
                          not exc.text.startswith(f"{exc.status}:") else "")


async def _guarded(request: web.Request, handler: Handler) -> web.StreamResponse:
    route = request.match_info.route
    if request.match_info.http_exception is not None:
        raise request.match_info.http_exception
    perm = permissions_of(request.app).get(route)
    if perm is None:
        logger.error("Console route %s %s has no declared permission: refused",
                     request.method, request.path)
        raise web.HTTPForbidden(text="这个页面没有登记权限，已拒绝访问")
    if perm is Perm.PUBLIC:
        return await handler(request)
    found = await off_loop(console_of(request).sessions.get,
                           request.cookies.get(SESSION_COOKIE, ""))
    if found is None:
        target = request.path_qs if request.method == "GET" else request.path
        response = redirect(f"/login?next={quote(safe_next(target))}")
        if SESSION_COOKIE in request.cookies:
            response.del_cookie(SESSION_COOKIE, path="/")
        raise response
    request[LIVE] = found
    if found.account.must_change_password and request.path not in PASSWORD_PATHS:
        raise redirect("/account/password")
    if not found.account.may(perm):
        logger.info("Console: %s (%s) refused %s %s", found.account.username,
                    found.account.profile.value, request.method, request.path)
        raise web.HTTPForbidden(text=f"{PROFILE_LABELS[found.account.profile]}没有使用这个页面的权限")
    if request.method not in SAFE_METHODS and not _same(await _csrf_given(request),
                                                       found.csrf_token):
        logger.warning("Console: %s %s by %s without a valid CSRF token: refused",
                       request.method, request.path, found.account.username)
        raise web.HTTPForbidden(text="页面已过期或请求来源不明（缺少安全令牌），请刷新页面后重试")
    return await handler(request)


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    if is_api(request):
        return
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if not request.path.startswith("/static/"):
        headers.setdefault("Cache-Control", "no-store")


# --- templates ----------------------------------------------------------------------------
def _common(request: web.Request) -> dict[str, Any]:
    found: LiveSession | None = request.get(LIVE)
    who = found.account if found else None
    return {"me": who, "profile_label": PROFILE_LABELS[who.profile] if who else "",
            "csrf": found.csrf_token if found else "",
            "nav": nav.visible(request.app, who), "path": request.path}


def _filters(env: jinja2.Environment) -> None:
    from console import formats

    env.filters.update(formats.FILTERS)


def setup(app: web.Application, console: Console) -> None:
    """Mount the console on the staff app: templates, static files, middlewares, pages."""
    from console import pages_auth, pages_broadcast, pages_grids, pages_tickets

    app[CONSOLE] = console
    env = aiohttp_jinja2.setup(app, loader=jinja2.PackageLoader("console", "templates"),
                               autoescape=jinja2.select_autoescape(["html"]),
                               undefined=jinja2.StrictUndefined)
    _filters(env)
    static = app.router.add_static("/static/", PACKAGE_DIR / "static", name="console.static")
    mark_public(app, list(static))
    app.middlewares.append(guard)
    app.on_response_prepare.append(_security_headers)  # type: ignore[arg-type]
    app.on_shutdown.append(_stop_streams)  # type: ignore[arg-type]
    for module in (pages_auth, pages_tickets, pages_broadcast, pages_grids):
        module.setup(app)


async def _stop_streams(app: web.Application) -> None:
    app[CONSOLE].stopping.set()


Page = Callable[[web.Request], Awaitable[web.StreamResponse]]

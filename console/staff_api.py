"""The staff HTTP API of the broadcaster (JSON under /api), over `Broadcaster` and
its `Outbox`. The console and scripts use it; `bot.app.create_app` wires it.

Every route under /api except `GET /api/health` needs `Authorization: Bearer <token>`,
checked before anything of the request is read. Domain errors become 400 (404
for an unknown notice) with the domain's Chinese message; malformed input is
answered 400 with a message that says which field is wrong, never a 500.
The database work runs in worker threads so the event loop (and the dispatcher
on it) never waits for SQLite or PostgreSQL.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from broadcast.model import (
    BroadcastError,
    DeliveryState,
    NoticeDraft,
    NoticeNotFound,
    Schedule,
    Targets,
)
from broadcast.outbox import Outbox
from broadcast.records import AttemptView, DeliveryView
from broadcast.service import DEFAULT_TZ, Broadcaster, Running, parse_at

logger = logging.getLogger(__name__)
T = TypeVar("T")

RUNNING = web.AppKey("broadcast_running", Running)
STAFF_TOKEN = web.AppKey("staff_token", str)

MAX_BODY = 256 * 1024          # bytes of a request body (client_max_size)
MAX_ID = 2**31 - 1             # larger ids cannot exist (INTEGER columns)
MAX_NAME = 64                  # author / cancelled_by / cron / timezone columns
PUBLIC_PATHS = frozenset({"/api/health"})
API_PREFIX = "/api/"           # the rest of the staff app is the console (its own login)
NOTICE_FIELDS = ("title", "body", "body_format", "author", "to", "platforms", "at", "cron",
                 "timezone")
UNAUTHORIZED = "需要登录：请提供有效的访问令牌"
HTTP_MESSAGES = {
    404: "没有这个接口",
    405: "该接口不支持这种请求方法",
    413: f"请求内容过大（上限 {MAX_BODY // 1024} KB）",
}

routes = web.RouteTableDef()
_dumps = partial(json.dumps, ensure_ascii=False)


class BadRequest(Exception):
    """Input the API cannot use; the message (Chinese) says what is wrong."""


class NotFound(Exception):
    pass


def _json(data: object, status: int = 200, headers: Mapping[str, str] | None = None
          ) -> web.Response:
    return web.json_response(data, status=status, headers=headers, dumps=_dumps)


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
    return _json({"error": message}, status=status, headers=headers)


# --- middlewares ----------------------------------------------------------------------
def authorized(header: str, token: str) -> bool:
    """`Bearer <token>` (scheme case-insensitive), compared in constant time."""
    scheme, _, given = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    return hmac.compare_digest(given.strip().encode("utf-8", "backslashreplace"),
                               token.encode("utf-8"))


def is_api(request: web.Request) -> bool:
    return request.path.startswith(API_PREFIX) or request.path == API_PREFIX.rstrip("/")


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not is_api(request):   # the console answers its own errors, as pages
        return await handler(request)
    try:
        return await handler(request)
    except BadRequest as exc:
        return _error(400, str(exc))
    except (NoticeNotFound, NotFound) as exc:
        return _error(404, str(exc))
    except BroadcastError as exc:
        return _error(400, str(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return _error(exc.status, HTTP_MESSAGES.get(exc.status, exc.reason), allow)


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    if is_api(request) and request.path not in PUBLIC_PATHS and not authorized(
            request.headers.get("Authorization", ""), request.app[STAFF_TOKEN]):
        return _error(401, UNAUTHORIZED, {"WWW-Authenticate": 'Bearer realm="cloud-doctor"'})
    return await handler(request)


def middlewares() -> list[Middleware]:
    """Errors outermost, so a refused token is answered before the body is read."""
    return [errors, authenticate]


# --- reading the request --------------------------------------------------------------
def _query_int(request: web.Request, name: str, *, default: int, low: int = 0,
               high: int = MAX_ID) -> int:
    text = request.query.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f"参数 {name} 应是整数，收到“{text[:40]}”") from None
    if not low <= value <= high:
        raise BadRequest(f"参数 {name} 应在 {low} 到 {high} 之间，收到 {value}")
    return value


def _id(request: web.Request, key: str, what: str,
        missing: Callable[[int], Exception]) -> int:
    text = request.match_info[key]
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f"{what}应是正整数，收到“{text[:40]}”") from None
    if value < 1:
        raise BadRequest(f"{what}应是正整数，收到 {value}")
    if value > MAX_ID:  # no such row, and too large for the database's INTEGER
        raise missing(value)
    return value


def _notice_id(request: web.Request) -> int:
    return _id(request, "notice_id", "通知编号", NoticeNotFound)


def _delivery_missing(delivery_id: int) -> NotFound:
    return NotFound(f"找不到编号为 {delivery_id} 的发送记录")


async def _body(request: web.Request, *, optional: bool = False) -> dict[str, Any]:
    raw = await request.read()  # HTTPRequestEntityTooLarge over MAX_BODY
    if not raw.strip():
        if optional:
            return {}
        raise BadRequest("请求正文为空，应是 JSON 对象")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadRequest("请求正文不是 UTF-8 编码") from None
    except (ValueError, RecursionError) as exc:
        where = f"（第 {exc.lineno} 行第 {exc.colno} 列）" if isinstance(
            exc, json.JSONDecodeError) else ""
        raise BadRequest(f"请求正文不是有效的 JSON{where}") from None
    if not isinstance(data, dict):
        raise BadRequest("请求正文应是 JSON 对象")
    return data


def _text(data: Mapping[str, Any], key: str, what: str, *, default: str | None = None,
          max_len: int | None = None) -> str:
    value = data.get(key)
    if value is None:
        if default is None:
            raise BadRequest(f"缺少字段“{key}”（{what}）")
        return default
    if not isinstance(value, str):
        raise BadRequest(f"字段“{key}”（{what}）应是字符串")
    if "\x00" in value:
        raise BadRequest(f"字段“{key}”（{what}）不能包含空字符")
    if max_len is not None and len(value.strip()) > max_len:
        raise BadRequest(f"{what}不能超过 {max_len} 个字")
    return value


def _strings(data: Mapping[str, Any], key: str, what: str) -> list[str]:
    """A list of strings; a single string is taken as a one-item list."""
    value = data.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"字段“{key}”（{what}）应是字符串列表")
    if any("\x00" in v for v in value):
        raise BadRequest(f"字段“{key}”（{what}）不能包含空字符")
    return value


def _timezone(name: str) -> str:
    import pytz

    try:
        pytz.timezone(name)
    except (pytz.UnknownTimeZoneError, ValueError):
        raise BadRequest(f"未知的时区“{name[:40]}”，例如 Asia/Shanghai") from None
    return name


def draft_from_json(data: Mapping[str, Any]) -> NoticeDraft:
    """The JSON of `POST /api/notices` → a draft (not yet validated by the domain)."""
    unknown = sorted(set(data) - set(NOTICE_FIELDS))
    if unknown:
        raise BadRequest(f"不认识的字段：{'、'.join(unknown)}（可用：{'、'.join(NOTICE_FIELDS)}）")
    title = _text(data, "title", "通知标题")
    body = _text(data, "body", "通知正文")
    author = _text(data, "author", "发布人", max_len=MAX_NAME)
    body_format = _text(data, "body_format", "正文格式", default="text")
    specs = _strings(data, "to", "发送范围")
    platforms = _strings(data, "platforms", "平台")
    at = _text(data, "at", "定时发送时间", default="").strip()
    cron = _text(data, "cron", "周期", default="", max_len=MAX_NAME).strip()
    timezone = _timezone(_text(data, "timezone", "时区", default=DEFAULT_TZ, max_len=MAX_NAME))
    if at and cron:
        raise BadRequest("定时发送（at）和周期发送（cron）只能选一种")
    targets = Targets.parse(specs, [p.strip() for p in platforms if p.strip()])
    if at:
        try:
            when = parse_at(at, timezone)
        except OverflowError:
            raise BadRequest(f"时间“{at[:40]}”超出了可用的范围") from None
        schedule = Schedule("at", at=when, timezone=timezone)
    elif cron:
        schedule = Schedule("cron", cron=cron, timezone=timezone)
    else:
        schedule = Schedule(timezone=timezone)
    return NoticeDraft(title=title, body=body, author=author, targets=targets,
                       body_format=body_format, schedule=schedule)


# --- what the API answers -------------------------------------------------------------
def quoted(text: str) -> str:
    """A user-supplied name in a log line: quoted, with newlines and control characters
    escaped, so that it can never forge a line of its own."""
    return json.dumps(text, ensure_ascii=False)


def _broadcaster(request: web.Request) -> Broadcaster:
    return request.app[RUNNING].broadcaster


async def _off_loop(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(fn, *args)


def _deliveries(outbox: Outbox, notice_id: int, state: str | None, limit: int,
                offset: int) -> list[DeliveryView]:
    outbox.notice(notice_id)  # NoticeNotFound
    return outbox.deliveries(notice_id, state, limit, offset)


def _attempts(outbox: Outbox, delivery_id: int) -> list[AttemptView]:
    if outbox.delivery(delivery_id) is None:
        raise _delivery_missing(delivery_id)
    return outbox.attempts(delivery_id)


def _with_next_run(broadcaster: Broadcaster, notice_id: int) -> dict[str, Any]:
    data = broadcaster.report(notice_id).as_json()
    data["next_run"] = broadcaster.next_run(notice_id)
    return data


# --- routes ---------------------------------------------------------------------------
@routes.get("/api/health")
async def health(request: web.Request) -> web.Response:
    running = request.app.get(RUNNING)
    alive = running is not None and not running.task.done()
    return _json({"ok": alive, "dispatcher": "running" if alive else "stopped"},
                 status=200 if alive else 503)


@routes.get("/api/notices")
async def list_notices(request: web.Request) -> web.Response:
    limit = _query_int(request, "limit", default=50, low=1, high=500)
    reports = await _off_loop(_broadcaster(request).outbox.notices, limit)
    return _json({"notices": [r.as_json() for r in reports]})


@routes.post("/api/notices")
async def create_notice(request: web.Request) -> web.Response:
    draft = draft_from_json(await _body(request))
    broadcaster = _broadcaster(request)
    notice_id = await _off_loop(broadcaster.create, draft)
    logger.info("Notice %d created by %s via the staff API (%s, %s)", notice_id,
                quoted(draft.author.strip()), draft.schedule.kind, quoted(draft.targets.label()))
    data = await _off_loop(_with_next_run, broadcaster, notice_id)
    return _json(data, status=201, headers={"Location": f"/api/notices/{notice_id}"})


@routes.get("/api/notices/{notice_id}")
async def get_notice(request: web.Request) -> web.Response:
    notice_id = _notice_id(request)
    return _json(await _off_loop(_with_next_run, _broadcaster(request), notice_id))


@routes.get("/api/notices/{notice_id}/deliveries")
async def list_deliveries(request: web.Request) -> web.Response:
    notice_id = _notice_id(request)
    state = request.query.get("state") or None
    states = [s.value for s in DeliveryState]
    if state is not None and state not in states:
        raise BadRequest(f"参数 state 应为 {'、'.join(states)} 之一，收到“{state[:40]}”")
    limit = _query_int(request, "limit", default=100, low=1, high=5000)
    offset = _query_int(request, "offset", default=0)
    rows = await _off_loop(_deliveries, _broadcaster(request).outbox, notice_id, state,
                           limit, offset)
    return _json({"deliveries": [r.as_json() for r in rows]})


@routes.get("/api/deliveries/{delivery_id}/attempts")
async def list_attempts(request: web.Request) -> web.Response:
    delivery_id = _id(request, "delivery_id", "发送记录编号", _delivery_missing)
    rows = await _off_loop(_attempts, _broadcaster(request).outbox, delivery_id)
    return _json({"attempts": [r.as_json() for r in rows]})


@routes.post("/api/notices/{notice_id}/retry-failed")
async def retry_failed(request: web.Request) -> web.Response:
    notice_id = _notice_id(request)
    count = await _off_loop(_broadcaster(request).retry_failed, notice_id)
    logger.info("Notice %d: %d failed deliveries queued again", notice_id, count)
    return _json({"retried": count})


@routes.post("/api/notices/{notice_id}/cancel")
async def cancel(request: web.Request) -> web.Response:
    notice_id = _notice_id(request)
    data = await _body(request, optional=True)
    unknown = sorted(set(data) - {"by"})
    if unknown:
        raise BadRequest(f"不认识的字段：{'、'.join(unknown)}（可用：by）")
    by = _text(data, "by", "取消人", default="staff", max_len=MAX_NAME).strip() or "staff"
    count = await _off_loop(_broadcaster(request).cancel, notice_id, by)
    logger.info("Notice %d cancelled by %s (%d deliveries stopped)", notice_id, quoted(by), count)
    return _json({"cancelled": count})


def setup(app: web.Application) -> None:
    """Add the routes (the app's factory adds `middlewares()` and the keys)."""
    app.add_routes(routes)


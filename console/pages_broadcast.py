"""Broadcasts: the composer (targets from the street → community → grid tree with
the groups per platform, a preview of how the notice splits per platform, now / at a
time / on a schedule), the live progress of a notice (server-sent events from the
outbox that this process's dispatcher writes), retrying the failed and cancelling.
All through the process's `Broadcaster` (`console.staff_api.RUNNING`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy.orm import Session

from broadcast.formatting import render as render_messages
from broadcast.model import (
    BODY_FORMATS,
    MAX_BODY_CHARS,
    MAX_TITLE,
    BroadcastError,
    NoticeDraft,
    NoticeNotFound,
    NoticeStatus,
    Schedule,
    Targets,
)
from broadcast.records import NoticeReport
from broadcast.service import DEFAULT_TZ, Broadcaster, parse_at
from console import nav, notice_scopes
from console.formats import percent
from console.permissions import Perm
from console.routing import Routes
from console.scope import Scope
from console.staff_api import RUNNING
from console.web import account, audit, console_of, off_loop, redirect, render, scope
from core.platforms import PLATFORM_LABELS, PLATFORMS
from core.utf8 import nbytes
from grids.tree import Node, group_tree

logger = logging.getLogger(__name__)
routes = Routes()
MAX_DELIVERIES = 5000
HEARTBEAT = 15.0
SCHEDULES = {"now": "立即发送", "at": "定时发送", "cron": "周期发送"}


def _broadcaster(request: web.Request) -> Broadcaster:
    return request.app[RUNNING].broadcaster


async def _tree(request: web.Request, seen: Scope) -> list[Node]:
    def read() -> list[Node]:
        with Session(console_of(request).engine, future=True) as session:
            return group_tree(session, seen.grids)
    return await off_loop(read)


def _sees_notice(seen: Scope, street: str | None) -> bool:
    return seen.everything or (seen.street is not None and street == seen.street)


async def _visible_notice(request: web.Request) -> NoticeReport:
    text = request.match_info["notice_id"]
    if not text.isdigit() or len(text) > 9:
        raise web.HTTPNotFound(text=f"找不到编号为 {text[:20]} 的通知")
    notice_id, seen = int(text), await scope(request)
    try:
        report: NoticeReport = await off_loop(_broadcaster(request).report, notice_id)
    except NoticeNotFound:
        raise web.HTTPNotFound(text=f"找不到编号为 {notice_id} 的通知") from None
    street = await off_loop(notice_scopes.street_of, console_of(request).engine, notice_id)
    if not _sees_notice(seen, street):
        raise web.HTTPNotFound(text=f"找不到编号为 {notice_id} 的通知，或它不在您负责的范围内")
    return report


# --- the list and the composer ----------------------------------------------------------------
@routes.get("/broadcasts", Perm.BROADCAST_VIEW)
async def notices(request: web.Request) -> web.StreamResponse:
    seen = await scope(request)
    reports: list[NoticeReport] = await off_loop(_broadcaster(request).outbox.notices, 200)
    if not seen.everything:
        mine = await off_loop(notice_scopes.of_street, console_of(request).engine,
                              seen.street or "")
        reports = [r for r in reports if r.id in mine]
    rows = [(r, percent(_finished(r), r.total)) for r in reports]
    return render(request, "broadcasts.html", {"rows": rows,
                                               "can_send": account(request).may(
                                                   Perm.BROADCAST_SEND)})


def _finished(report: NoticeReport) -> int:
    return sum(report.counts.get(s, 0) for s in ("sent", "failed", "cancelled"))


def _compose_context(request: web.Request, tree: list[Node], seen: Scope,
                     values: dict[str, Any] | None = None, error: str = "") -> dict[str, Any]:
    defaults: dict[str, Any] = {"title": "", "body": "", "body_format": "text", "when": "now",
                                "at": "", "cron": "", "all": False, "street": [],
                                "community": [], "grid": [], "platform": []}
    return {"tree": tree, "v": {**defaults, **(values or {})}, "error": error,
            "platforms": PLATFORM_LABELS, "schedules": SCHEDULES, "everything": seen.everything,
            "max_title": MAX_TITLE, "max_body": MAX_BODY_CHARS,
            "totals": {p: sum(s.groups.get(p, 0) for s in tree) for p in PLATFORMS}}


@routes.get("/broadcasts/new", Perm.BROADCAST_SEND)
async def compose(request: web.Request) -> web.StreamResponse:
    seen = await scope(request)
    return render(request, "compose.html", _compose_context(request, await _tree(request, seen),
                                                            seen))


def _values(form: Any) -> dict[str, Any]:
    def one(name: str) -> str:
        return str(form.get(name, "")).replace("\x00", "")

    return {"title": one("title").strip(), "body": one("body"),
            "body_format": one("body_format") or "text", "when": one("when") or "now",
            "at": one("at").strip(), "cron": one("cron").strip(), "all": bool(form.get("all")),
            **{key: [str(v)[:64] for v in form.getall(key, [])][:1000]
               for key in ("street", "community", "grid", "platform")}}


def _draft(values: dict[str, Any], tree: list[Node], seen: Scope, author: str) -> NoticeDraft:
    """The composer's form → a draft; every choice checked against the viewer's tree."""
    streets = {s.code for s in tree}
    communities = {c.code for s in tree for c in s.children}
    grids = {g.code for s in tree for c in s.children for g in c.children}
    if not values["title"]:
        raise BroadcastError("通知标题不能为空")
    if not values["body"].strip():
        raise BroadcastError("通知正文不能为空")
    if values["body_format"] not in BODY_FORMATS:
        raise BroadcastError("正文格式应为纯文本或 Markdown")
    for key, known, what in (("street", streets, "街道"), ("community", communities, "社区"),
                             ("grid", grids, "网格")):
        unknown = [v for v in values[key] if v not in known]
        if unknown:
            raise BroadcastError(f"不在您可发送范围内的{what}：{'、'.join(unknown[:5])}")
    unknown_platforms = [p for p in values["platform"] if p not in PLATFORMS]
    if unknown_platforms:
        raise BroadcastError(f"不支持的平台：{'、'.join(unknown_platforms[:5])}")
    everyone = bool(values["all"])
    if everyone and not seen.everything:
        raise BroadcastError("您只能发送到自己街道的群，不能选“全部网格群”")
    if not everyone and not (values["street"] or values["community"] or values["grid"]):
        raise BroadcastError("请至少选择一个发送范围（街道、社区或网格）")
    when, timezone = values["when"], DEFAULT_TZ
    if when == "at":
        if not values["at"]:
            raise BroadcastError("请填写定时发送的时间")
        schedule = Schedule("at", at=parse_at(values["at"], timezone), timezone=timezone)
    elif when == "cron":
        if not values["cron"]:
            raise BroadcastError("请填写周期，例如 0 9 * * 1（每周一 9:00）")
        schedule = Schedule("cron", cron=values["cron"], timezone=timezone)
    elif when == "now":
        schedule = Schedule(timezone=timezone)
    else:
        raise BroadcastError("请选择发送方式：立即、定时或周期")
    # streets and communities by name, so that the notice reads "街道 联盟街道"
    # (by code where a name is not unique: it must never reach more groups)
    # and only when the tree is the whole directory
    names = Counter(s.name for s in tree) if seen.everything else Counter(
        s.name for s in tree for _ in range(2))
    street_names = {s.code: s.name if names[s.name] == 1 else s.code for s in tree}
    pairs = Counter((s.name, c.name) for s in tree for c in s.children)
    community_names = {c.code: f"{s.name}/{c.name}" if names[s.name] == 1
                       and pairs[(s.name, c.name)] == 1 else c.code
                       for s in tree for c in s.children}
    targets = Targets(everyone, tuple(street_names[c] for c in values["street"]),
                      tuple(community_names[c] for c in values["community"]),
                      tuple(values["grid"]), tuple(values["platform"]))
    draft = NoticeDraft(title=values["title"], body=values["body"], author=author,
                        targets=targets, body_format=values["body_format"], schedule=schedule)
    draft.validate()
    return draft


@routes.post("/broadcasts", Perm.BROADCAST_SEND)
async def send(request: web.Request) -> web.StreamResponse:
    seen, me = await scope(request), account(request)
    values = _values(await request.post())
    tree = await _tree(request, seen)
    try:
        draft = _draft(values, tree, seen, me.display_name)
        notice_id = await off_loop(_broadcaster(request).create, draft)
    except (BroadcastError, ValueError) as exc:
        return render(request, "compose.html",
                      _compose_context(request, tree, seen, values, str(exc)), status=400)
    await off_loop(notice_scopes.record, console_of(request).engine, notice_id, me.username,
                   seen.street)
    await audit(request, "broadcast.send", f"通知 {notice_id}",
                f"{draft.title}（{SCHEDULES[draft.schedule.kind]}，{draft.targets.label()}）")
    raise redirect(f"/broadcasts/{notice_id}")


@routes.post("/broadcasts/preview", Perm.BROADCAST_SEND)
async def preview(request: web.Request) -> web.StreamResponse:
    """How the notice looks on each platform: the messages it splits into, with sizes."""
    try:
        data = json.loads(await request.text())
        if not isinstance(data, dict):
            raise ValueError
    except ValueError:
        return web.json_response({"error": "请求内容不是有效的 JSON"}, status=400)
    title, body = str(data.get("title", "")).strip(), str(data.get("body", ""))
    body_format = str(data.get("body_format", "text"))
    wanted = [p for p in data.get("platforms") or PLATFORMS if p in PLATFORMS] or list(PLATFORMS)
    if not title or not body.strip():
        return web.json_response({"error": "请先填写标题和正文"}, status=400)
    if len(title) > MAX_TITLE or len(body) > MAX_BODY_CHARS or body_format not in BODY_FORMATS:
        return web.json_response({"error": f"标题最多 {MAX_TITLE} 个字，正文最多 "
                                           f"{MAX_BODY_CHARS} 个字"}, status=400)
    result = []
    try:
        for platform in wanted:
            messages = render_messages(platform, title, body, body_format)
            result.append({"platform": platform, "label": PLATFORM_LABELS[platform],
                           "messages": [{"text": m.text, "bytes": nbytes(m.text),
                                         "markdown": m.markdown} for m in messages]})
    except ValueError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    return web.json_response({"platforms": result}, dumps=lambda o: json.dumps(
        o, ensure_ascii=False))


# --- one notice: progress -----------------------------------------------------------------------
def _progress(report: NoticeReport, next_run: float | None) -> dict[str, Any]:
    done = _finished(report)
    return {**report.as_json(), "done": done, "percent": percent(done, report.total),
            "open": report.open, "next_run": next_run,
            "final": report.status in (NoticeStatus.DONE, NoticeStatus.CANCELLED)
            and report.open == 0}


@routes.get("/broadcasts/{notice_id}", Perm.BROADCAST_VIEW)
async def progress(request: web.Request) -> web.StreamResponse:
    report = await _visible_notice(request)
    broadcaster = _broadcaster(request)
    deliveries = await off_loop(broadcaster.outbox.deliveries, report.id, None, MAX_DELIVERIES)
    notice = await off_loop(broadcaster.outbox.notice, report.id)
    runs: list[NoticeReport] = []
    if report.status is NoticeStatus.RECURRING or report.parent_id is None and \
            report.schedule_kind == "cron":
        runs = [r for r in await off_loop(broadcaster.outbox.notices, 200)
                if r.parent_id == report.id]
    next_run = await off_loop(broadcaster.next_run, report.id)
    return render(request, "notice.html", {
        "r": report, "p": _progress(report, next_run), "deliveries": deliveries, "notice": notice,
        "runs": runs, "can_send": account(request).may(Perm.BROADCAST_SEND),
        "since": max((d.updated_at for d in deliveries), default=0.0),
        "done": request.query.get("done", "")[:60]})


def _event(name: str, data: Any, event_id: str | None = None) -> bytes:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {name}\ndata: {text}\n\n".encode()


@routes.get("/broadcasts/{notice_id}/events", Perm.BROADCAST_VIEW)
async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: `progress` (counts, percent and the deliveries changed since
    the last one) until every delivery is final, then `done`. Reconnecting browsers
    send Last-Event-ID (the time of the newest change they saw) and get the rest."""
    report = await _visible_notice(request)
    console, outbox = console_of(request), _broadcaster(request).outbox
    try:
        since = float(request.headers.get("Last-Event-ID") or request.query.get("since") or 0)
    except ValueError:
        since = 0.0
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8",
                                           "Cache-Control": "no-store",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    loop = asyncio.get_running_loop()
    quiet_since = loop.time()
    last: dict[str, Any] | None = None
    at_since: set[int] = set()   # deliveries already sent whose change time is `since`
    with contextlib.suppress(ConnectionResetError, asyncio.CancelledError):
        while not console.stopping.is_set():
            report = await off_loop(outbox.report, report.id)
            changed = [d for d in await off_loop(outbox.deliveries_changed, report.id, since)
                       if not (d.updated_at == since and d.id in at_since)]
            state = _progress(report, None)
            if changed or state != last:
                if changed:
                    newest = max(d.updated_at for d in changed)
                    at_since = ({d.id for d in changed if d.updated_at == newest}
                                | (at_since if newest == since else set()))
                    since = newest
                await response.write(_event("progress", {
                    **state, "deliveries": [d.as_json() for d in changed]}, repr(since)))
                last, quiet_since = state, loop.time()
            elif loop.time() - quiet_since > HEARTBEAT:
                await response.write(b": ping\n\n")
                quiet_since = loop.time()
            if state["final"]:
                await response.write(_event("done", state))
                break
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(console.stopping.wait(), timeout=console.sse_interval)
    return response


@routes.post("/broadcasts/{notice_id}/retry", Perm.BROADCAST_SEND)
async def retry(request: web.Request) -> web.StreamResponse:
    report = await _visible_notice(request)
    count = await off_loop(_broadcaster(request).retry_failed, report.id)
    await audit(request, "broadcast.retry", f"通知 {report.id}", f"{count} 个群重新发送")
    text = f"已重新发送 {count} 个失败的群" if count else "没有失败的群"
    raise redirect(f"/broadcasts/{report.id}?" + urlencode({"done": text}))


@routes.post("/broadcasts/{notice_id}/cancel", Perm.BROADCAST_SEND)
async def cancel(request: web.Request) -> web.StreamResponse:
    report = await _visible_notice(request)
    me = account(request)
    count = await off_loop(_broadcaster(request).cancel, report.id, me.display_name)
    await audit(request, "broadcast.cancel", f"通知 {report.id}", f"停发 {count} 个群")
    raise redirect(f"/broadcasts/{report.id}?" + urlencode({"done": f"已取消，停发 {count} 个群"}))


def setup(app: web.Application) -> None:
    routes.add_to(app)
    nav.register(app, nav.NavItem("broadcasts", "群发通知", "/broadcasts", Perm.BROADCAST_VIEW,
                                  order=20))

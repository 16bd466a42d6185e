"""The tickets inbox: by deadline with the green/yellow/red lights, filters (status,
light, street, office, topic), one ticket with its whole history, and the back
office's answer, transfer, reassign, close and reopen, through the process's one
`TicketService` (`console.tickets_api.TICKETS`).

Scope: a coordinator sees only the tickets of their grids, street staff only their
street's; a ticket outside the scope is "not found" (by link, by number, by form),
so its existence is not told either. Questions are shown with phone and ID-card
numbers masked; the full text is one click away for those who handle tickets, and
that click is audited."""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from console import nav
from console.permissions import Perm
from console.routing import Routes
from console.scope import Scope
from console.tickets_api import MAX_NAME, MAX_REASON, MAX_TEXT, TICKETS
from console.web import account, audit, console_of, off_loop, redirect, render, scope
from core.topics import contract
from grids.directory import Directory, DirectoryError
from tickets.inbox import InboxQuery, counts_by_light, search
from tickets.masking import mask
from tickets.model import (
    EVENT_LABELS,
    KIND_LABELS,
    LIGHT_LABELS,
    STATUS_LABELS,
    InvalidTicket,
    Light,
    NotAllowed,
    Person,
    Status,
    Ticket,
    TicketNotFound,
    id_of,
    number_of,
)
from tickets.service import TicketService

logger = logging.getLogger(__name__)
routes = Routes()
PAGE = 50
STATUS_CHOICES = {"open": "未答复（全部）", **{s.value: label for s, label in STATUS_LABELS.items()},
                  "all": "全部"}


def _service(request: web.Request) -> TicketService:
    return request.app[TICKETS]


def _directory(request: web.Request) -> Directory | None:
    try:
        return console_of(request).directory.snapshot().directory
    except DirectoryError:
        return None


def _staff(request: web.Request) -> Person:
    me = account(request)
    return Person("staff", me.username, me.display_name)


async def light_counts(request: web.Request) -> dict[Light, int]:
    found = await scope(request)
    return await off_loop(counts_by_light, _service(request), found.grids)


# --- the inbox ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    status: str = "open"
    light: str = ""
    street: str = ""
    office: str = ""
    topic: str = ""
    page: int = 1

    def query(self, **changes: Any) -> str:
        values = {**self.__dict__, **changes}
        return urlencode({k: v for k, v in values.items() if v not in ("", None, 1)
                          or (k == "status" and v != "open")})


def _filters(request: web.Request, offices: set[str], topics: set[str]) -> Filters:
    q = request.query
    status = q.get("status", "open")
    light = q.get("light", "")
    try:
        page = max(1, min(10_000, int(q.get("page", "1"))))
    except ValueError:
        page = 1
    return Filters(status=status if status in STATUS_CHOICES else "open",
                   light=light if light in {x.value for x in Light} else "",
                   street=q.get("street", "")[:32], office=q.get("office", "") if q.get(
                       "office", "") in offices else "",
                   topic=q.get("topic", "") if q.get("topic", "") in topics else "", page=page)


def _streets(directory: Directory | None, seen: Scope) -> list[tuple[str, str]]:
    if directory is None:
        return []
    codes = None
    if seen.grids is not None:
        codes = {directory.communities[g.community_code].street_code
                 for g in (directory.grids.get(c) for c in seen.grids)
                 if g is not None and g.community_code in directory.communities}
    return [(s.code, s.name) for s in sorted(directory.streets.values(), key=lambda s: s.code)
            if codes is None or s.code in codes]


def _street_grids(directory: Directory | None, street: str) -> set[str]:
    if directory is None:
        return set()
    communities = {c.code for c in directory.communities.values() if c.street_code == street}
    return {g.code for g in directory.grids.values() if g.community_code in communities}


def _grid_names(directory: Directory | None) -> dict[str, str]:
    if directory is None:
        return {}
    return {grid.code: grid.name for grid in directory.grids.values()}


@routes.get("/tickets", Perm.TICKETS_VIEW)
async def inbox(request: web.Request) -> web.StreamResponse:
    service, seen = _service(request), await scope(request)
    directory = _directory(request)
    topics = {k: t.zh for k, t in contract().items()}
    offices = {o.code: o.name for o in service.offices.offices.values()}
    chosen = _filters(request, set(offices), set(topics))
    grids: Collection[str] | None = seen.grids
    if chosen.street:
        street_grids = _street_grids(directory, chosen.street)
        grids = street_grids if grids is None else set(grids) & street_grids
    query = InboxQuery(status=None if chosen.status == "all" else chosen.status,
                       light=Light(chosen.light) if chosen.light else None, grids=grids,
                       office=chosen.office or None, topic=chosen.topic or None, limit=PAGE,
                       offset=(chosen.page - 1) * PAGE)
    found = await off_loop(search, service, query)
    pages = max(1, -(-found.total // PAGE))
    return render(request, "tickets.html", {
        "rows": found.rows, "total": found.total, "filters": chosen, "pages": pages,
        "statuses": STATUS_CHOICES, "lights": LIGHT_LABELS, "streets": _streets(directory, seen),
        "offices": offices, "topics": topics, "grid_names": _grid_names(directory),
        "status_labels": STATUS_LABELS,
        "counts": {light.value: n for light, n in (await light_counts(request)).items()}})


@routes.get("/tickets/find", Perm.TICKETS_VIEW)
async def find(request: web.Request) -> web.StreamResponse:
    text = request.query.get("number", "").strip()
    try:
        number = number_of(id_of(text))
    except InvalidTicket as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    raise redirect(f"/tickets/{number}")


# --- one ticket ---------------------------------------------------------------------------
async def _visible(request: web.Request) -> Ticket:
    """The ticket of the path, if the viewer's scope includes it; 404 otherwise."""
    text = request.match_info["number"]
    try:
        number = number_of(id_of(text))
    except InvalidTicket:
        raise web.HTTPNotFound(text=f"没有找到工单 {text[:20]}") from None
    try:
        ticket: Ticket = await off_loop(_service(request).get, number)
    except TicketNotFound:
        ticket = None  # type: ignore[assignment]
    seen = await scope(request)
    if ticket is None or not seen.sees_grid(ticket.grid_code):
        if ticket is not None:
            logger.info("Console: %s asked for %s outside their scope", account(request).username,
                        number)
        raise web.HTTPNotFound(text=f"没有找到工单 {number}，或它不在您负责的范围内")
    return ticket


def _reassignable(request: web.Request, ticket: Ticket, seen: Scope) -> list[tuple[str, str]]:
    """(value, label) of the people the ticket can be handed to: the coordinators of the
    grids of its community (within the viewer's scope) and the staff of its office."""
    choices: list[tuple[str, str]] = []
    directory = _directory(request)
    if directory is not None and ticket.grid_code in directory.grids:
        community = directory.grids[ticket.grid_code].community_code
        codes = {g.coordinator_code for g in directory.grids.values()
                 if g.community_code == community and g.coordinator_code
                 and seen.sees_grid(g.code)}
        for code in sorted(c for c in codes if c):
            coordinator = directory.coordinators.get(code)
            if coordinator is not None and coordinator.accounts:
                choices.append((f"coordinator:{code}", f"网格员 {coordinator.name}"))
    office = _service(request).offices.offices.get(ticket.office_code or "")
    if office is not None:
        for i, person in enumerate(office.staff):
            choices.append((f"office:{office.code}:{i}", f"{office.name} {person.name}"))
    return choices


def _person_for(request: web.Request, ticket: Ticket, value: str, seen: Scope) -> Person | None:
    if value not in dict(_reassignable(request, ticket, seen)):
        return None
    kind, _, rest = value.partition(":")
    if kind == "coordinator":
        directory = _directory(request)
        person = directory.coordinators.get(rest) if directory else None
        if person is None or not person.accounts:
            return None
        platform = ticket.asker.platform if ticket.asker.platform in person.accounts \
            else sorted(person.accounts)[0]
        return Person(platform, person.accounts[platform], person.name)
    code, _, index = rest.partition(":")
    office = _service(request).offices.offices.get(code)
    return office.staff[int(index)] if office is not None else None


@routes.get("/tickets/{number}", Perm.TICKETS_VIEW)
async def detail(request: web.Request) -> web.StreamResponse:
    ticket = await _visible(request)
    service, me, seen = _service(request), account(request), await scope(request)
    full = request.query.get("full") == "1" and me.may(Perm.TICKETS_ACT)
    if full:
        await audit(request, "ticket.reveal", ticket.number)
    events = await off_loop(service.history, ticket.number)
    office = service.offices.offices.get(ticket.office_code or "")
    return render(request, "ticket.html", {
        "t": ticket, "light": service.light(ticket), "events": events, "full": full,
        "show": (lambda text: text) if full else mask, "office": office,
        "offices": [o.name for o in service.offices.offices.values()],
        "kind_label": KIND_LABELS[ticket.kind], "status_label": STATUS_LABELS[ticket.status],
        "event_labels": EVENT_LABELS, "grid_name": _grid_names(_directory(request)).get(
            ticket.grid_code or "", ""),
        "topic": contract()[ticket.topic].zh if ticket.topic in contract() else ticket.topic,
        "reassign": _reassignable(request, ticket, seen), "can_act": me.may(Perm.TICKETS_ACT),
        "error": request.query.get("error", "")[:200], "done": request.query.get("done", "")[:40],
        "max_text": MAX_TEXT})


async def _act(request: web.Request, action: str, label: str, run: Any) -> web.StreamResponse:
    """Run a change of the ticket; a refusal comes back on the ticket's page, in Chinese."""
    ticket = await _visible(request)
    try:
        detail_text = await run(ticket)
    except (InvalidTicket, NotAllowed, ValueError) as exc:
        raise redirect(f"/tickets/{ticket.number}?" + urlencode({"error": str(exc)})) from None
    await audit(request, f"ticket.{action}", ticket.number, detail_text)
    raise redirect(f"/tickets/{ticket.number}?" + urlencode({"done": label}))


def _field(form: Any, name: str, what: str, limit: int, *, required: bool = True) -> str:
    value = str(form.get(name, "")).replace("\x00", "").strip()
    if required and not value:
        raise ValueError(f"请填写{what}")
    if len(value) > limit:
        raise ValueError(f"{what}不能超过 {limit} 个字（现在 {len(value)} 个字）")
    return value


@routes.post("/tickets/{number}/answer", Perm.TICKETS_ACT)
async def answer(request: web.Request) -> web.StreamResponse:
    form = await request.post()

    async def run(ticket: Ticket) -> str:
        text = _field(form, "text", "答复内容", MAX_TEXT)
        await off_loop(lambda: _service(request).answer(ticket.number, _staff(request), text,
                                                         trusted=True))
        return text[:200]
    return await _act(request, "answer", "已答复，答复已发给提问人", run)


@routes.post("/tickets/{number}/transfer", Perm.TICKETS_ACT)
async def transfer(request: web.Request) -> web.StreamResponse:
    form = await request.post()

    async def run(ticket: Ticket) -> str:
        office = _field(form, "office", "转办部门", MAX_NAME)
        reason = _field(form, "reason", "转办原因", MAX_REASON, required=False)
        if _service(request).offices.by_name(office) is None:
            raise ValueError(f"没有这个部门：{office[:20]}")
        await off_loop(lambda: _service(request).transfer(ticket.number, office, _staff(request),
                                                           reason, trusted=True))
        return f"{office}：{reason}"
    return await _act(request, "transfer", "已转办", run)


@routes.post("/tickets/{number}/reassign", Perm.TICKETS_ACT)
async def reassign(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    seen = await scope(request)

    async def run(ticket: Ticket) -> str:
        person = _person_for(request, ticket, str(form.get("to", "")), seen)
        if person is None:
            raise ValueError("请从列表中选择改派给谁")
        reason = _field(form, "reason", "改派原因", MAX_REASON, required=False)
        await off_loop(lambda: _service(request).reassign(ticket.number, person, _staff(request),
                                                           reason, trusted=True))
        return f"{person.name}：{reason}"
    return await _act(request, "reassign", "已改派", run)


@routes.post("/tickets/{number}/close", Perm.TICKETS_ACT)
async def close(request: web.Request) -> web.StreamResponse:
    async def run(ticket: Ticket) -> str:
        await off_loop(lambda: _service(request).close(ticket.number, _staff(request),
                                                        trusted=True))
        return ""
    return await _act(request, "close", "已办结", run)


@routes.post("/tickets/{number}/reopen", Perm.TICKETS_ACT)
async def reopen(request: web.Request) -> web.StreamResponse:
    form = await request.post()

    async def run(ticket: Ticket) -> str:
        reason = _field(form, "reason", "重新办理的原因", MAX_REASON)
        await off_loop(lambda: _service(request).reopen(ticket.number, _staff(request), reason,
                                                         trusted=True))
        return reason
    return await _act(request, "reopen", "已重新办理", run)


def setup(app: web.Application) -> None:
    routes.add_to(app)
    nav.register(app, nav.NavItem("tickets", "工单", "/tickets", Perm.TICKETS_VIEW, order=10))


__all__ = ["Status", "setup"]

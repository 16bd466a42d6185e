"""The staff HTTP API of tickets (JSON under /api/tickets), on the staff app and its
bearer token (`console.staff_api`): the list by deadline, one ticket with its event
history, and the back office's answer, transfer, close and reopen.

Staff are trusted (`trusted=True`): the token authenticates them, `by` names them
(`Person("staff", by, by)`, in the events and the audit log). Malformed input is 400
saying which field is wrong, an unknown ticket 404, a change the ticket's state does
not allow 409 (answering a closed ticket, reopening one still in progress); all in
Chinese. The database work runs in worker threads. The operations and the JSON of
a ticket are shared with `cloud-doctor tickets` (bot/tickets_cli.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from console.staff_api import BadRequest, _body, _error, _json, _query_int, _text, is_api, quoted
from tickets.model import (
    EVENT_LABELS,
    KIND_LABELS,
    LIGHT_LABELS,
    STATUS_LABELS,
    Event,
    InvalidTicket,
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

TICKETS = web.AppKey("tickets", TicketService)

MAX_NAME = 64          # assignee / actor names
MAX_TEXT = 2000        # an answer (the service keeps 2000 characters)
MAX_REASON = 200       # a transfer's or reopening's reason (the event's note)
ESCALATION_LABELS = {0: "未升级", 1: "已升级到街道工会", 2: "已升级到区总工会"}
RATING_LABELS = {"satisfied": "满意", "unsatisfied": "不满意"}

routes = web.RouteTableDef()


# --- the operations (shared with the CLI) ----------------------------------------------
def staff(name: str) -> Person:
    return Person("staff", name, name)


def answer(service: TicketService, number: str, text: str, by: str) -> Ticket:
    return service.answer(number, staff(by), text, trusted=True)


def transfer(service: TicketService, number: str, office: str, reason: str, by: str) -> Ticket:
    return service.transfer(number, office, staff(by), reason, trusted=True)


def close(service: TicketService, number: str, by: str) -> Ticket:
    return service.close(number, staff(by), trusted=True)


def reopen(service: TicketService, number: str, reason: str, by: str) -> Ticket:
    return service.reopen(number, staff(by), reason, trusted=True)


# --- what the API answers ---------------------------------------------------------------
def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _person(person: Person | None) -> dict[str, str] | None:
    return None if person is None else {"name": person.name, "platform": person.platform}


def event_json(event: Event) -> dict[str, Any]:
    return {"kind": event.kind.value, "label": EVENT_LABELS[event.kind], "at": _iso(event.at),
            "actor": event.actor, "note": event.note}


def ticket_json(service: TicketService, ticket: Ticket,
                events: list[Event] | None = None) -> dict[str, Any]:
    light = service.light(ticket)
    office = service.offices.offices.get(ticket.office_code or "")
    data: dict[str, Any] = {
        "number": ticket.number,
        "status": ticket.status.value, "status_label": STATUS_LABELS[ticket.status],
        "light": light.value if light else None,
        "light_label": LIGHT_LABELS[light] if light else None,
        "kind": ticket.kind.value, "kind_label": KIND_LABELS[ticket.kind],
        "topic": ticket.topic,
        "question": ticket.question,
        "asker": _person(ticket.asker),
        "group_id": ticket.group_id,
        "grid": ticket.grid_code,
        "assignee": _person(ticket.assignee),
        "office": ({"code": office.code, "name": office.name} if office
                   else ({"code": ticket.office_code, "name": ticket.office_code}
                         if ticket.office_code else None)),
        "relayed_by": _person(ticket.relayed_by),
        "resident": ticket.resident or None,
        "created_at": _iso(ticket.created_at),
        "respond_by": _iso(ticket.respond_by),
        "resolve_by": _iso(ticket.resolve_by),
        "flagged": ticket.flagged,
        "answer": ticket.answer,
        "answered_at": _iso(ticket.answered_at),
        "rating": ticket.rating,
        "rating_label": RATING_LABELS.get(ticket.rating or ""),
        "reopened": ticket.reopened,
        "escalation": ticket.escalation,
        "escalation_label": ESCALATION_LABELS.get(ticket.escalation, str(ticket.escalation)),
    }
    if events is not None:
        data["events"] = [event_json(e) for e in events]
    return data


def shown(service: TicketService, number: str) -> dict[str, Any]:
    """One ticket with its full history."""
    return ticket_json(service, service.get(number), service.history(number))


def listed(service: TicketService, status: Status | None, limit: int) -> list[dict[str, Any]]:
    return [ticket_json(service, t)
            for t in service.tickets(status.value if status else None, limit)]


# --- reading the request ----------------------------------------------------------------
@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Inside `staff_api`'s authentication: tickets' domain errors as JSON."""
    if not is_api(request):
        return await handler(request)
    try:
        return await handler(request)
    except TicketNotFound as exc:
        return _error(404, str(exc))
    except NotAllowed as exc:
        return _error(403, str(exc))
    except InvalidTicket as exc:   # the input was checked first: what is left is state
        return _error(409, str(exc))


def _service(request: web.Request) -> TicketService:
    return request.app[TICKETS]


def _number(request: web.Request) -> str:
    try:
        return number_of(id_of(request.match_info["number"]))
    except InvalidTicket as exc:
        raise BadRequest(str(exc)) from None


def _status(request: web.Request) -> Status | None:
    text = request.query.get("status", "").strip()
    if not text:
        return None
    try:
        return Status(text)
    except ValueError:
        names = "、".join(s.value for s in Status)
        raise BadRequest(f"参数 status 应为 {names} 之一，收到“{text[:40]}”") from None


async def _fields(request: web.Request, allowed: Collection[str]) -> dict[str, Any]:
    data = await _body(request)
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise BadRequest(f"不认识的字段：{'、'.join(unknown)}（可用：{'、'.join(allowed)}）")
    return data


def _required(data: Mapping[str, Any], key: str, what: str, max_len: int) -> str:
    value = _text(data, key, what, max_len=max_len).strip()
    if not value:
        raise BadRequest(f"字段“{key}”（{what}）不能为空")
    return value


def _optional(data: Mapping[str, Any], key: str, what: str, max_len: int) -> str:
    return _text(data, key, what, default="", max_len=max_len).strip()


# --- routes -----------------------------------------------------------------------------
@routes.get("/api/tickets")
async def list_tickets(request: web.Request) -> web.Response:
    service = _service(request)
    status = _status(request)
    limit = _query_int(request, "limit", default=100, low=1, high=500)
    return _json({"tickets": await asyncio.to_thread(listed, service, status, limit)})


@routes.get("/api/tickets/{number}")
async def get_ticket(request: web.Request) -> web.Response:
    service, number = _service(request), _number(request)
    return _json(await asyncio.to_thread(shown, service, number))


@routes.post("/api/tickets/{number}/answer")
async def answer_ticket(request: web.Request) -> web.Response:
    service, number = _service(request), _number(request)
    data = await _fields(request, ("text", "by"))
    text = _required(data, "text", "答复内容", MAX_TEXT)
    by = _required(data, "by", "答复人", MAX_NAME)
    await asyncio.to_thread(answer, service, number, text, by)
    logger.info("Ticket %s answered by %s via the staff API", number, quoted(by))
    return _json(await asyncio.to_thread(shown, service, number))


@routes.post("/api/tickets/{number}/transfer")
async def transfer_ticket(request: web.Request) -> web.Response:
    service, number = _service(request), _number(request)
    data = await _fields(request, ("office", "reason", "by"))
    name = _required(data, "office", "转办部门", MAX_NAME)
    reason = _optional(data, "reason", "转办原因", MAX_REASON)
    by = _required(data, "by", "转办人", MAX_NAME)
    office = service.offices.by_name(name)
    if office is None:
        names = "、".join(o.name for o in service.offices.offices.values())
        raise BadRequest(f"字段“office”（转办部门）：没有这个部门“{name[:20]}”（可转：{names}）")
    await asyncio.to_thread(transfer, service, number, office.name, reason, by)
    logger.info("Ticket %s transferred to %s by %s via the staff API (reason %s)", number,
                quoted(office.name), quoted(by), quoted(reason))
    return _json(await asyncio.to_thread(shown, service, number))


@routes.post("/api/tickets/{number}/close")
async def close_ticket(request: web.Request) -> web.Response:
    service, number = _service(request), _number(request)
    by = _required(await _fields(request, ("by",)), "by", "办结人", MAX_NAME)
    await asyncio.to_thread(close, service, number, by)
    logger.info("Ticket %s closed by %s via the staff API", number, quoted(by))
    return _json(await asyncio.to_thread(shown, service, number))


@routes.post("/api/tickets/{number}/reopen")
async def reopen_ticket(request: web.Request) -> web.Response:
    service, number = _service(request), _number(request)
    data = await _fields(request, ("reason", "by"))
    reason = _required(data, "reason", "重新办理原因", MAX_REASON)
    by = _required(data, "by", "操作人", MAX_NAME)
    await asyncio.to_thread(reopen, service, number, reason, by)
    logger.info("Ticket %s reopened by %s via the staff API (reason %s)", number, quoted(by),
                quoted(reason))
    return _json(await asyncio.to_thread(shown, service, number))


def setup(app: web.Application) -> None:
    """Add the routes (the app's factory adds `errors` and the service)."""
    app.add_routes(routes)

"""`cloud-doctor tickets ...`: list, show, answer, transfer, close, reopen.

Whoever runs the command is trusted staff (`--by` names them in the ticket's
history). The operations and the JSON (`--json`) are those of the staff API
(`console.tickets_api`). Exit codes: 0 done, 1 an unknown ticket or a change the
ticket does not allow (one line on stderr, in Chinese), 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bot.compose import ticket_service
from console import tickets_api as ops
from core.clock import shanghai_now
from core.settings import Settings
from tickets.model import (
    EVENT_LABELS,
    KIND_LABELS,
    LIGHT_LABELS,
    STATUS_LABELS,
    Status,
    Ticket,
    TicketError,
    id_of,
    number_of,
)
from tickets.offices import InvalidOffices
from tickets.service import TicketService

EXIT_INPUT = 1
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")   # keeps \t and \n


def _fail(message: str) -> int:
    print(f"错误：{_clean(message, one_line=True)}", file=sys.stderr)
    return EXIT_INPUT


def _clean(text: str, *, one_line: bool = False) -> str:
    """What askers wrote, safe to print on a terminal (no escape sequences)."""
    text = CONTROL.sub("\ufffd", text)
    return " ".join(text.split()) if one_line else text


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


def _short(text: str, width: int = 30) -> str:
    text = _clean(text, one_line=True)
    return text if len(text) <= width else text[:width - 1] + "…"


def _holder(service: TicketService, ticket: Ticket) -> str:
    office = service.offices.offices.get(ticket.office_code or "")
    if ticket.assignee is not None:
        return f"网格员 {ticket.assignee.name or ticket.assignee.user_id}"
    if office is not None:
        return office.name
    return ticket.office_code or "待区总工会派单"


def _light(service: TicketService, ticket: Ticket) -> str:
    light = service.light(ticket)
    return LIGHT_LABELS[light] if light else "—"


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


# --- commands ----------------------------------------------------------------------------
def _run(settings: Settings, work: Callable[[TicketService], int]) -> int:
    try:
        return work(ticket_service(settings))
    except (TicketError, InvalidOffices) as exc:
        return _fail(str(exc))
    except SQLAlchemyError as exc:
        return _fail(f"数据库出错：{type(exc).__name__}：{str(exc).splitlines()[0][:200]}")


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    def work(service: TicketService) -> int:
        tickets = service.tickets(args.status.value if args.status else None, args.limit)
        warning = service.calendar.warning(shanghai_now().date())
        if warning:  # staff see it where they work, well before the calendar runs out
            print(f"注意：{warning}", file=sys.stderr)
        if args.json:
            _print_json({"tickets": [ops.ticket_json(service, t) for t in tickets]})
            return 0
        if not tickets:
            which = f"状态为“{STATUS_LABELS[args.status]}”的" if args.status else ""
            print(f"没有{which}工单。")
            return 0
        print(f"{len(tickets)} 个工单（按答复期限排序）：")
        for t in tickets:
            print(f"{t.number}  {_light(service, t)}  {STATUS_LABELS[t.status]}  "
                  f"响应期限 {_when(t.respond_by)}  答复期限 {_when(t.resolve_by)}"
                  f"{'（节假日未录入）' if t.flagged else ''}  {_clean(_holder(service, t))}  "
                  f"{_short(t.question)}")
        return 0

    return _run(settings, work)


def show(service: TicketService, ticket: Ticket) -> list[str]:
    """The human-readable view of a ticket and its history."""
    office = service.offices.offices.get(ticket.office_code or "")
    assignee = ticket.assignee
    lines = [
        f"工单 {ticket.number}（{KIND_LABELS[ticket.kind]}）  {STATUS_LABELS[ticket.status]}  "
        f"{_light(service, ticket)}",
        f"问题：{_clean(ticket.question)}",
        f"提问人：{_clean(ticket.asker.name or ticket.asker.user_id)}（{ticket.asker.platform}）"
        f"  网格：{ticket.grid_code or '-'}",
        f"办理人：{_clean(assignee.name or assignee.user_id) if assignee else '-'}"
        f"{f'（{assignee.platform}）' if assignee else ''}"
        f"  部门：{office.name if office else (ticket.office_code or '-')}",
        f"创建：{_when(ticket.created_at)}  响应期限：{_when(ticket.respond_by)}  "
        f"答复期限：{_when(ticket.resolve_by)}",
        "期限标记：" + ("是（节假日安排未录入，时限按工作日估算）" if ticket.flagged else "否"),
        f"升级：{ops.ESCALATION_LABELS.get(ticket.escalation, str(ticket.escalation))}",
    ]
    if ticket.relayed_by is not None:
        lines.append(f"转问：{_clean(ticket.relayed_by.name)}替{_clean(ticket.resident or '居民')}")
    if ticket.answer is not None:
        lines.append(f"答复（{_when(ticket.answered_at)}）：{_clean(ticket.answer)}")
    if ticket.rating:
        lines.append(f"评价：{ops.RATING_LABELS.get(ticket.rating, ticket.rating)}")
    lines.append("经过：")
    for event in service.history(ticket.number):
        note = f"  {_clean(event.note, one_line=True)}" if event.note else ""
        lines.append(f"  {_when(event.at)}  {EVENT_LABELS[event.kind]}  "
                     f"{_clean(event.actor, one_line=True)}{note}")
    return lines


def cmd_show(settings: Settings, args: argparse.Namespace) -> int:
    def work(service: TicketService) -> int:
        if args.json:
            _print_json(ops.shown(service, args.number))
        else:
            print("\n".join(show(service, service.get(args.number))))
        return 0

    return _run(settings, work)


def _changed(settings: Settings, args: argparse.Namespace,
             change: Callable[[TicketService], Ticket],
             done: Callable[[TicketService, Ticket], str]) -> int:
    def work(service: TicketService) -> int:
        ticket = change(service)
        if args.json:
            _print_json(ops.shown(service, ticket.number))
        else:
            print(done(service, ticket))
        return 0

    return _run(settings, work)


def _deadlines(ticket: Ticket) -> str:
    return f"响应期限 {_when(ticket.respond_by)}，答复期限 {_when(ticket.resolve_by)}"


def cmd_answer(settings: Settings, args: argparse.Namespace) -> int:
    return _changed(settings, args, lambda s: ops.answer(s, args.number, args.text, args.by),
                    lambda s, t: f"已答复工单 {t.number}，答复会发给提问人"
                                 f"{_clean(t.asker.name, one_line=True)}。")


def cmd_transfer(settings: Settings, args: argparse.Namespace) -> int:
    return _changed(settings, args,
                    lambda s: ops.transfer(s, args.number, args.office, args.reason, args.by),
                    lambda s, t: f"已把工单 {t.number} 转给{_holder(s, t)}，{_deadlines(t)}。")


def cmd_close(settings: Settings, args: argparse.Namespace) -> int:
    return _changed(settings, args, lambda s: ops.close(s, args.number, args.by),
                    lambda s, t: f"工单 {t.number} 已办结。")


def cmd_reopen(settings: Settings, args: argparse.Namespace) -> int:
    return _changed(settings, args, lambda s: ops.reopen(s, args.number, args.reason, args.by),
                    lambda s, t: f"工单 {t.number} 已重新办理，{_deadlines(t)}。")


# --- arguments ---------------------------------------------------------------------------
def _number(text: str) -> str:
    try:
        return number_of(id_of(text))
    except TicketError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _status(text: str) -> Status:
    for status in Status:
        if text.strip() in (status.value, STATUS_LABELS[status]):
            return status
    names = "、".join(f"{s.value}（{STATUS_LABELS[s]}）" for s in Status)
    raise argparse.ArgumentTypeError(f"状态应为 {names} 之一，收到“{text[:20]}”")


def _limited(what: str, max_len: int, *, optional: bool = False) -> Callable[[str], str]:
    def check(text: str) -> str:
        value = text.strip()
        if not value and not optional:
            raise argparse.ArgumentTypeError(f"{what}不能为空")
        if len(value) > max_len or "\x00" in value:
            raise argparse.ArgumentTypeError(f"{what}不能超过 {max_len} 个字，也不能有空字符")
        return value

    return check


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--limit 应是整数：{text[:20]}") from exc
    if not 1 <= value <= 10_000:
        raise argparse.ArgumentTypeError(f"--limit 应在 1 到 10000 之间：{value}")
    return value


def register(subparsers: Any) -> None:
    top = subparsers.add_parser("tickets", help="tickets (工单): list, show and handle them")
    sub = top.add_subparsers(dest="tickets_command", required=True)
    by = _limited("办理人（--by）", ops.MAX_NAME)
    reason = _limited("原因（--reason）", ops.MAX_REASON)

    p = sub.add_parser("list", help="tickets by deadline, with their light")
    p.add_argument("--status", type=_status, help="new assigned transferred answered reopened "
                                                  "closed (or the Chinese label)")
    p.add_argument("--limit", type=_limit, default=100)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("show", help="one ticket with its full history")
    p.add_argument("number", type=_number, help="T-000001 (or 1)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("answer", help="answer the asker (the answer is sent to them)")
    p.add_argument("number", type=_number)
    p.add_argument("--text", required=True, type=_limited("答复内容（--text）", ops.MAX_TEXT))
    p.add_argument("--by", required=True, type=by)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_answer)

    p = sub.add_parser("transfer", help="hand the ticket to a back office (restarts its clock)")
    p.add_argument("number", type=_number)
    p.add_argument("--office", required=True, type=_limited("部门（--office）", ops.MAX_NAME))
    p.add_argument("--reason", default="",
                   type=_limited("原因（--reason）", ops.MAX_REASON, optional=True))
    p.add_argument("--by", required=True, type=by)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_transfer)

    p = sub.add_parser("close", help="close the ticket (办结)")
    p.add_argument("number", type=_number)
    p.add_argument("--by", required=True, type=by)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_close)

    p = sub.add_parser("reopen", help="reopen an answered or closed ticket (restarts its clock)")
    p.add_argument("number", type=_number)
    p.add_argument("--reason", required=True, type=reason)
    p.add_argument("--by", required=True, type=by)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_reopen)

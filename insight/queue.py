"""The unanswered queue (待跟进): what the assistant could not settle, newest first,
scoped and paged: turns that fell back or asked for a person (masked text, the
topic it guessed, platform, grid), and the tickets with their answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from core.clock import SHANGHAI
from core.platforms import PLATFORM_LABELS
from core.topics import contract
from insight.model import Scope, Table, table
from insight.scoping import UNKNOWN, apply_where, scope_condition, scope_grids
from insight.tables import TurnRow
from tickets import stats as ticket_stats
from tickets.model import STATUS_LABELS, Status

turns = TurnRow.__table__
MAX_PAGE = 200


@dataclass(frozen=True)
class Page:
    table: Table
    total: int
    limit: int
    offset: int


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _topic(key: str) -> str:
    topic = contract().get(key)
    return topic.zh if topic else key


def unanswered_turns(connection: Connection, scope: Scope, *, limit: int = 50,
                     offset: int = 0) -> Page:
    limit = max(1, min(limit, MAX_PAGE))
    where = (turns.c.attention == 1, scope_condition(turns.c.grid_code, turns.c.street_code,
                                                     scope))
    stmt = apply_where(select(turns.c.id, turns.c.at, turns.c.text, turns.c.topic,
                              turns.c.platform, turns.c.grid_code, turns.c.fallback,
                              turns.c.handoff), *where)
    rows = connection.execute(stmt.order_by(turns.c.id.desc()).limit(limit).offset(offset))
    total = int(connection.execute(apply_where(select(func.count()).select_from(turns),
                                               *where)).scalar_one())
    records = [(r.id, _when(r.at), r.text or "", r.topic, _topic(r.topic),
                PLATFORM_LABELS.get(r.platform, r.platform), r.grid_code or UNKNOWN,
                "转人工" if r.handoff else "没听懂") for r in rows]
    return Page(table("unanswered_turns", "待跟进的提问", (
        ("turn_id", "编号"), ("time", "时间"), ("text", "问题（已打码）"), ("topic", "最接近的话题"),
        ("topic_label", "话题名称"), ("platform", "平台"), ("grid", "网格"), ("why", "原因")),
        records), total, limit, offset)


def tickets_queue(connection: Connection, scope: Scope, *, limit: int = 50,
                  offset: int = 0) -> Page:
    limit = max(1, min(limit, MAX_PAGE))
    items, total = ticket_stats.queue(connection, grids=scope_grids(scope), limit=limit,
                                      offset=offset)
    records = [(i.number, _when(i.created_at), STATUS_LABELS.get(Status(i.status), i.status),
                _topic(i.topic), PLATFORM_LABELS.get(i.platform, i.platform),
                i.grid_code or UNKNOWN, i.question, i.answer or "") for i in items]
    return Page(table("tickets_queue", "工单", (
        ("number", "工单号"), ("time", "时间"), ("status", "状态"), ("topic", "话题"),
        ("platform", "平台"), ("grid", "网格"), ("question", "问题（已打码）"),
        ("answer", "答复")), records), total, limit, offset)

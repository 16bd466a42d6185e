"""Figures of the broadcasts for the statistics (`insight`), each one SQL aggregate
over `bc_deliveries` joined to their notices: groups targeted and delivered (and
failed, still pending, cancelled) per platform, street, grid or notice, and failures
by reason. A notice counts in [start, end) by when it goes out: a recurring notice's
run by its occurrence, a scheduled one by its time, others by their creation.

Scope and grouping come from the caller: `grids` is None (all), grid codes, or a
sub-select of grid codes; grouping by street needs `places`, a table with
`grid_code` and `street_code` columns (the statistics' copy of the directory).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, case, false, func, literal_column, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement, FromClause, Select

from broadcast.model import DeliveryState
from broadcast.tables import DeliveryRow, NoticeRow

deliveries = DeliveryRow.__table__
notices = NoticeRow.__table__
PENDING = (DeliveryState.PENDING.value, DeliveryState.SENDING.value,
           DeliveryState.RETRYING.value)
GROUPS = ("none", "platform", "street", "grid", "notice")
UNKNOWN_REASON = "未注明原因"


def _sends_at() -> ColumnElement[Any]:
    return func.coalesce(notices.c.occurrence, notices.c.run_at, notices.c.created_at)


def _base(stmt: Select, start: float, end: float, grids: Any, by: str,
          places: FromClause | None) -> Select:
    joined = deliveries.join(notices, notices.c.id == deliveries.c.notice_id)
    if by == "street":
        if places is None:
            raise ValueError("grouping deliveries by street needs the grid places")
        joined = joined.outerjoin(places, places.c.grid_code == deliveries.c.grid_code)
    stmt = stmt.select_from(joined).where(_sends_at() >= start, _sends_at() < end)
    if grids is not None:
        if isinstance(grids, Select):
            stmt = stmt.where(deliveries.c.grid_code.in_(grids))
        else:
            codes = list(grids)
            stmt = stmt.where(deliveries.c.grid_code.in_(codes) if codes else false())
    return stmt


def _key(by: str, places: FromClause | None) -> ColumnElement[Any]:
    if by == "none":
        return literal_column("'all'", String)
    if by == "street":
        assert places is not None
        return places.c.street_code
    columns = {"platform": deliveries.c.platform, "grid": deliveries.c.grid_code,
               "notice": deliveries.c.notice_id}
    if by not in columns:
        raise ValueError(f"deliveries cannot be grouped by {by}")
    return columns[by]


def _group(key: ColumnElement[Any], by: str) -> Any:
    """GROUP BY the key; nothing for "none" (one row, even when nothing matched)."""
    return () if by == "none" else (key,)


def _count(state: ColumnElement[bool]) -> Any:
    return func.sum(case((state, 1), else_=0))


@dataclass(frozen=True)
class DeliveryFigures:
    key: Any
    notices: int
    targeted: int
    delivered: int
    failed: int
    pending: int
    cancelled: int


def summary(connection: Connection, start: float, end: float, *, grids: Any = None,
            by: str = "none", places: FromClause | None = None) -> list[DeliveryFigures]:
    d = deliveries.c
    key = _key(by, places).label("key")
    stmt = select(key, func.count(d.notice_id.distinct()).label("notices"),
                  func.count().label("targeted"),
                  _count(d.state == DeliveryState.SENT.value).label("delivered"),
                  _count(d.state == DeliveryState.FAILED.value).label("failed"),
                  _count(d.state.in_(PENDING)).label("pending"),
                  _count(d.state == DeliveryState.CANCELLED.value).label("cancelled"))
    stmt = _base(stmt, start, end, grids, by, places).group_by(*_group(key, by)) \
        .order_by(func.count().desc(), key)
    return [DeliveryFigures(r.key, int(r.notices), int(r.targeted), int(r.delivered or 0),
                            int(r.failed or 0), int(r.pending or 0), int(r.cancelled or 0))
            for r in connection.execute(stmt)]


@dataclass(frozen=True)
class FailureReason:
    reason: str
    platform: str
    deliveries: int


def failures(connection: Connection, start: float, end: float, *,
             grids: Any = None) -> list[FailureReason]:
    d = deliveries.c
    reason = func.coalesce(d.reason, UNKNOWN_REASON).label("reason")
    stmt = select(reason, d.platform, func.count().label("n")) \
        .where(d.state == DeliveryState.FAILED.value)
    stmt = _base(stmt, start, end, grids, "none", None).group_by(reason, d.platform) \
        .order_by(func.count().desc(), reason, d.platform)
    return [FailureReason(str(r.reason), r.platform, int(r.n)) for r in connection.execute(stmt)]

"""`Statistics`: every figure of the statistics page for a `Period` and a `Scope`,
as `Table`s (render them, `insight.export.csv_bytes` them, `insight.charts` draw
them). Built once per process on the migrated engine; every method is one short
read transaction of SQL aggregates (no rows are looped over in Python)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from broadcast import stats as broadcast_stats
from core.clock import Clock, now
from insight import conversation, queue
from insight.model import BY_LABELS, By, Period, Scope, Table, share, table
from insight.places import Places
from insight.queue import Page
from insight.scoping import label, labeller, places, scope_grids
from tickets import stats as ticket_stats

COORDINATOR = "网格员（未转办）"
TICKET_GROUPS = (By.NONE, By.STREET, By.GRID, By.PLATFORM, By.TOPIC, By.OFFICE)
DELIVERY_GROUPS = (By.NONE, By.PLATFORM, By.STREET, By.GRID)


class Statistics:
    def __init__(self, engine: Engine, *, clock: Clock = now,
                 office_names: Mapping[str, str] | None = None) -> None:
        self.engine = engine
        self.clock = clock
        self.office_names = dict(office_names or {})
        self.places = Places()

    def _connection(self) -> Connection:
        """A read connection, the grid read model brought up to date first."""
        with Session(self.engine, future=True) as session, session.begin():
            self.places.refresh(session)
        return self.engine.connect()

    # --- conversations ----------------------------------------------------------
    def conversation(self, period: Period, scope: Scope, by: By = By.NONE) -> Table:
        with self._connection() as c:
            return conversation.summary(c, period, scope, by)

    def questions_per_day(self, period: Period, scope: Scope, by: By = By.NONE) -> Table:
        with self._connection() as c:
            return conversation.per_day(c, period, scope, by)

    def top_topics(self, period: Period, scope: Scope, limit: int = 10) -> Table:
        with self._connection() as c:
            return conversation.top_topics(c, period, scope, limit)

    def rising_topics(self, period: Period, scope: Scope, limit: int = 10) -> Table:
        with self._connection() as c:
            return conversation.rising_topics(c, period, scope, limit)

    # --- tickets ------------------------------------------------------------------
    def tickets(self, period: Period, scope: Scope, by: By = By.NONE) -> Table:
        _check(by, TICKET_GROUPS)
        start, end = period.epoch_range()
        with self._connection() as c:
            found = ticket_stats.summary(c, start, end, self.clock(), grids=scope_grids(scope),
                                         by=by.value, places=places)
            labels = self._labels(c, by)
        rows = []
        for f in found:
            due_response = f.responded + f.response_overdue
            due_answer = f.answered + f.answer_overdue
            rows.append((f.key, self._label(labels, by, f.key), f.tickets, f.responded,
                         f.mean_response_hours, share(f.responded_on_time, due_response),
                         f.answered, f.mean_answer_hours, share(f.answered_on_time, due_answer),
                         f.escalated, f.escalated_to_district, f.rated,
                         share(f.satisfied, f.rated), f.reopened))
        return table(f"tickets_by_{by.value}", f"工单（按{BY_LABELS[by]}）", (
            ("key", "编码"), ("label", "名称"), ("tickets", "工单数"), ("responded", "已响应"),
            ("response_hours", "平均首次响应（小时）"), ("response_on_time", "按时响应率"),
            ("answered", "已答复"), ("answer_hours", "平均答复用时（小时）"),
            ("answer_on_time", "按时答复率"), ("escalated", "升级到街道"),
            ("escalated_district", "升级到区"), ("rated", "已评价"),
            ("satisfied_share", "满意率"), ("reopened", "重新办理")), rows,
            notes=("按时率的分母：已答复的和已过期限仍未答复的；时限按工作时间计，用时按自然时间计。",))

    def ticket_lights(self, scope: Scope, by: By = By.NONE) -> Table:
        _check(by, TICKET_GROUPS)
        with self._connection() as c:
            found = ticket_stats.lights(c, self.clock(), grids=scope_grids(scope),
                                        by=by.value, places=places)
            labels = self._labels(c, by)
        rows = [(f.key, self._label(labels, by, f.key), f.green, f.yellow, f.red)
                for f in found]
        return table(f"ticket_lights_by_{by.value}", "办理中的工单（亮灯）", (
            ("key", "编码"), ("label", "名称"), ("green", "绿灯"), ("yellow", "黄灯"),
            ("red", "红灯")), rows)

    # --- broadcasts ---------------------------------------------------------------
    def deliveries(self, period: Period, scope: Scope, by: By = By.NONE) -> Table:
        _check(by, DELIVERY_GROUPS)
        start, end = period.epoch_range()
        with self._connection() as c:
            found = broadcast_stats.summary(c, start, end, grids=scope_grids(scope),
                                            by=by.value, places=places)
            labels = labeller(c, by)
        rows = [(f.key, label(labels, f.key), f.notices, f.targeted, f.delivered, f.failed,
                 f.pending, f.cancelled, share(f.delivered, f.targeted)) for f in found]
        return table(f"deliveries_by_{by.value}", f"群发送达（按{BY_LABELS[by]}）", (
            ("key", "编码"), ("label", "名称"), ("notices", "通知数"), ("targeted", "目标群数"),
            ("delivered", "已送达"), ("failed", "失败"), ("pending", "发送中"),
            ("cancelled", "已取消"), ("delivered_share", "送达率")), rows)

    def delivery_failures(self, period: Period, scope: Scope) -> Table:
        start, end = period.epoch_range()
        with self._connection() as c:
            found = broadcast_stats.failures(c, start, end, grids=scope_grids(scope))
            labels = labeller(c, By.PLATFORM)
        rows = [(f.reason, f.platform, label(labels, f.platform), f.deliveries) for f in found]
        return table("delivery_failures", "群发失败原因", (
            ("reason", "原因"), ("platform", "平台编码"), ("platform_label", "平台"),
            ("deliveries", "群数")), rows)

    # --- the unanswered queue -------------------------------------------------------
    def unanswered(self, scope: Scope, limit: int = 50, offset: int = 0) -> Page:
        with self._connection() as c:
            return queue.unanswered_turns(c, scope, limit=limit, offset=offset)

    def tickets_queue(self, scope: Scope, limit: int = 50, offset: int = 0) -> Page:
        with self._connection() as c:
            return queue.tickets_queue(c, scope, limit=limit, offset=offset)

    # --- everything at once ---------------------------------------------------------
    def overview(self, period: Period, scope: Scope, by: By = By.NONE) -> dict[str, Table]:
        """The page's tables for one grouping (by `NONE` for the headline figures)."""
        tables = [self.conversation(period, scope, by), self.questions_per_day(period, scope),
                  self.top_topics(period, scope), self.rising_topics(period, scope),
                  self.tickets(period, scope, by if by in TICKET_GROUPS else By.NONE),
                  self.ticket_lights(scope, by if by in TICKET_GROUPS else By.NONE),
                  self.deliveries(period, scope, by if by in DELIVERY_GROUPS else By.NONE),
                  self.delivery_failures(period, scope)]
        return {t.name: t for t in tables}

    def _labels(self, c: Connection, by: By) -> Mapping[Any, str]:
        if by is By.OFFICE:
            return dict(self.office_names)
        return labeller(c, by)

    def _label(self, labels: Mapping[Any, str], by: By, key: object) -> str:
        if by is By.OFFICE and not key:
            return COORDINATOR
        return label(labels, key)


def _check(by: By, allowed: tuple[By, ...]) -> None:
    if by not in allowed:
        raise ValueError(f"these figures cannot be grouped by {by.value}")

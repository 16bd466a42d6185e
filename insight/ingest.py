"""The ingester: tails an `events`-shaped table (id, sender_id, data as JSON) by id
into `in_turns`, a batch per transaction.

Each batch reads the events after the source's high-water mark (`in_cursors`),
turns user events into new turns and applies the bot events that follow them to the
latest turn of the same conversation (also one ingested by an earlier batch), then
writes the turns, the flag changes and the new mark in one transaction: a crash
before the commit leaves the mark where it was, and the batch is read again; the
unique (source, event_id) makes a second ingester that raced it fail and retry
instead of counting twice (on PostgreSQL the cursor row is locked first, so the
second one waits and reads the new mark).

Gaps: on PostgreSQL, ids come from a sequence when a row is inserted, not when it
commits; a writer still in its transaction leaves a hole that a later commit fills.
The ingester stops before the first hole and waits for it (`gap_wait` seconds,
then a rolled-back insert is assumed and the hole skipped). SQLite serialises its
writers, so ids commit in order and there is no such wait.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    func,
    inspect,
    select,
    update,
)
from sqlalchemy import insert as sa_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from core.clock import Clock, now
from core.topics import FOLLOW_UP_WINDOW, OUT_OF_SCOPE, answerable
from insight import rollup
from insight.events import TEXT_CHARS, Keys, Step, question_of, step_of
from insight.places import Places
from insight.tables import BrokerEventRow, CursorRow, TurnRow
from tickets.masking import short

logger = logging.getLogger(__name__)

BATCH = 2000
GAP_WAIT = 10.0    # seconds a hole in the ids is waited for (PostgreSQL sources)


def rasa_events_table(name: str = "events") -> Table:
    """The table Rasa's SQLEventBroker writes (rasa/core/brokers/sql.py)."""
    return Table(name, MetaData(), Column("id", Integer, primary_key=True),
                 Column("sender_id", String(255)), Column("data", Text))


@dataclass(frozen=True)
class Source:
    """Where events are read from: `name` keys the high-water mark."""

    name: str
    engine: Engine
    table: Table

    @classmethod
    def sql_broker(cls, engine: Engine, table: str = "events") -> Source:
        """Rasa's SQL event broker's table, in its own database."""
        return cls(f"sql:{table}", engine, rasa_events_table(table))

    @classmethod
    def pika(cls, engine: Engine) -> Source:
        """`in_broker_events`, written by the RabbitMQ consumer in the app database."""
        return cls("pika", engine, BrokerEventRow.__table__)

    @property
    def ordered_commits(self) -> bool:
        return self.engine.dialect.name == "sqlite"


@dataclass
class _Turn:
    """A turn being ingested: new (`id` None) or the latest one already stored."""

    values: dict[str, Any]
    id: int | None = None
    before: dict[str, Any] | None = None    # a stored turn's flags as stored
    closed: bool = False
    changed: bool = False
    clear_text: bool = False

    def apply(self, step: Step) -> None:
        if self.closed:
            return
        v = self.values
        if step is Step.FALLBACK:
            v["fallback"] = 1
        elif step is Step.HANDOFF:
            v["handoff"] = 1
        elif step is Step.REPLY:
            v["replied"] = 1
        elif step is Step.CLOSE:
            self.closed = True
        else:
            return
        v["attention"] = 1 if v["fallback"] or v["handoff"] else 0
        v["answered"] = 1 if v["replied"] and not v["attention"] else 0
        if self.closed and not v["attention"]:
            v["text"] = None        # only the unanswered queue keeps what was asked
            self.clear_text = True
        self.changed = True


@dataclass(frozen=True)
class BatchResult:
    events: int          # events consumed (the mark moved past them)
    turns: int           # new turns
    updated: int         # earlier turns whose flags changed
    waiting_for: int | None = None   # a hole in the ids the ingester waits for


class Ingester:
    def __init__(self, engine: Engine, source: Source, keys: Keys, *, batch: int = BATCH,
                 gap_wait: float | None = None, clock: Clock = now,
                 places: Places | None = None) -> None:
        self.engine = engine
        self.source = source
        self.keys = keys
        self.batch = batch
        self.gap_wait = (0.0 if source.ordered_commits else GAP_WAIT) \
            if gap_wait is None else gap_wait
        self.clock = clock
        self.places = places or Places()
        self._source_ready = False

    # --- reading the source ---------------------------------------------------------
    def _source_exists(self) -> bool:
        if not self._source_ready:
            self._source_ready = inspect(self.source.engine).has_table(self.source.table.name)
        return self._source_ready

    def _read(self, after: int) -> list[tuple[int, str | None, str]]:
        t = self.source.table
        with self.source.engine.connect() as connection:
            rows = connection.execute(select(t.c.id, t.c.sender_id, t.c.data)
                                      .where(t.c.id > after).order_by(t.c.id)
                                      .limit(self.batch))
            return [(int(i), s, d) for i, s, d in rows]

    def _contiguous(self, rows: list[tuple[int, str | None, str]], cursor: CursorRow,
                    at: float) -> tuple[list[tuple[int, str | None, str]], int | None]:
        """The rows up to the first hole that is still worth waiting for."""
        expected = cursor.last_id + 1
        for index, (event_id, _, _) in enumerate(rows):
            if event_id != expected:
                waited = (cursor.gap_id == expected and cursor.gap_seen_at is not None
                          and at - cursor.gap_seen_at >= self.gap_wait)
                if self.gap_wait <= 0 or waited:
                    if self.gap_wait > 0:
                        logger.warning("Statistics: events %d–%d never committed; skipped",
                                       expected, event_id - 1)
                    cursor.gap_id = cursor.gap_seen_at = None
                else:
                    if cursor.gap_id != expected:
                        cursor.gap_id, cursor.gap_seen_at = expected, at
                    return rows[:index], expected
            expected = event_id + 1
        cursor.gap_id = cursor.gap_seen_at = None
        return rows, None

    # --- one batch ------------------------------------------------------------------
    def ingest_batch(self) -> BatchResult:
        if not self._source_exists():
            return BatchResult(0, 0, 0)
        at = self.clock()
        with Session(self.engine, future=True) as session, session.begin():
            cursor = self._cursor(session, at)
            rows = self._read(cursor.last_id)
            rows, waiting = self._contiguous(rows, cursor, at)
            if not rows:
                cursor.updated_at = at
                return BatchResult(0, 0, 0, waiting)
            try:
                self.places.refresh(session)
                new, updated = self._apply(session, rows)
            except Exception:
                self.places.revision = -1   # in_grids rolls back with the batch
                raise
            cursor.last_id = rows[-1][0]
            cursor.updated_at = at
        return BatchResult(len(rows), new, updated, waiting)

    def ingest_all(self, limit: int | None = None) -> int:
        """Ingest until caught up (or a hole to wait for); the number of events."""
        total = 0
        while limit is None or total < limit:
            result = self.ingest_batch()
            total += result.events
            if result.events < self.batch:
                break
        return total

    def _cursor(self, session: Session, at: float) -> CursorRow:
        """This source's mark, locked for the batch on PostgreSQL (created once; two
        processes creating it together both find the one that won)."""
        stmt = select(CursorRow).where(CursorRow.source == self.source.name)
        postgres = self.engine.dialect.name == "postgresql"
        if postgres:
            stmt = stmt.with_for_update()
        cursor = session.execute(stmt).scalar_one_or_none()
        if cursor is None:
            if postgres:
                from sqlalchemy.dialects.postgresql import insert as dialect_insert
            else:
                from sqlalchemy.dialects.sqlite import insert as dialect_insert
            session.execute(dialect_insert(CursorRow).values(
                source=self.source.name, last_id=0, updated_at=at).on_conflict_do_nothing(
                index_elements=["source"]))
            cursor = session.execute(stmt).scalar_one()
        return cursor

    def _apply(self, session: Session, rows: Sequence[tuple[int, str | None, str]]
               ) -> tuple[int, int]:
        events: list[tuple[int, str, str, dict[str, Any]]] = []
        for event_id, sender_id, data in rows:
            try:
                event = json.loads(data)
            except ValueError:
                logger.warning("Statistics: event %d is not JSON; skipped", event_id)
                continue
            if isinstance(event, dict):
                sender = str(sender_id or event.get("sender_id") or "")
                events.append((event_id, sender, self.keys.of(sender), event))
        latest = self._stored_latest(session, {key for _, _, key, _ in events})
        new: list[_Turn] = []
        for event_id, sender, sender_key, event in events:
            step = step_of(event)
            if step is Step.USER:
                turn = _Turn(self._new_turn(event_id, sender, sender_key, event,
                                            latest.get(sender_key)))
                latest[sender_key] = turn
                new.append(turn)
            elif step is not Step.NONE and sender_key in latest:
                latest[sender_key].apply(step)
        changed = [t for t in latest.values() if t.id is not None and t.changed]
        rollup.record(session, [t.values for t in new],
                      [(t.values, t.before or {}) for t in changed])
        if new:
            session.execute(sa_insert(TurnRow), [t.values for t in new])
        if changed:
            session.execute(
                update(TurnRow.__table__).where(TurnRow.__table__.c.id == bindparam("b_id")),
                [{"b_id": t.id, **{k: t.values[k] for k in _FLAGS}} for t in changed])
            cleared = [t.id for t in changed if t.clear_text]
            if cleared:
                session.execute(update(TurnRow).where(TurnRow.id.in_(cleared))
                                .values(text=None))
        return len(new), len(changed)

    def _stored_latest(self, session: Session, sender_keys: set[str]) -> dict[str, _Turn]:
        if not sender_keys:
            return {}
        latest = (select(func.max(TurnRow.id)).where(TurnRow.sender_key.in_(sorted(sender_keys)))
                  .group_by(TurnRow.sender_key))
        stmt = select(TurnRow.id, TurnRow.sender_key, TurnRow.at,
                      *[getattr(TurnRow, k) for k in _FLAGS + rollup.PLACE]) \
            .where(TurnRow.id.in_(latest))
        found: dict[str, _Turn] = {}
        for row in session.execute(stmt):
            values = {k: getattr(row, k) for k in ("at", *_FLAGS, *rollup.PLACE)}
            found[row.sender_key] = _Turn(values, id=row.id,
                                          before={k: values[k] for k in _FLAGS})
        return found

    def _new_turn(self, event_id: int, sender: str, sender_key: str,
                  event: dict[str, Any], previous: _Turn | None) -> dict[str, Any]:
        q = question_of(event, sender)
        if q.follow_up:
            q = replace(q, topic=followed_topic(previous.values if previous else None, q.at))
        place = self.places.of(q.platform, q.group_id)
        fallback = 1 if q.nlu_fallback else 0
        return {
            "source": self.source.name, "event_id": event_id, "at": q.at, "day": q.day,
            "sender_key": sender_key, "asker_key": self.keys.of(q.asker),
            "platform": q.platform, "group_id": q.group_id,
            "grid_code": place.grid_code if place else None,
            "street_code": place.street_code if place else None,
            "topic": q.topic, "confidence": q.confidence,
            "fallback": fallback, "handoff": 0, "replied": 0, "answered": 0,
            "attention": fallback, "text": short(q.text, TEXT_CHARS) or None,
        }


_FLAGS = ("fallback", "handoff", "replied", "answered", "attention")


def followed_topic(previous: dict[str, Any] | None, at: float) -> str:
    """The topic a follow-up ("那要带啥材料？") is counted under: that of the same
    asker's turn just before, when it was answered (not asked back) on a topic a
    follow-up can be about, within `FOLLOW_UP_WINDOW`; else out of scope (the
    assistant asked which matter was meant)."""
    if (previous is None or previous.get("fallback")
            or at - float(previous.get("at") or 0.0) > FOLLOW_UP_WINDOW):
        return OUT_OF_SCOPE
    topic = str(previous.get("topic") or "")
    return topic if answerable(topic) else OUT_OF_SCOPE

"""Tables of the statistics (prefix `in_`), created by the migrations in
`insight/migrations`.

- `in_turns`: the fact table, one row per user message (a *turn*): when (epoch
  seconds, and the Shanghai day the figures are grouped by), who (keyed hashes,
  never a platform id), where (platform, group, grid and street as resolved when
  the message came), what (topic, confidence) and how it went (flags, 0/1 so that
  `SUM()` is the same on SQLite and PostgreSQL). `text` (masked, clipped) is kept
  only for turns that reached the unanswered queue.
- `in_cursors`: per event source, the id ingested up to (the high-water mark), and
  the first missing id the ingester is waiting for (a gap: a writer that has not
  committed yet).
- `in_grids`: the grid → community → street read model (names for the reports, the
  street of a ticket's or delivery's grid), copied from the grid directory's public
  API whenever its revision changes.
- `in_broker_events`: the same shape as Rasa's SQL event broker table `events`,
  written by the RabbitMQ consumer (`digest` drops redelivered messages).

- `in_rollup_places`, `in_rollup_topics`: the counts of the turns (questions, answered,
  fallbacks, hand-offs) per day (`span` "d") and per calendar month ("m", `start` its
  first day), by grid × street × platform and by street × topic; no grid / street is
  "" (a key column cannot be NULL). Kept by the ingester in the batch's transaction
  (`insight.rollup`); the conversation figures read them instead of the turns.
- `in_askers`: distinct askers per day ("d", everyone), calendar month ("m") and
  calendar year ("y"), for everyone (`kind` "all", key "") and per street, grid,
  platform and topic: exact counts, incremented when a turn is an asker's first of
  that span and key (looked up on `ix_in_turns_asker`).

Indexes are those of the queries in `insight.conversation` and `insight.queue`:
`ix_in_turns_day` covers every column a whole-district report reads, so a range of
days is one index range scan; grid and street scopes start from their own index.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Date, Float, Index, Integer, String, Text, UniqueConstraint

from core.db import declarative_base

Base: Any = declarative_base()
metadata = Base.metadata

KEY_CHARS = 16   # hex digits of a keyed hash (64 bits)


class TurnRow(Base):
    __tablename__ = "in_turns"
    id = Column(Integer, primary_key=True, autoincrement=True)
    source = Column(String(32), nullable=False)
    event_id = Column(Integer, nullable=False)          # the user event's id in the source
    at = Column(Float, nullable=False)                  # epoch seconds (UTC)
    day = Column(Date, nullable=False)                  # the day in Asia/Shanghai
    sender_key = Column(String(KEY_CHARS), nullable=False)   # Rasa's conversation, hashed
    asker_key = Column(String(KEY_CHARS), nullable=False)    # platform + user id, hashed
    platform = Column(String(16), nullable=False)
    group_id = Column(String(128), nullable=True)
    grid_code = Column(String(32), nullable=True)
    street_code = Column(String(32), nullable=True)
    topic = Column(String(32), nullable=False)
    confidence = Column(Float, nullable=False)
    fallback = Column(Integer, nullable=False, default=0)
    handoff = Column(Integer, nullable=False, default=0)
    replied = Column(Integer, nullable=False, default=0)
    answered = Column(Integer, nullable=False, default=0)    # replied, no fallback, no hand-off
    attention = Column(Integer, nullable=False, default=0)   # fallback or hand-off: the queue
    text = Column(Text, nullable=True)
    __table_args__ = (
        UniqueConstraint("source", "event_id", name="uq_in_turns_event"),
        Index("ix_in_turns_day", "day", "topic", "platform", "street_code", "grid_code",
              "answered", "fallback", "handoff", "asker_key"),
        Index("ix_in_turns_grid_day", "grid_code", "day", "asker_key", "answered", "fallback",
              "handoff"),
        Index("ix_in_turns_street_day", "street_code", "day", "asker_key", "answered",
              "fallback", "handoff"),
        Index("ix_in_turns_sender", "sender_key", "id"),
        Index("ix_in_turns_asker", "asker_key", "day", "street_code", "grid_code", "platform",
              "topic"),
        Index("ix_in_turns_queue", "attention", "id"),
        Index("ix_in_turns_grid_queue", "grid_code", "attention", "id"),
    )


class CursorRow(Base):
    __tablename__ = "in_cursors"
    source = Column(String(32), primary_key=True)
    last_id = Column(Integer, nullable=False, default=0)
    gap_id = Column(Integer, nullable=True)
    gap_seen_at = Column(Float, nullable=True)
    updated_at = Column(Float, nullable=False)


class GridPlaceRow(Base):
    __tablename__ = "in_grids"
    grid_code = Column(String(32), primary_key=True)
    grid_name = Column(String(128), nullable=False)
    community_code = Column(String(32), nullable=False)
    community_name = Column(String(128), nullable=False)
    street_code = Column(String(32), nullable=False, index=True)
    street_name = Column(String(128), nullable=False)


class BrokerEventRow(Base):
    __tablename__ = "in_broker_events"
    id = Column(Integer, primary_key=True, autoincrement=True)
    sender_id = Column(String(255), nullable=True)
    data = Column(Text, nullable=False)
    digest = Column(String(32), nullable=False, unique=True)


class PlaceRollupRow(Base):
    __tablename__ = "in_rollup_places"
    span = Column(String(1), primary_key=True)          # "d" a day, "m" a month
    start = Column(Date, primary_key=True)              # the day, or the month's first day
    grid_code = Column(String(32), primary_key=True)    # "" none
    street_code = Column(String(32), primary_key=True)  # "" none
    platform = Column(String(16), primary_key=True)
    questions = Column(Integer, nullable=False)
    answered = Column(Integer, nullable=False)
    fallbacks = Column(Integer, nullable=False)
    handoffs = Column(Integer, nullable=False)
    __table_args__ = (
        Index("ix_in_rollup_places_grid", "grid_code", "span", "start"),
        Index("ix_in_rollup_places_street", "street_code", "span", "start"),
    )


class TopicRollupRow(Base):
    __tablename__ = "in_rollup_topics"
    span = Column(String(1), primary_key=True)
    start = Column(Date, primary_key=True)
    street_code = Column(String(32), primary_key=True)  # "" none
    topic = Column(String(32), primary_key=True)
    questions = Column(Integer, nullable=False)
    answered = Column(Integer, nullable=False)
    fallbacks = Column(Integer, nullable=False)
    handoffs = Column(Integer, nullable=False)


class AskersRow(Base):
    __tablename__ = "in_askers"
    span = Column(String(1), primary_key=True)          # "d", "m", "y"
    start = Column(Date, primary_key=True)
    kind = Column(String(16), primary_key=True)         # all, street, grid, platform, topic
    key = Column(String(32), primary_key=True)          # "" for all, or no grid / street
    askers = Column(Integer, nullable=False)

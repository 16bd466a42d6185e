"""Tables of the tickets (prefix `tk_`), created by the migrations in
`tickets/migrations`. Times are epoch seconds (float), as in the broadcaster, so
comparisons are the same on SQLite and PostgreSQL and across processes.

- `tk_tickets`: one row per ticket, its current state and deadlines;
- `tk_events`: every change (created, assigned, reminded, transferred, escalated,
  answered, rated, closed, reopened), the record statistics are computed from;
- `tk_timers`: the reminders and escalations still to fire, claimed under a lease like
  the broadcaster's deliveries, so that several processes never fire one twice;
- `tk_messages`: what the back office says to people (group posts with an @, direct
  messages), an outbox sent by the notifier.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Column, Float, ForeignKey, Index, Integer, String, Text

from core.db import declarative_base

Base: Any = declarative_base()
metadata = Base.metadata


class TicketRow(Base):
    __tablename__ = "tk_tickets"
    id = Column(Integer, primary_key=True, autoincrement=True)
    question = Column(Text, nullable=False)
    turns = Column(JSON, nullable=False, default=list)
    topic = Column(String(32), nullable=False)
    kind = Column(String(16), nullable=False)
    status = Column(String(16), nullable=False, index=True)
    asker_platform = Column(String(16), nullable=False)
    asker_id = Column(String(128), nullable=False)
    asker_name = Column(String(64), nullable=False)
    group_id = Column(String(128), nullable=True)
    grid_code = Column(String(32), nullable=True, index=True)
    relayed_by = Column(String(160), nullable=True)     # platform:user_id of a coordinator
    relayed_name = Column(String(64), nullable=True)
    resident = Column(String(64), nullable=False, default="")
    assignee_platform = Column(String(16), nullable=True)
    assignee_id = Column(String(128), nullable=True)
    assignee_name = Column(String(64), nullable=True)
    office_code = Column(String(32), nullable=True)
    created_at = Column(Float, nullable=False)
    clock_started_at = Column(Float, nullable=False)
    respond_by = Column(Float, nullable=False)
    resolve_by = Column(Float, nullable=False)
    flagged = Column(Boolean, nullable=False, default=False)
    responded_at = Column(Float, nullable=True)
    answer = Column(Text, nullable=True)
    answered_at = Column(Float, nullable=True)
    closed_at = Column(Float, nullable=True)
    rating = Column(String(16), nullable=True)
    reopened = Column(Boolean, nullable=False, default=False)
    escalation = Column(Integer, nullable=False, default=0)
    generation = Column(Integer, nullable=False, default=0)   # bumped when the clock restarts
    __table_args__ = (Index("ix_tk_tickets_asker", "asker_platform", "asker_id"),)


class EventRow(Base):
    __tablename__ = "tk_events"
    id = Column(Integer, primary_key=True, autoincrement=True)
    ticket_id = Column(Integer, ForeignKey("tk_tickets.id"), nullable=False, index=True)
    kind = Column(String(16), nullable=False)
    at = Column(Float, nullable=False)
    actor = Column(String(160), nullable=False)
    note = Column(Text, nullable=False, default="")
    office_code = Column(String(32), nullable=True)


class TimerRow(Base):
    __tablename__ = "tk_timers"
    id = Column(Integer, primary_key=True, autoincrement=True)
    ticket_id = Column(Integer, ForeignKey("tk_tickets.id"), nullable=False, index=True)
    kind = Column(String(16), nullable=False)      # remind (yellow), escalate (red)
    level = Column(Integer, nullable=False, default=0)
    due_at = Column(Float, nullable=False)
    generation = Column(Integer, nullable=False)   # the ticket's clock: a transfer restarts it
    claimed_by = Column(String(64), nullable=True)
    lease_until = Column(Float, nullable=True)
    __table_args__ = (Index("ix_tk_timers_due", "due_at"),)


class MessageRow(Base):
    __tablename__ = "tk_messages"
    id = Column(Integer, primary_key=True, autoincrement=True)
    ticket_id = Column(Integer, ForeignKey("tk_tickets.id"), nullable=False, index=True)
    platform = Column(String(16), nullable=False)
    group_id = Column(String(128), nullable=True)   # a group post …
    user_id = Column(String(128), nullable=True)    # … or a direct message
    mention_id = Column(String(128), nullable=True)
    mention_name = Column(String(64), nullable=True)
    text = Column(Text, nullable=False)
    state = Column(String(16), nullable=False, index=True)   # pending, sent, failed
    attempts = Column(Integer, nullable=False, default=0)
    due_at = Column(Float, nullable=False)
    created_at = Column(Float, nullable=False)
    sent_at = Column(Float, nullable=True)
    last_error = Column(Text, nullable=True)
    platform_message_id = Column(String(128), nullable=True)   # a quote of it answers the ticket
    __table_args__ = (Index("ix_tk_messages_platform_id", "platform", "platform_message_id"),)

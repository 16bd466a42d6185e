"""Notices for the web chat rooms: the dispatcher stores them in `bc_web_messages`
(in the same transaction as the delivery's outcome), the back office posts its
answers with `post()`; the union website and the demo page read them here, by the
web group's id in the grid directory."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import insert, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from broadcast.tables import WebMessageRow
from core.platforms import WEB
from grids import repository

LATEST = 20  # notices shown when a page opens


class UnknownRoom(LookupError):
    """No web group with that id in the grid directory."""


@dataclass(frozen=True)
class WebNotice:
    id: int
    notice_id: int
    text: str
    created_at: float

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "notice_id": self.notice_id, "text": self.text,
                "created_at": self.created_at}


def post(engine: Engine, room: str, text: str) -> int:
    """Put a message of the union into a web room (the back office's answers use
    it); the page shows it with the notices. Returns its id in the feed."""
    with engine.begin() as conn:
        result = conn.execute(insert(WebMessageRow).values(
            room=room, notice_id=0, delivery_id=0, text=text, created_at=time.time()))
        return int(result.inserted_primary_key[0])


class WebNoticeFeed:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._rooms: dict[str, str] = {}
        self._ready = False

    def _tables_ready(self) -> bool:
        """The broadcaster's schema appears when it is first started; until then no
        notice can exist (checked again on each call until it is there)."""
        if not self._ready:
            self._ready = inspect(self.engine).has_table(WebMessageRow.__tablename__)
        return self._ready

    def room_of(self, group_id: str) -> str:
        room = self._rooms.get(group_id)
        if room is None:
            with Session(self.engine, future=True) as session:
                group = repository.chat_group(session, WEB, group_id)
            if group is None or not group.send_target.startswith("room:"):
                raise UnknownRoom(group_id)
            room = self._rooms[group_id] = group.send_target.removeprefix("room:")
        return room

    def since(self, group_id: str, after: int | None = None, limit: int = 50) -> list[WebNotice]:
        """Notices of the group's room after message id `after`, oldest first; without
        `after`, the latest `LATEST`."""
        room = self.room_of(group_id)
        if not self._tables_ready():
            return []
        query = select(WebMessageRow).where(WebMessageRow.room == room)
        if after is None:
            query = query.order_by(WebMessageRow.id.desc()).limit(LATEST)
        else:
            query = query.where(WebMessageRow.id > after).order_by(WebMessageRow.id).limit(limit)
        with Session(self.engine, future=True) as session:
            rows = list(session.execute(query).scalars())
        rows.sort(key=lambda row: row.id)
        return [WebNotice(row.id, row.notice_id, row.text, row.created_at) for row in rows]

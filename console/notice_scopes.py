"""Which console scope created a notice (`cs_notices`): street staff see and manage
the notices created for their street; district staff and admins see every notice,
those sent from the command line or the JSON API included. No web framework."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from console.tables import NoticeScopeRow


def record(engine: Engine, notice_id: int, username: str, street_code: str | None) -> None:
    with Session(engine, future=True) as session, session.begin():
        session.merge(NoticeScopeRow(notice_id=notice_id, username=username,
                                     street_code=street_code))


def of_street(engine: Engine, street_code: str) -> set[int]:
    with Session(engine, future=True) as session:
        return set(session.execute(select(NoticeScopeRow.notice_id).where(
            NoticeScopeRow.street_code == street_code)).scalars())


def street_of(engine: Engine, notice_id: int) -> str | None:
    with Session(engine, future=True) as session:
        row = session.get(NoticeScopeRow, notice_id)
        return row.street_code if row is not None else None

"""What every part of the outbox shares: the engine, the clock, sessions."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session


class Store:
    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.clock = clock
        self._notices: dict[int, tuple[str, str, str]] = {}   # id → title, body, format

    @property
    def shared(self) -> bool:
        """True when several processes may dispatch (not SQLite)."""
        return self.engine.dialect.name != "sqlite"

    def session(self) -> Session:
        return Session(self.engine, future=True, expire_on_commit=False)

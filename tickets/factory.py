"""One `TicketService` per process and database, for the code that Rasa and
rasa-sdk construct themselves (input channels, actions) and cannot be handed one:
the application database (schema migrated once), the configured offices, the
holiday calendar and the grid directory's coordinators."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine

from core import db
from core.settings import Settings
from tickets import db as tickets_db
from tickets.holidays import default_calendar
from tickets.offices import DEFAULT_FILE
from tickets.offices import load as load_offices
from tickets.service import TicketService

logger = logging.getLogger(__name__)


def build(settings: Settings, clock: Callable[[], float] = time.time,
          engine: Engine | None = None) -> TicketService:
    """The service on `engine` (already migrated by the caller), or on this process's
    engine for the application database with the tickets' schema migrated."""
    from grids.service import service_for as directory_for

    directory = directory_for(settings.database_url)

    def coordinator_of(grid_code: str) -> Any:
        try:
            return directory.grid_view(grid_code).coordinator
        except Exception:  # an unknown grid or no directory: nobody to route to
            logger.warning("No coordinator found for grid %s", grid_code)
            return None

    if engine is None:
        engine = db.engine_for(settings.database_url)
        tickets_db.upgrade(engine)
    return TicketService(engine, load_offices(DEFAULT_FILE), default_calendar(),
                         coordinator_of=coordinator_of, clock=clock)


@functools.lru_cache(maxsize=4)
def _cached(settings: Settings) -> TicketService:
    return build(settings)


def service_for(settings: Settings | None = None) -> TicketService:
    """This process's ticket service (built on first use)."""
    return _cached(settings or Settings.current())


def forget() -> None:
    """Build afresh on the next call (tests that change the environment)."""
    _cached.cache_clear()

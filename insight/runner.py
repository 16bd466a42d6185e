"""The statistics' loop in a long-running process (the staff app): ingest whatever
the event broker wrote, then wait `interval` seconds (or until `stop`), forever.
Failures are logged and retried with backoff; the high-water mark makes a restart
continue where the last committed batch ended."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from pathlib import Path

from sqlalchemy.engine import Engine, make_url

from core.secret_files import read_or_create
from insight.events import Keys
from insight.ingest import BATCH, Ingester, Source

logger = logging.getLogger(__name__)

INTERVAL = 2.0
MAX_BACKOFF = 60.0
KEY_FILE = "insight_key"
EVENTS_FILE = "events.db"


def secret_in(data_dir: Path) -> bytes:
    """The key of the askers' hashes: DATA_DIR/insight_key, generated once (0600)."""
    text = read_or_create(data_dir / KEY_FILE, lambda: secrets.token_hex(32),
                          "Statistics key")
    return text.encode("ascii")


def broker_database_url(database_url: str, data_dir: Path) -> str:
    """Where Rasa's SQL event broker writes its `events`: on the embedded SQLite
    default a file of its own next to the tracker store (DATA_DIR/events.db), so the
    Rasa server's commits never wait for the staff process's writers on the business
    database and the reverse; on PostgreSQL the application database itself (it has
    no single-writer lock, and one database is one thing to back up)."""
    if make_url(database_url).get_backend_name() == "sqlite":
        return f"sqlite:///{data_dir / EVENTS_FILE}"
    return database_url


async def run(engine: Engine, stop: asyncio.Event, *, source: Source, secret: bytes,
              interval: float = INTERVAL, batch: int = BATCH) -> None:
    """Ingest `source` into the statistics of `engine` until `stop` is set."""
    ingester = Ingester(engine, source, Keys(secret), batch=batch)
    delay = interval
    while not stop.is_set():
        try:
            count = await asyncio.to_thread(ingester.ingest_all)
            if count:
                logger.debug("Statistics: %d events ingested from %s", count, source.name)
            delay = interval
        except Exception:
            logger.exception("Statistics: ingesting %s failed; trying again", source.name)
            delay = min(max(delay, interval) * 2, MAX_BACKOFF)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)

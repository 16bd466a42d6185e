"""The scale-out path: Rasa's `PikaEventBroker` publishes every event to a durable
RabbitMQ queue; this consumer writes them, in arrival order, into
`in_broker_events` (the shape of the SQL broker's `events` table), and the same
ingester (`Source.pika`) does the rest.

A message is acknowledged only after the transaction holding its row committed;
a batch whose write fails is written again (backoff) and stays unacknowledged
meanwhile, so a crash loses nothing (RabbitMQ redelivers) and a redelivered message
is dropped by its digest instead of being counted twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
from collections.abc import Sequence
from typing import Any

import aio_pika
from sqlalchemy.engine import Engine

from insight.tables import BrokerEventRow

logger = logging.getLogger(__name__)

DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_QUEUE = "rasa_core_events"   # Rasa's default queue name
BATCH = 500
LINGER = 0.2            # seconds a batch waits for more messages
MAX_BACKOFF = 30.0


def digest_of(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


def _insert_ignoring_duplicates(engine: Engine) -> Any:
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(BrokerEventRow).on_conflict_do_nothing(index_elements=["digest"])
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(BrokerEventRow).on_conflict_do_nothing(index_elements=["digest"])


def write_bodies(engine: Engine, bodies: Sequence[bytes]) -> None:
    """One transaction: a row per message body (duplicates by digest dropped)."""
    import json

    rows = []
    for body in bodies:
        text = body.decode("utf-8", errors="replace")
        try:
            sender = json.loads(text).get("sender_id")
        except (ValueError, AttributeError):
            sender = None
        rows.append({"sender_id": str(sender)[:255] if sender is not None else None,
                     "data": text, "digest": digest_of(body)})
    if rows:
        with engine.begin() as connection:
            connection.execute(_insert_ignoring_duplicates(engine), rows)


async def consume(engine: Engine, stop: asyncio.Event, *, url: str = DEFAULT_URL,
                  queue: str = DEFAULT_QUEUE, batch: int = BATCH,
                  linger: float = LINGER) -> None:
    """Consume `queue` into `in_broker_events` until `stop` is set."""
    connection = await aio_pika.connect_robust(url, timeout=10)
    async with connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=batch)
        declared = await channel.declare_queue(queue, durable=True)
        inbox: asyncio.Queue[aio_pika.abc.AbstractIncomingMessage] = asyncio.Queue()
        tag = await declared.consume(inbox.put, no_ack=False)
        logger.info("Statistics: consuming RabbitMQ queue %s", queue)
        try:
            while not stop.is_set():
                messages = await _next_batch(inbox, stop, batch, linger)
                if messages and await _write(engine, messages, stop):
                    await messages[-1].ack(multiple=True)
        finally:
            with contextlib.suppress(Exception):
                await declared.cancel(tag)


async def _next_batch(inbox: asyncio.Queue[Any], stop: asyncio.Event, batch: int,
                      linger: float) -> list[Any]:
    waiter = asyncio.ensure_future(stop.wait())
    getter = asyncio.ensure_future(inbox.get())
    try:
        await asyncio.wait({waiter, getter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    if not getter.done():
        getter.cancel()
        return []
    messages = [getter.result()]
    deadline = asyncio.get_running_loop().time() + linger
    while len(messages) < batch:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            break
        try:
            messages.append(await asyncio.wait_for(inbox.get(), timeout=left))
        except asyncio.TimeoutError:
            break
    return messages


async def _write(engine: Engine, messages: Sequence[Any], stop: asyncio.Event) -> bool:
    """Write until it works (True) or `stop` is set (False: left unacknowledged)."""
    delay = 0.5
    bodies = [m.body for m in messages]
    while True:
        try:
            await asyncio.to_thread(write_bodies, engine, bodies)
            return True
        except Exception:
            logger.exception("Statistics: could not store %d broker events; retrying",
                             len(bodies))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay * random.uniform(0.8, 1.2))
        if stop.is_set():
            return False
        delay = min(delay * 2, MAX_BACKOFF)

"""The event broker paths with Rasa's own broker classes and real services:
SQLEventBroker writing to SQLite (the embedded default: its own file) and to
PostgreSQL (the application database), then ingested; PikaEventBroker publishing
to the local RabbitMQ (127.0.0.1:5672), `insight.consumer` writing the rows
(acknowledged only after commit), then the same ingester."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aio_pika
import pytest
from rasa.core.brokers.pika import PikaEventBroker
from rasa.core.brokers.sql import SQLEventBroker
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from core.db import create
from insight.consumer import DEFAULT_URL, consume, write_bodies
from insight.events import Keys
from insight.ingest import Ingester, Source
from insight.service import Statistics
from insight.tables import BrokerEventRow
from tests.insight_scenario import (
    NOW,
    SECRET,
    broker_dicts,
    check_conversation,
    migrate,
    seed_directory,
)
from tests.pg import PostgresSchemas


def app_engine(url: str) -> Engine:
    engine = create(url)
    migrate(engine)
    seed_directory(engine)
    return engine


def test_sql_event_broker_on_sqlite(tmp_path: Path) -> None:
    engine = app_engine(f"sqlite:///{tmp_path / 'app.db'}")
    events_url = f"sqlite:///{tmp_path / 'events.db'}"
    broker = SQLEventBroker(host=events_url)      # what `event_broker: {type: SQL, url}` makes
    for event in broker_dicts():
        broker.publish(event)
    broker.engine.dispose()
    ingested = Ingester(engine, Source.sql_broker(create(events_url)), Keys(SECRET)).ingest_all()
    assert ingested == len(broker_dicts())
    check_conversation(Statistics(engine, clock=lambda: NOW))


@pytest.mark.postgres
def test_sql_event_broker_on_postgres(pg: PostgresSchemas) -> None:
    url = pg.new_url()
    engine = app_engine(url)
    broker = SQLEventBroker(host=url)
    for event in broker_dicts():
        broker.publish(event)
    broker.engine.dispose()
    assert Ingester(engine, Source.sql_broker(engine), Keys(SECRET)).ingest_all() \
        == len(broker_dicts())
    check_conversation(Statistics(engine, clock=lambda: NOW))


# --- RabbitMQ ------------------------------------------------------------------------
@pytest.fixture
async def rabbit_queue() -> AsyncIterator[tuple[str, str]]:
    """A fresh queue and exchange on the local RabbitMQ, deleted afterwards."""
    try:
        connection = await aio_pika.connect(DEFAULT_URL, timeout=3)
    except Exception as exc:  # no broker on this machine
        pytest.skip(f"RabbitMQ not available: {exc.__class__.__name__}")
    name = f"insight_test_{uuid.uuid4().hex[:10]}"
    try:
        yield name, f"{name}_exchange"
    finally:
        channel = await connection.channel()
        with contextlib.suppress(Exception):
            await channel.queue_delete(name)
        with contextlib.suppress(Exception):
            await channel.exchange_delete(f"{name}_exchange")
        await connection.close()


async def publish_all(queue: str, exchange: str) -> int:
    broker = PikaEventBroker("127.0.0.1", "guest", "guest", port=5672, queues=[queue],
                             exchange_name=exchange, event_loop=asyncio.get_running_loop())
    await broker.connect()
    events = broker_dicts()
    for event in events:
        broker.publish(event)
    while broker._background_tasks:           # Rasa publishes in tasks of its own
        await asyncio.sleep(0.02)
    await broker.close()
    return len(events)


def broker_rows(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(BrokerEventRow)).scalar_one())


async def consume_until(engine: Engine, queue: str, count: int, timeout: float = 20) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(consume(engine, stop, queue=queue, batch=7, linger=0.05))
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while broker_rows(engine) < count:
            assert not task.done(), task.exception()
            assert asyncio.get_running_loop().time() < deadline, "events did not arrive"
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)


async def queued(queue: str) -> int:
    connection = await aio_pika.connect(DEFAULT_URL, timeout=3)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, durable=True, passive=True)
        return int(declared.declaration_result.message_count or 0)


async def test_pika_event_broker_to_statistics(tmp_path: Path,
                                               rabbit_queue: tuple[str, str]) -> None:
    queue, exchange = rabbit_queue
    engine = app_engine(f"sqlite:///{tmp_path / 'app.db'}")
    count = await publish_all(queue, exchange)
    await consume_until(engine, queue, count)
    assert broker_rows(engine) == count
    assert await queued(queue) == 0                  # every message acknowledged
    ingester = Ingester(engine, Source.pika(engine), Keys(SECRET))
    assert await asyncio.to_thread(ingester.ingest_all) == count
    check_conversation(Statistics(engine, clock=lambda: NOW))


async def test_messages_are_acknowledged_only_after_they_are_stored(
        tmp_path: Path, rabbit_queue: tuple[str, str]) -> None:
    queue, exchange = rabbit_queue
    broken = create(f"sqlite:///{tmp_path / 'unmigrated.db'}")   # no in_broker_events table
    count = await publish_all(queue, exchange)
    stop = asyncio.Event()
    task = asyncio.create_task(consume(broken, stop, queue=queue, batch=100, linger=0.05))
    await asyncio.sleep(1.5)                          # it tries, fails, backs off
    stop.set()
    await asyncio.wait_for(task, timeout=10)
    assert await queued(queue) == count               # nothing was lost
    engine = app_engine(f"sqlite:///{tmp_path / 'app.db'}")
    await consume_until(engine, queue, count)
    assert broker_rows(engine) == count


def test_a_redelivered_message_is_stored_once(tmp_path: Path) -> None:
    engine = app_engine(f"sqlite:///{tmp_path / 'app.db'}")
    body = b'{"sender_id": "s", "event": "user", "timestamp": 1.5, "text": "hi"}'
    write_bodies(engine, [body])
    write_bodies(engine, [body, body])
    assert broker_rows(engine) == 1


async def test_the_runtime_endpoints_file_gives_rasa_the_sql_event_broker(tmp_path: Path) -> None:
    """What `cloud-doctor run` writes is what `rasa run` builds its broker from: on the
    SQLite default, events.db under DATA_DIR, which the staff process's ingester reads."""
    from rasa.core.brokers.broker import EventBroker
    from rasa.core.utils import AvailableEndpoints

    from bot.serve import runtime_endpoints
    from core.settings import Settings
    from insight.runner import broker_database_url

    url = f"sqlite:///{tmp_path / 'app.db'}"
    settings = Settings.from_env(env={"DATA_DIR": str(tmp_path / "var"), "DATABASE_URL": url},
                                 project_dir=Path(__file__).resolve().parents[3])
    endpoints = AvailableEndpoints.read_endpoints(str(runtime_endpoints(settings)))
    broker = await EventBroker.create(endpoints.event_broker)
    assert isinstance(broker, SQLEventBroker)
    for event in broker_dicts():
        broker.publish(event)
    broker.engine.dispose()
    events_url = broker_database_url(url, settings.data_dir)
    assert events_url == f"sqlite:///{settings.data_dir / 'events.db'}"
    engine = app_engine(url)
    assert Ingester(engine, Source.sql_broker(create(events_url)), Keys(SECRET)).ingest_all() \
        == len(broker_dicts())
    check_conversation(Statistics(engine, clock=lambda: NOW))


async def test_with_event_broker_url_rasa_gets_the_pika_broker(tmp_path: Path) -> None:
    """EVENT_BROKER_URL (the scale-out path): what `cloud-doctor run` writes gives
    `rasa run` Rasa's own PikaEventBroker on the local RabbitMQ."""
    from rasa.core.brokers.broker import EventBroker
    from rasa.core.brokers.pika import PikaEventBroker
    from rasa.core.utils import AvailableEndpoints

    from bot.serve import runtime_endpoints
    from core.settings import Settings
    from insight.consumer import DEFAULT_QUEUE

    settings = Settings.from_env(env={"DATA_DIR": str(tmp_path / "var"),
                                      "EVENT_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672/"},
                                 project_dir=Path(__file__).resolve().parents[3])
    endpoints = AvailableEndpoints.read_endpoints(str(runtime_endpoints(settings)))
    assert endpoints.event_broker.type == "pika"
    broker = await EventBroker.create(endpoints.event_broker)
    try:
        assert isinstance(broker, PikaEventBroker)
        assert broker.queues == [DEFAULT_QUEUE] and broker.is_ready()
    finally:
        await broker.close()


def test_a_malformed_event_broker_url_is_refused() -> None:
    from core.settings import Settings

    with pytest.raises(ValueError, match="EVENT_BROKER_URL"):
        Settings.from_env(env={"EVENT_BROKER_URL": "rabbitmq.example:5672"})

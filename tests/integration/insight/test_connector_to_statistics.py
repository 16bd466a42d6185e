"""A message sent through each connector (real Sanic server, the fake platform, signed
callbacks) reaches the statistics: the turn is recorded by a real Rasa tracker store
whose event broker is Rasa's SQLEventBroker on SQLite, exactly the events Rasa's
processor would stream (only NLU is stood in for: no model here; the full stack is
tests/e2e/test_statistics_e2e.py), then ingested with the platform, the group's grid
and the flags the bot's actions imply."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from rasa.core.brokers.sql import SQLEventBroker
from rasa.core.channels.channel import UserMessage
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

from core.clock import SHANGHAI
from core.db import create
from core.platforms import PLATFORMS
from grids.directory import ChatGroup
from insight.events import Keys
from insight.ingest import Ingester, Source
from insight.model import By, Period, Scope
from insight.service import Statistics
from tests.fakes.harness import CHANNELS, FAKES, JOIN_ANSWER, start_bot
from tests.insight_scenario import GA, SECRET, faq, migrate, nlu_fallback, seed_directory

GROUP = "20001"


class TrackerAgent:
    """Stands in for rasa.core.agent.Agent: records each turn in a real tracker store
    (which streams the new events to its event broker), answers like the assistant."""

    def __init__(self, store: InMemoryTrackerStore) -> None:
        self.store = store
        self.messages: list[UserMessage] = []

    async def handle_message(self, message: UserMessage) -> None:
        self.messages.append(message)
        understood = "入会" in (message.text or "")
        parse = faq("join_union") if understood else nlu_fallback("union_dues")
        answer = JOIN_ANSWER if understood else "抱歉，这句话我没太看懂。"
        tracker = await self.store.get_or_create_tracker(message.sender_id)
        tracker.update(UserUttered(message.text, parse["intent"], [],
                                   parse_data={**parse, "text": message.text},
                                   input_channel=message.input_channel,
                                   message_id=message.message_id, metadata=message.metadata))
        tracker.update(ActionExecuted("utter_faq" if understood
                                      else "action_cloud_doctor_fallback"))
        tracker.update(BotUttered(answer))
        tracker.update(ActionExecuted("action_listen"))
        await self.store.save(tracker)
        assert message.output_channel is not None
        await message.output_channel.send_response(message.sender_id, {"text": answer})


@pytest.mark.parametrize("name", list(CHANNELS))
async def test_messages_through_a_connector_appear_in_the_statistics(
        name: str, tmp_path: Path) -> None:
    engine = create(f"sqlite:///{tmp_path / 'app.db'}")
    migrate(engine)
    seed_directory(engine, [ChatGroup(p, GROUP, "测试群", GA, "webhook", "x")
                            for p in PLATFORMS])
    events_url = f"sqlite:///{tmp_path / 'events.db'}"
    broker = SQLEventBroker(host=events_url)
    agent = TrackerAgent(InMemoryTrackerStore(Domain.empty(), event_broker=broker))
    fake = FAKES[name]()
    await fake.start()
    channel: Any = CHANNELS[name].from_credentials(fake.credentials())
    bot = await start_bot(channel, agent)  # type: ignore[arg-type]
    fake.bot_url = bot.webhook(name)
    try:
        await fake.send_group_message(GROUP, "1001", "农民工怎么入会？")
        await fake.wait_for_replies(1)
        await fake.send_group_message(GROUP, "1002", "那个啥来着")
        await fake.wait_for_replies(2)
    finally:
        await bot.stop()
        await fake.stop()
    broker.engine.dispose()
    platform = agent.messages[0].metadata["platform"]

    assert Ingester(engine, Source.sql_broker(create(events_url)), Keys(SECRET)).ingest_all() > 0
    today = datetime.now(SHANGHAI).date()
    stats = Statistics(engine)
    [row] = stats.conversation(Period(today, today), Scope.of_grids({GA}), By.PLATFORM).records()
    assert (row["key"], row["questions"], row["askers"]) == (platform, 2, 2)
    assert (row["answered"], row["fallbacks"]) == (1, 1)
    [queued] = stats.unanswered(Scope.of_grids({GA})).table.records()
    assert queued["text"] == "那个啥来着" and queued["grid"] == GA
    engine.dispose()

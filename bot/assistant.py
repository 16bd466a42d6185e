"""The trained assistant in-process: NLU parse, topic mapping and the full
dialogue turn (rules, responses and custom actions run in this process through
`InProcessActionEndpoint`, so the CLI and tests need no action server)."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.nlg import NaturalLanguageGenerator
from rasa.utils.endpoints import EndpointConfig

from actions.answers import topic_in_context
from core.normalize import clip
from core.topics import FOLLOW_UP_INTENT, OUT_OF_SCOPE, TopicResult, topic_of

logger = logging.getLogger(__name__)


class InProcessActionEndpoint(EndpointConfig):
    """An action endpoint that runs rasa-sdk actions in this process instead of over HTTP."""

    def __init__(self, package: str = "actions") -> None:
        super().__init__(url="inprocess://actions")
        from rasa_sdk.executor import ActionExecutor

        self._executor = ActionExecutor()
        self._executor.register_package(package)

    async def request(self, method: str = "post", subpath: str | None = None,
                      content_type: str | None = "application/json", compress: bool = False,
                      **kwargs: Any) -> Any:
        return await self._executor.run(kwargs["json"])


@dataclass(frozen=True)
class Answer:
    text: str
    topic: str
    confidence: float
    answer: str
    fallback: bool

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["confidence"] = round(self.confidence, 4)
        return data


class Assistant:
    def __init__(self, agent: Agent) -> None:
        self._agent = agent

    @classmethod
    async def load(cls, model_path: Path, actions_package: str = "actions",
                   generator: EndpointConfig | NaturalLanguageGenerator | None = None) -> Assistant:
        """`generator`: Rasa's NLG, e.g. `bot.nlg.endpoint_config(url)` for the knowledge
        base's answers (default: the model's template texts)."""
        agent = Agent.load(str(model_path), generator=generator,
                           action_endpoint=InProcessActionEndpoint(actions_package))
        if not agent.is_ready():
            raise RuntimeError(f"model could not be loaded: {model_path}")
        return cls(agent)

    async def parse(self, text: str) -> dict[str, Any]:
        return await self._agent.parse_message(clip(text))

    async def classify(self, text: str) -> TopicResult:
        return topic_of(await self.parse(text))

    async def ask(self, text: str, sender_id: str | None = None,
                  metadata: dict[str, Any] | None = None) -> Answer:
        """Run one full dialogue turn; a fresh conversation unless sender_id is given."""
        text = clip(text)  # the one bound, before anything expensive
        sender = sender_id or f"cli:{uuid.uuid4().hex}"
        channel = CollectingOutputChannel()
        await self._agent.handle_message(
            UserMessage(text, channel, sender, input_channel="cli", metadata=metadata)
        )
        tracker = await self._agent.tracker_store.retrieve(sender)
        parse = tracker.latest_message.parse_data if tracker and tracker.latest_message else {}
        result = topic_of(parse)
        if tracker and (parse.get("intent") or {}).get("name") == FOLLOW_UP_INTENT:
            # A follow-up reports the topic it was answered for (or asked back without one).
            events = [e.as_dict() for e in tracker.events]
            context = topic_in_context(events, time.time())
            result = TopicResult(context or OUT_OF_SCOPE, result.confidence, context is None)
        reply = "\n".join(m["text"] for m in channel.messages if m.get("text"))
        return Answer(text, result.topic, result.confidence, reply, result.fallback)

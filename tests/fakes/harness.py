"""Runs the connector channels in a real Sanic server, mounted by Rasa's own
`register()`, with a stub agent instead of the trained model (integration tests)."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage, register
from sanic import Sanic

from connectors.dingtalk import DingTalkInput
from connectors.feishu import FeishuInput
from connectors.onebot import OneBotInput
from connectors.webchat import WebChatInput
from connectors.wecom import WeComInput
from tests.fakes import FAKES, FakePlatform
from tests.fakes.base import free_port

# Several apps start in one process: keep Sanic's per-app registry and touch-ups re-entrant.
Sanic.test_mode = True

CHANNELS: dict[str, type[InputChannel]] = {
    "wecom": WeComInput,
    "dingtalk": DingTalkInput,
    "feishu": FeishuInput,
    "onebot": OneBotInput,
    "webchat": WebChatInput,
}
SIGNED = ["wecom", "dingtalk", "feishu", "onebot"]
JOIN_ANSWER = "农民工可以就近到工会职工服务站申请入会，也可以拨打 12351 咨询。"
_names = itertools.count()


def stub_answer(text: str) -> str:
    return JOIN_ANSWER if "入会" in text else f"收到：{text}"


@dataclass
class StubAgent:
    """Stands in for rasa.core.agent.Agent: answers from a table, records messages."""

    delay: float = 0.0
    fail: bool = False
    messages: list[UserMessage] = field(default_factory=list)

    async def handle_message(self, message: UserMessage) -> None:
        self.messages.append(message)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("stub agent failure")
        assert message.output_channel is not None
        await message.output_channel.send_response(message.sender_id,
                                                   {"text": stub_answer(message.text or "")})


@dataclass
class Bot:
    url: str
    agent: StubAgent
    channel: Any
    server: Any

    def webhook(self, channel: str) -> str:
        return f"{self.url}/webhooks/{channel}/webhook"

    async def stop(self) -> None:
        await self.server.before_stop()
        self.server.close()
        await self.server.wait_closed()
        await self.server.after_stop()


async def start_bot(channel: InputChannel, agent: StubAgent | None = None) -> Bot:
    app = Sanic(f"connectors_test_{next(_names)}")
    agent = agent or StubAgent()
    app.ctx.agent = agent
    register([channel], app, route="/webhooks/")
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True,
                                     access_log=False)
    assert server is not None
    await server.startup()
    await server.before_start()
    await server.after_start()
    return Bot(f"http://127.0.0.1:{port}", agent, channel, server)


@dataclass
class Stack:
    name: str
    fake: FakePlatform
    bot: Bot

    @property
    def agent(self) -> StubAgent:
        return self.bot.agent

    async def settle(self) -> None:
        """Wait until the channel's background turns have finished."""
        for _ in range(500):
            if not self.bot.channel.pending:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("background turns did not finish")


async def make_stack(name: str, **credentials: Any) -> Stack:
    fake = FAKES[name]()
    await fake.start()
    channel = CHANNELS[name].from_credentials({**fake.credentials(), **credentials})
    bot = await start_bot(channel)
    fake.bot_url = bot.webhook(name)
    return Stack(name, fake, bot)



"""Local fakes of the chat platforms (aiohttp servers). Each fake sends callbacks
signed the way the real platform signs them (with its own, independent crypto in
`signing.py`), records what the bot sends back as platform-neutral `Reply`s, and
can inject latency, errors, rate-limit answers and timeouts on its API."""

from tests.fakes.base import BotResponse, FakePlatform, Faults, Reply
from tests.fakes.dingtalk import FakeDingTalk
from tests.fakes.feishu import FakeFeishu
from tests.fakes.onebot import FakeOneBot
from tests.fakes.webchat import FakeWebChat
from tests.fakes.wecom import FakeWeCom

FAKES: dict[str, type[FakePlatform]] = {
    "wecom": FakeWeCom,
    "dingtalk": FakeDingTalk,
    "feishu": FakeFeishu,
    "onebot": FakeOneBot,
    "webchat": FakeWebChat,
}

__all__ = ["FAKES", "BotResponse", "FakeDingTalk", "FakeFeishu", "FakeOneBot", "FakePlatform",
           "FakeWeCom", "FakeWebChat", "Faults", "Reply"]

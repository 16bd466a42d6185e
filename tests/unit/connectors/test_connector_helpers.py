"""Splitting long messages, credentials parsing and the output buffer."""

from __future__ import annotations

import logging

import pytest
from rasa.core.channels.channel import InputChannel
from rasa.shared.exceptions import RasaException

from connectors.dingtalk import DingTalkInput
from connectors.feishu import FeishuInput
from connectors.onebot import OneBotInput
from connectors.options import ChannelOptions
from connectors.policy import GroupRule, Mode
from connectors.webchat import WebChatInput, WebChatOutput
from connectors.wecom import WeComInput, fit
from core.utf8 import split_lines as split_utf8
from platforms.message import IncomingMessage


@pytest.mark.parametrize("text", ["", "短", "工会" * 3000, "a\n" * 3000, "行一\n行二\n" * 500])
def test_split_utf8_keeps_everything_within_the_limit(text: str) -> None:
    parts = split_utf8(text, 2048)
    assert all(len(p.encode()) <= 2048 for p in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")


def test_split_prefers_line_breaks() -> None:
    line = "甲" * 300  # 900 bytes: two lines fit in 2048, three do not
    assert split_utf8(f"{line}\n{line}\n{line}\n", 2048) == [f"{line}\n{line}", line]


def test_fit_marks_a_cut() -> None:
    assert fit("短", 4096) == "短"
    cut = fit("长" * 3000, 4096)
    assert len(cut.encode()) <= 4096 and cut.endswith("）")


def test_options_from_credentials() -> None:
    options = ChannelOptions.from_credentials({
        "bot_names": "云博士", "groups": {123: "all", "g2": {"mode": "keyword"}},
        "flood_limit": "3", "max_clock_skew": 60})
    assert options.bot_names == ("云博士",)
    assert options.group_rules == {"123": GroupRule(Mode.ALL),
                                   "g2": GroupRule(Mode.KEYWORD, "云博士")}
    assert (options.flood_limit, options.skew(300)) == (3, 60.0)
    assert ChannelOptions().skew(300) == 300
    with pytest.raises(RasaException):
        ChannelOptions.from_credentials({"groups": {"g": "sometimes"}})
    with pytest.raises(RasaException):
        ChannelOptions.from_credentials({"flood_limit": "many"})


@pytest.mark.parametrize("channel, missing", [
    (WeComInput, {"token": "t"}),
    (DingTalkInput, {}),
    (FeishuInput, {"app_id": "a", "app_secret": "s"}),
])
def test_missing_credentials_are_named(channel: type[InputChannel], missing: dict) -> None:
    with pytest.raises(RasaException, match="needs"):
        channel.from_credentials(missing)


def test_channels_build_from_credentials() -> None:
    assert WeComInput.from_credentials({"token": "t", "encoding_aes_key": "a" * 43}).name() == "wecom"
    onebot = OneBotInput.from_credentials({"reply_mode": "api"})
    assert isinstance(onebot, OneBotInput) and onebot.inline_wait == 0
    with pytest.raises(RasaException):
        OneBotInput.from_credentials({"reply_mode": "loud"})
    assert WebChatInput.from_credentials(None).name() == "webchat"


async def test_output_buffers_one_turn() -> None:
    output = WebChatOutput(IncomingMessage(platform="web", message_id="1", user_id="u"))
    await output.send_response("u", {"text": "您好"})
    await output.send_response("u", {"text": "请选择", "buttons": [{"title": "入会"},
                                                                 {"title": "维权"}]})
    await output.send_response("u", {"image": "https://example.invalid/a.png"})
    assert output.take() == ["您好", "请选择\n1. 入会\n2. 维权", "图片：https://example.invalid/a.png"]
    assert output.take() == []


def test_guard_settings_from_credentials() -> None:
    assert ChannelOptions().max_body_bytes == 1 << 20
    assert ChannelOptions.from_credentials({"max_body_bytes": "4096"}).max_body_bytes == 4096
    web = WebChatInput.from_credentials({"session_secret": "s" * 16, "trusted_proxies": "10.0.0.0/8",
                                         "address_flood_limit": 3, "max_waiting_turns": 2,
                                         "session_ttl": 60})
    assert isinstance(web, WebChatInput)
    assert [str(n) for n in web.trusted_proxies] == ["10.0.0.0/8"]
    assert (web.address_flood.limit, web.max_waiting_turns, web.sessions.ttl) == (3, 2, 60)
    for bad in ({"session_secret": "short"}, {"trusted_proxies": ["proxy.local"]},
                {"address_flood_limit": "lots"}, {"address_flood_limit": 0}):
        with pytest.raises(RasaException):
            WebChatInput.from_credentials(bad)
    with pytest.raises(RasaException, match="allow_unsigned"):
        OneBotInput.from_credentials({"allow_unsigned": "yes"})


def test_onebot_without_a_secret_says_so_at_start_up(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="connectors.onebot"):
        OneBotInput.from_credentials({"secret": "s"})
        assert caplog.records == []
        OneBotInput.from_credentials({})
        assert "will be refused" in caplog.text
        OneBotInput.from_credentials({"allow_unsigned": True})
        assert "allow_unsigned is on" in caplog.text

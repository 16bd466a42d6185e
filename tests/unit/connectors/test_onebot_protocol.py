"""OneBot v11: X-Signature, heartbeats, at segments and CQ strings."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest

from platforms.errors import StaleRequest, VerificationFailed
from platforms.message import Ignored, IncomingMessage, MessageKind, RawRequest
from platforms.protocol.onebot import OneBotProtocol, parse_cq, parse_message, signature

DATA = Path(__file__).parents[2] / "data" / "onebot"
SECRET = "onebot-secret"


def _load(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def _request(payload: dict, secret: str | None = SECRET) -> RawRequest:
    body = json.dumps(payload).encode()
    headers = {"x-signature": signature(secret, body)} if secret else {}
    return RawRequest("POST", {}, headers, body)


def _protocol() -> OneBotProtocol:
    return OneBotProtocol(SECRET, clock=lambda: 1700000010)


def test_signature_format() -> None:
    expected = hmac.new(b"k", b'{"a":1}', hashlib.sha1).hexdigest()
    assert signature("k", b'{"a":1}') == f"sha1={expected}"


def test_group_message_with_at_reply_and_face() -> None:
    message = _protocol().handle(_request(_load("group_at.json")))
    assert isinstance(message, IncomingMessage)
    assert message.mentioned and not message.mentions_all
    assert message.text == "老板拖欠工资三个月了怎么办"
    assert (message.group_id, message.user_id) == ("726412345", "10001000")
    assert message.user_name == "3号楼 王师傅"  # the group card wins over the nickname
    assert message.dedupe_key == "3300000001:-2147480001"
    assert message.kind is MessageKind.TEXT
    assert message.quoted_id == "-2147480000"   # the reply segment: the message it quotes


def test_heartbeat_is_ignored_but_still_verified() -> None:
    assert isinstance(_protocol().handle(_request(_load("heartbeat.json"))), Ignored)
    with pytest.raises(VerificationFailed):
        _protocol().handle(_request(_load("heartbeat.json"), secret="wrong"))
    with pytest.raises(VerificationFailed):
        _protocol().handle(_request(_load("heartbeat.json"), secret=None))


def test_without_a_secret_unsigned_posts_are_refused() -> None:
    protocol = OneBotProtocol("", clock=lambda: 1700000010)
    for payload in (_load("group_at.json"), _load("heartbeat.json")):
        with pytest.raises(VerificationFailed) as caught:
            protocol.handle(_request(payload, secret=None))
        assert caught.value.status == 401


def test_unsigned_posts_only_when_explicitly_allowed() -> None:
    protocol = OneBotProtocol("", clock=lambda: 1700000010, allow_unsigned=True)
    assert isinstance(protocol.handle(_request(_load("group_at.json"), secret=None)),
                      IncomingMessage)


def test_a_lone_surrogate_is_parsed_and_cleaned() -> None:
    payload = _load("group_at.json")
    payload["message"][2]["data"]["text"] = " 拖欠工资\ud83d怎么办"
    payload["sender"]["card"] = "王师傅\ud83d"
    message = _protocol().handle(_request(payload))
    assert isinstance(message, IncomingMessage)
    assert message.text == "拖欠工资\ud83d怎么办"
    bounded = message.bounded()
    assert (bounded.text, bounded.user_name) == ("拖欠工资怎么办", "王师傅")
    bounded.text.encode("utf-8")


def test_old_events_are_stale() -> None:
    protocol = OneBotProtocol(SECRET, clock=lambda: 1700000000 + 3600)
    with pytest.raises(StaleRequest):
        protocol.handle(_request(_load("group_at.json")))


def test_cq_string_with_at_all_and_image() -> None:
    message = parse_message(_load("group_cq_string.json"))
    assert message.mentions_all and not message.mentioned
    assert message.text == "明天停水,请储水"
    assert message.kind is MessageKind.TEXT


def test_voice_in_a_private_chat() -> None:
    message = parse_message(_load("private_record.json"))
    assert (message.kind, message.group_id, message.text) == (MessageKind.VOICE, None, "")


def test_parse_cq_unescapes() -> None:
    assert parse_cq("a&#91;b&#93;[CQ:at,qq=1]c&amp;") == [
        {"type": "text", "data": {"text": "a[b]"}},
        {"type": "at", "data": {"qq": "1"}},
        {"type": "text", "data": {"text": "c&"}},
    ]

"""DingTalk sign check and callback parsing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from platforms.errors import MalformedPayload, StaleRequest, VerificationFailed
from platforms.message import MessageKind, RawRequest
from platforms.protocol.dingtalk import DingTalkProtocol, parse_message, sign

DATA = Path(__file__).parents[2] / "data" / "dingtalk"
SECRET = "this-is-a-test-app-secret"
NOW_MS = 1700000000000


def _load(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def _request(body: bytes, timestamp: int = NOW_MS, secret: str = SECRET) -> RawRequest:
    ts = str(timestamp)
    return RawRequest("POST", {}, {"timestamp": ts, "sign": sign(ts, secret)}, body)


def _protocol() -> DingTalkProtocol:
    return DingTalkProtocol(SECRET, clock=lambda: NOW_MS / 1000)


def test_sign_matches_the_documented_formula() -> None:
    # base64(hmac_sha256(secret, "<timestamp>\n<secret>")), computed independently
    import base64
    import hashlib
    import hmac

    expected = base64.b64encode(hmac.new(b"s3cret", b"1700000000000\ns3cret",
                                         hashlib.sha256).digest()).decode()
    assert sign("1700000000000", "s3cret") == expected


def test_a_signed_group_message() -> None:
    message = _protocol().handle(_request(json.dumps(_load("text_group.json")).encode()))
    assert message.group_id == "cidOaWqOH5sW6PLmPqYjvjZBw=="
    assert message.user_id == "manager4711"
    assert message.user_name == "王师傅"
    assert message.mentioned and message.text == " 农民工怎么入会？"
    assert message.reply_to["staff_id"] == "manager4711"


@pytest.mark.parametrize("headers", [{}, {"timestamp": str(NOW_MS)},
                                     {"timestamp": str(NOW_MS), "sign": "AAAA"}])
def test_missing_or_wrong_sign(headers: dict) -> None:
    with pytest.raises(VerificationFailed):
        _protocol().handle(RawRequest("POST", {}, headers, b"{}"))


def test_more_than_an_hour_off_is_stale() -> None:
    with pytest.raises(StaleRequest):
        _protocol().handle(_request(b"{}", timestamp=NOW_MS - 3_601_000))
    _protocol().handle(_request(json.dumps(_load("text_group.json")).encode(),
                                timestamp=NOW_MS - 3_500_000))


def test_signed_but_malformed() -> None:
    with pytest.raises(MalformedPayload):
        _protocol().handle(_request(b"[1, 2"))
    with pytest.raises(MalformedPayload):
        _protocol().handle(_request(b'{"msgtype": "text"}'))


def test_audio_and_rich_text() -> None:
    audio = parse_message(_load("audio_group.json"))
    assert audio.kind is MessageKind.VOICE
    assert audio.user_id == "$:LWCP_v1:$xYz=="  # no staff id: the sender id is used
    rich = parse_message(_load("richtext_single.json"))
    assert (rich.kind, rich.text, rich.group_id) == (MessageKind.TEXT, "老板拖欠工资 怎么办", None)


def test_a_lone_surrogate_is_parsed_and_cleaned() -> None:
    payload = _load("text_group.json")
    payload["text"]["content"] = " 农民工怎么入会\ud83d？"
    payload["senderNick"] = "王师傅\ud83d"
    body = json.dumps(payload).encode()
    assert b"\\ud83d" in body  # a JSON escape, decoded to a lone surrogate
    message = _protocol().handle(_request(body))
    assert message.text == " 农民工怎么入会\ud83d？"
    bounded = message.bounded()
    assert (bounded.text, bounded.user_name) == (" 农民工怎么入会？", "王师傅")
    bounded.text.encode("utf-8")


def test_deeply_nested_json_is_malformed() -> None:
    with pytest.raises(MalformedPayload, match="nested"):
        _protocol().handle(_request(b"[" * 100_000))

"""Feishu decryption vector, signature, url_verification and message events."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from platforms.errors import MalformedPayload, StaleRequest, VerificationFailed
from platforms.message import Ignored, Immediate, IncomingMessage, MessageKind, RawRequest
from platforms.protocol import feishu
from platforms.protocol.feishu import FeishuProtocol, parse_message_event

DATA = Path(__file__).parents[2] / "data" / "feishu"
TOKEN = "rvaYgkND1GOiu5MM0E1rncYC6PLtF7JV"
KEY = "test key"
NOW = 1700000000.0


def _load(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def test_decryption_vector() -> None:
    assert feishu.decrypt("test key", "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=") == \
        "hello world"


def test_encrypt_round_trip_and_wrong_key() -> None:
    encrypted = feishu.encrypt(KEY, "工会" * 20)
    assert feishu.decrypt(KEY, encrypted) == "工会" * 20
    with pytest.raises(MalformedPayload):
        feishu.decrypt("another key", encrypted)


def _signed(payload: dict, *, timestamp: str = str(int(NOW)), key: str = KEY) -> RawRequest:
    body = json.dumps({"encrypt": feishu.encrypt(KEY, json.dumps(payload))}).encode()
    headers = {"x-lark-request-timestamp": timestamp, "x-lark-request-nonce": "nonce1",
               "x-lark-signature": feishu.signature(timestamp, "nonce1", key, body)}
    return RawRequest("POST", {}, headers, body)


def _protocol() -> FeishuProtocol:
    return FeishuProtocol(TOKEN, KEY, bot_open_id="ou_cloud_doctor_bot", clock=lambda: NOW)


def test_a_signed_encrypted_event_is_parsed() -> None:
    message = _protocol().handle(_signed(_load("text_group.json")))
    assert isinstance(message, IncomingMessage)
    assert message.mentioned and message.group_id == "oc_5ce6d572455d361153b7xx51da133945"
    assert message.text == "农民工怎么入会？@李大姐 你也看看"
    assert message.dedupe_key == "5e3702a84e847582be8db7fb73283c02"
    assert message.reply_to["message_id"] == "om_5ce6d572455d361153b7cb51da133945"


def test_signature_token_and_timestamp_are_checked() -> None:
    payload = _load("text_group.json")
    with pytest.raises(VerificationFailed):
        _protocol().handle(_signed(payload, key="forged"))
    with pytest.raises(StaleRequest):
        _protocol().handle(_signed(payload, timestamp=str(int(NOW) - 3600)))
    unsigned = _signed(payload)
    with pytest.raises(VerificationFailed):
        _protocol().handle(RawRequest("POST", {}, {}, unsigned.body))
    payload["header"]["token"] = "forged"
    with pytest.raises(VerificationFailed):
        _protocol().handle(_signed(payload))


def test_url_verification_needs_the_token() -> None:
    challenge = _load("url_verification.json")
    body = json.dumps({"encrypt": feishu.encrypt(KEY, json.dumps(challenge))}).encode()
    assert _protocol().handle(RawRequest("POST", {}, {}, body)) == \
        Immediate({"challenge": "ajls384kdjx98XX"})
    challenge["token"] = "forged"
    body = json.dumps({"encrypt": feishu.encrypt(KEY, json.dumps(challenge))}).encode()
    with pytest.raises(VerificationFailed):
        _protocol().handle(RawRequest("POST", {}, {}, body))


def test_plain_mode_without_encrypt_key_checks_the_token() -> None:
    protocol = FeishuProtocol(TOKEN, "", bot_open_id="ou_cloud_doctor_bot")
    raw = RawRequest("POST", {}, {}, json.dumps(_load("text_group.json")).encode())
    assert isinstance(protocol.handle(raw), IncomingMessage)
    encrypted = _signed(_load("text_group.json"))
    with pytest.raises(MalformedPayload):
        protocol.handle(encrypted)


def test_other_events_are_ignored() -> None:
    payload = _load("text_group.json")
    payload["header"]["event_type"] = "im.chat.member.bot.added_v1"
    assert isinstance(_protocol().handle(_signed(payload)), Ignored)


def test_mention_of_someone_else_is_not_a_mention_of_the_bot() -> None:
    event = _load("text_group.json")["event"]
    event["message"]["mentions"] = event["message"]["mentions"][1:]
    event["message"]["content"] = json.dumps({"text": "@_user_2 怎么入会"})
    message = parse_message_event("e1", event, bot_open_id="ou_cloud_doctor_bot")
    assert isinstance(message, IncomingMessage)
    assert not message.mentioned and message.text == "@李大姐 怎么入会"


def test_without_bot_open_id_the_name_decides() -> None:
    event = _load("text_group.json")["event"]
    message = parse_message_event("e1", event, bot_names=("云博士",))
    assert isinstance(message, IncomingMessage) and message.mentioned


def test_post_at_all_and_media() -> None:
    post = parse_message_event("e", _load("post_group.json")["event"], "ou_cloud_doctor_bot")
    assert isinstance(post, IncomingMessage)
    assert post.mentioned and post.text == "最近的工会服务站在哪？"
    event = _load("text_group.json")["event"]
    event["message"].update(content=json.dumps({"text": "@_all 明天停水"}), mentions=[])
    at_all = parse_message_event("e", event, "ou_cloud_doctor_bot")
    assert isinstance(at_all, IncomingMessage)
    assert at_all.mentions_all and not at_all.mentioned and at_all.text == "@所有人 明天停水"
    event["message"].update(message_type="audio", content='{"file_key":"f","duration":1}')
    audio = parse_message_event("e", event, "ou_cloud_doctor_bot")
    assert isinstance(audio, IncomingMessage) and audio.kind is MessageKind.VOICE


def test_messages_from_apps_are_ignored() -> None:
    event = _load("text_group.json")["event"]
    event["sender"]["sender_type"] = "app"
    assert isinstance(parse_message_event("e", event, "ou_cloud_doctor_bot"), Ignored)


def test_a_lone_surrogate_is_parsed_and_cleaned() -> None:
    payload = _load("text_group.json")
    payload["event"]["message"]["content"] = json.dumps({"text": "@_user_1 怎么入会\ud83d？"})
    message = _protocol().handle(_signed(payload))  # escaped twice: content is JSON in JSON
    assert isinstance(message, IncomingMessage)
    assert message.text == "怎么入会\ud83d？"
    assert message.bounded().text == "怎么入会？"
    message.bounded().text.encode("utf-8")


def test_deeply_nested_json_is_malformed() -> None:
    with pytest.raises(MalformedPayload, match="nested"):
        FeishuProtocol(TOKEN, clock=lambda: NOW).handle(RawRequest("POST", body=b"[" * 100_000))
    payload = _load("text_group.json")
    payload["event"]["message"]["content"] = "[" * 100_000  # the JSON inside the event
    with pytest.raises(MalformedPayload, match="nested"):
        _protocol().handle(_signed(payload))

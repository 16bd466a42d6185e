"""WeCom crypto against the official known-answer vectors, and robot callback parsing."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from platforms.errors import MalformedPayload, StaleRequest, VerificationFailed
from platforms.message import Ignored, Immediate, IncomingMessage, MessageKind, RawRequest
from platforms.protocol.wecom import WeComCrypto, WeComRobotProtocol, parse_robot_message

DATA = Path(__file__).parents[2] / "data" / "wecom"
TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
CORP_ID = "ww1436e0e65a779aee"
URL_ECHOSTR = ("fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtp"
               "bhnFyq6SVHyA==")
MSG_ENCRYPT = (
    "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTk"
    "AgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQ"
    "bZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmE"
    "bU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/ox"
    "waWbvL6aSDPOYuPDGOCI8jmnKiypE+")


@pytest.fixture
def crypto() -> WeComCrypto:
    return WeComCrypto(TOKEN, AES_KEY, receive_id=CORP_ID)


def test_url_check_vector(crypto: WeComCrypto) -> None:
    assert crypto.signature("1476416373", "47744683", URL_ECHOSTR) == \
        "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb"
    assert crypto.decrypt(URL_ECHOSTR) == "1288432023552776189"


def test_message_vector(crypto: WeComCrypto) -> None:
    assert crypto.signature("1476422779", "1597212914", MSG_ENCRYPT) == \
        "0c3914025cb4b4d68103f6bfc8db550f79dcf48e"
    xml = crypto.decrypt(MSG_ENCRYPT)
    assert "<Content>你好</Content>" in xml
    assert f"<ToUserName>{CORP_ID}</ToUserName>" in xml


def test_url_check_through_the_protocol(crypto: WeComCrypto) -> None:
    protocol = WeComRobotProtocol(crypto, clock=lambda: 1476416373 + 10)
    query = {"msg_signature": "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb",
             "timestamp": "1476416373", "nonce": "47744683",
             "echostr": URL_ECHOSTR.replace("+", " ")}  # an unescaped '+' arrives as ' '
    assert protocol.handle(RawRequest("GET", query)) == Immediate("1288432023552776189")


def test_encrypt_round_trip_pads_to_32_bytes(crypto: WeComCrypto) -> None:
    for size in (0, 1, 11, 12, 43, 44, 500):
        message = "问" * size
        encrypted = crypto.encrypt(message)
        assert len(base64.b64decode(encrypted)) % 32 == 0
        assert crypto.decrypt(encrypted) == message


def test_a_message_for_another_receiver_is_refused(crypto: WeComCrypto) -> None:
    robot = WeComCrypto(TOKEN, AES_KEY, receive_id="")
    with pytest.raises(VerificationFailed):
        robot.decrypt(MSG_ENCRYPT)


@pytest.mark.parametrize("bad", ["not base64!", "QUJD", "A" * 44])
def test_garbage_ciphertext_is_malformed(crypto: WeComCrypto, bad: str) -> None:
    with pytest.raises((MalformedPayload, VerificationFailed)):
        crypto.decrypt(bad)


def test_the_key_must_be_43_characters() -> None:
    with pytest.raises(ValueError):
        WeComCrypto(TOKEN, AES_KEY[:-1])


def _signed_post(crypto: WeComCrypto, payload: dict, timestamp: str = "1700000000") -> RawRequest:
    encrypt = crypto.encrypt(json.dumps(payload, ensure_ascii=False))
    query = {"msg_signature": crypto.signature(timestamp, "n1", encrypt),
             "timestamp": timestamp, "nonce": "n1"}
    return RawRequest("POST", query, {}, json.dumps({"encrypt": encrypt}).encode())


def test_robot_callback_end_to_end_through_the_protocol() -> None:
    crypto = WeComCrypto("tok", AES_KEY)
    payload = json.loads((DATA / "text_group.json").read_text(encoding="utf-8"))
    protocol = WeComRobotProtocol(crypto, clock=lambda: 1700000100)
    message = protocol.handle(_signed_post(crypto, payload))
    assert isinstance(message, IncomingMessage)
    assert message.group_id == "wrkSFfCgAAtOXBj4wcCzNnkhgKDjbjGA"
    assert message.user_id == "wangshifu"
    assert message.text == "@云博士\u2005农民工怎么入会？"
    assert message.mentioned and message.kind is MessageKind.TEXT
    assert message.reply_to["response_url"].endswith("response_code=RESPONSECODE")
    assert message.sender_id == "wecom:wrkSFfCgAAtOXBj4wcCzNnkhgKDjbjGA:wangshifu"


def test_stale_and_unsigned_callbacks_are_refused() -> None:
    crypto = WeComCrypto("tok", AES_KEY)
    payload = json.loads((DATA / "text_group.json").read_text(encoding="utf-8"))
    protocol = WeComRobotProtocol(crypto, clock=lambda: 1700000000 + 3600)
    with pytest.raises(StaleRequest):
        protocol.handle(_signed_post(crypto, payload))
    raw = _signed_post(crypto, payload)
    unsigned = RawRequest("POST", {"timestamp": "1700000000", "nonce": "n1"}, {}, raw.body)
    with pytest.raises(VerificationFailed):
        protocol.handle(unsigned)


def test_mixed_image_and_event_payloads() -> None:
    mixed = parse_robot_message(json.loads((DATA / "mixed_single.json").read_text("utf-8")))
    assert isinstance(mixed, IncomingMessage)
    assert (mixed.text, mixed.kind, mixed.group_id) == ("这张工资条对吗", MessageKind.TEXT, None)
    image = parse_robot_message(json.loads((DATA / "image_group.json").read_text("utf-8")))
    assert isinstance(image, IncomingMessage) and image.kind is MessageKind.IMAGE
    event = parse_robot_message(json.loads((DATA / "event_enter_chat.json").read_text("utf-8")))
    assert isinstance(event, Ignored)


def test_at_all_alone_is_not_a_mention() -> None:
    payload = json.loads((DATA / "text_group.json").read_text(encoding="utf-8"))
    payload["text"]["content"] = "@all 明天停水"
    message = parse_robot_message(payload)
    assert isinstance(message, IncomingMessage)
    assert message.mentions_all and not message.mentioned


def test_a_lone_surrogate_is_parsed_and_cleaned() -> None:
    crypto = WeComCrypto("tok", AES_KEY)
    payload = json.loads((DATA / "text_group.json").read_text(encoding="utf-8"))
    payload["text"]["content"] = "@云博士 农民工怎么入会\ud83d？"
    encrypt = crypto.encrypt(json.dumps(payload))  # "\ud83d" as a JSON escape
    query = {"msg_signature": crypto.signature("1700000000", "n1", encrypt),
             "timestamp": "1700000000", "nonce": "n1"}
    raw = RawRequest("POST", query, {}, json.dumps({"encrypt": encrypt}).encode())
    message = WeComRobotProtocol(crypto, clock=lambda: 1700000100).handle(raw)
    assert isinstance(message, IncomingMessage)
    assert message.text == "@云博士 农民工怎么入会\ud83d？"
    assert message.bounded().text == "@云博士 农民工怎么入会？"


def test_deeply_nested_json_is_malformed() -> None:
    crypto = WeComCrypto("tok", AES_KEY)
    nested = "[" * 100_000
    encrypt = crypto.encrypt(nested)
    query = {"msg_signature": crypto.signature("1700000000", "n1", encrypt),
             "timestamp": "1700000000", "nonce": "n1"}
    protocol = WeComRobotProtocol(crypto, clock=lambda: 1700000100)
    for body in (nested.encode(), json.dumps({"encrypt": encrypt}).encode()):  # outside, inside
        with pytest.raises(MalformedPayload, match="nested"):
            protocol.handle(RawRequest("POST", query, {}, body))

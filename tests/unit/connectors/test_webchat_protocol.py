"""The web chat's own JSON API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from platforms.errors import MalformedPayload
from platforms.message import RawRequest
from platforms.protocol.webchat import BAD_REQUEST, WebChatProtocol

DATA = Path(__file__).parents[2] / "data" / "webchat"


def test_group_message() -> None:
    raw = RawRequest("POST", body=(DATA / "group.json").read_bytes())
    message = WebChatProtocol().handle(raw)
    assert message.sender_id == "web:demo-grid-3:u-wang"
    assert message.metadata() == {"platform": "web", "group_id": "demo-grid-3",
                                  "user_id": "u-wang", "user_name": "王师傅",
                                  "message_id": "demo-1700000000000-0"}
    assert message.retry_key == "web:u-wang:demo-1700000000000-0"


def test_defaults_for_a_guest_in_a_direct_chat() -> None:
    message = WebChatProtocol().handle(RawRequest("POST", body=b'{"text": "hi"}'))
    assert (message.user_id, message.group_id, message.sender_id) == \
        ("guest", None, "web:direct:guest")
    assert message.message_id  # generated


@pytest.mark.parametrize("body", [b"nope", b"[]", b'{"text": 5}', json.dumps({}).encode()])
def test_bad_requests(body: bytes) -> None:
    with pytest.raises(MalformedPayload, match=BAD_REQUEST):
        WebChatProtocol().handle(RawRequest("POST", body=body))

"""The web chat's own JSON API: signed sessions, the user id taken from the session
(never from the body), bad requests, and the client address behind proxies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from platforms.errors import MalformedPayload, VerificationFailed
from platforms.message import RawRequest
from platforms.protocol.webchat import (
    BAD_REQUEST,
    BAD_SESSION,
    EXPIRED_SESSION,
    NO_SESSION,
    SessionSigner,
    WebChatProtocol,
    client_address,
    parse_networks,
    rate_key,
)

DATA = Path(__file__).parents[2] / "data" / "webchat"
NOW = 1_700_000_000.0
SIGNER = SessionSigner(b"k" * 32, ttl=3600, clock=lambda: NOW)


def _request(body: bytes, token: str | None = None) -> RawRequest:
    return RawRequest("POST", headers={"x-session": token} if token else {}, body=body)


def _protocol() -> WebChatProtocol:
    return WebChatProtocol(SIGNER)


def test_group_message_takes_the_user_id_from_the_session() -> None:
    session = SIGNER.issue()
    message = _protocol().handle(_request((DATA / "group.json").read_bytes(), session.token))
    user_id = f"web-{session.session_id}"
    assert message.user_id == user_id != "u-wang"  # the body's user_id is not believed
    assert message.sender_id == f"web:demo-grid-3:{user_id}"
    assert message.metadata() == {"platform": "web", "group_id": "demo-grid-3",
                                  "user_id": user_id, "user_name": "王师傅",
                                  "message_id": "demo-1700000000000-0"}
    assert message.retry_key == f"web:{user_id}:demo-1700000000000-0"


def test_the_session_may_be_a_body_field() -> None:
    session = SIGNER.issue()
    body = json.dumps({"text": "hi", "session": session.token}).encode()
    message = _protocol().handle(_request(body))
    assert (message.user_id, message.group_id) == (session.user_id, None)
    assert message.user_name == "访客"
    assert message.message_id  # generated


def test_two_sessions_are_two_users() -> None:
    first, second = SIGNER.issue(), SIGNER.issue()
    assert first.session_id != second.session_id
    body = json.dumps({"text": "hi", "message_id": "m1", "user_id": "victim"}).encode()
    one = _protocol().handle(_request(body, first.token))
    two = _protocol().handle(_request(body, second.token))
    assert one.retry_key != two.retry_key and one.sender_id != two.sender_id


@pytest.mark.parametrize("token, error", [
    (None, NO_SESSION),
    ("", NO_SESSION),
    ("web-u-wang", BAD_SESSION),
    ("0" * 32 + ".1700000000." + "0" * 64, BAD_SESSION),   # well-formed, not signed by us
    ("Z" * 32 + ".1700000000." + "0" * 64, BAD_SESSION),
    ("问" * 40, BAD_SESSION),
    ("a" * 5000, BAD_SESSION),
])
def test_missing_and_forged_sessions_are_refused(token: str | None, error: str) -> None:
    with pytest.raises(VerificationFailed, match=error) as caught:
        _protocol().handle(_request(b'{"text": "hi"}', token))
    assert caught.value.status == 401


def test_a_tampered_session_is_refused() -> None:
    session_id, issued, mac = SIGNER.issue().token.split(".")
    for forged in (f"{'f' * 32}.{issued}.{mac}", f"{session_id}.{int(issued) + 1}.{mac}",
                   f"{session_id}.{issued}.{mac[:-1]}{'0' if mac[-1] != '0' else '1'}"):
        with pytest.raises(VerificationFailed, match=BAD_SESSION):
            SIGNER.verify(forged)
    other_key = SessionSigner(b"x" * 32, clock=lambda: NOW)
    with pytest.raises(VerificationFailed, match=BAD_SESSION):
        other_key.verify(SIGNER.issue().token)


def test_sessions_expire() -> None:
    token = SIGNER.issue().token
    later = SessionSigner(b"k" * 32, ttl=3600, clock=lambda: NOW + 3601)
    with pytest.raises(VerificationFailed, match=EXPIRED_SESSION):
        later.verify(token)
    earlier = SessionSigner(b"k" * 32, ttl=3600, clock=lambda: NOW - 3600)
    with pytest.raises(VerificationFailed, match=EXPIRED_SESSION):
        earlier.verify(token)  # issued in the future
    assert SessionSigner(b"k" * 32, ttl=3600, clock=lambda: NOW + 3599).verify(token).token == token


def test_the_key_may_be_loaded_lazily_once() -> None:
    calls: list[int] = []

    def key() -> bytes:
        calls.append(1)
        return b"k" * 32

    signer = SessionSigner(key, clock=lambda: NOW)
    assert calls == []
    signer.verify(signer.issue().token)
    assert calls == [1]
    SIGNER.verify(signer.issue().token)  # the same key as bytes


@pytest.mark.parametrize("body", [b"nope", b"[]", b'{"text": 5}', json.dumps({}).encode(),
                                  b"[" * 100_000])
def test_bad_requests(body: bytes) -> None:
    with pytest.raises(MalformedPayload, match=BAD_REQUEST):
        _protocol().handle(_request(body, SIGNER.issue().token))


def test_a_lone_surrogate_is_parsed_and_cleaned() -> None:
    body = json.dumps({"group_id": "g1", "user_name": "王\ud83d", "text": "@云博士 怎么入会\ud83d？"})
    assert "\\ud83d" in body  # a JSON escape, decoded to a lone surrogate
    message = _protocol().handle(_request(body.encode(), SIGNER.issue().token))
    assert message.text == "@云博士 怎么入会\ud83d？"
    bounded = message.bounded()
    assert (bounded.text, bounded.user_name) == ("@云博士 怎么入会？", "王")
    json.dumps(bounded.metadata(), ensure_ascii=False).encode("utf-8")  # encodable


PROXY = parse_networks(["10.0.0.0/8", "127.0.0.1"])


@pytest.mark.parametrize("peer, forwarded, trusted, client", [
    ("203.0.113.5", ["1.2.3.4"], (), "203.0.113.5"),                # no proxy: header ignored
    ("203.0.113.5", ["1.2.3.4"], PROXY, "203.0.113.5"),             # not from the proxy
    ("127.0.0.1", ["198.51.100.7"], PROXY, "198.51.100.7"),
    ("127.0.0.1", ["6.6.6.6, 198.51.100.7"], PROXY, "198.51.100.7"),  # left hop is the client's
    ("127.0.0.1", ["6.6.6.6", "198.51.100.7, 10.1.2.3"], PROXY, "198.51.100.7"),  # two proxies
    ("127.0.0.1", ["198.51.100.7:5678"], PROXY, "198.51.100.7"),
    ("127.0.0.1", ["[2001:db8::1]:443"], PROXY, "2001:db8::1"),
    ("127.0.0.1", ["garbage"], PROXY, "127.0.0.1"),
    ("127.0.0.1", [], PROXY, "127.0.0.1"),
    ("::ffff:127.0.0.1", ["198.51.100.7"], PROXY, "198.51.100.7"),
])
def test_client_address(peer: str, forwarded: list[str], trusted: tuple, client: str) -> None:
    assert client_address(peer, forwarded, trusted) == client


def test_trusted_proxies_must_be_addresses() -> None:
    with pytest.raises(ValueError, match="trusted_proxies"):
        parse_networks(["proxy.example"])


def test_rate_key_groups_an_ipv6_subscriber() -> None:
    assert rate_key("2001:db8:1:2::5") == rate_key("2001:db8:1:2:ffff::1") == "2001:db8:1:2::/64"
    assert rate_key("203.0.113.5") == "203.0.113.5"
    assert rate_key("") == ""


def test_a_turn_with_several_texts_is_one_reply_in_the_web_group() -> None:
    """Like every group platform: "①会费：" and its answer arrive as one message."""
    import json as _json

    from connectors.webchat import WebChatInput
    from platforms.message import IncomingMessage

    message = IncomingMessage("web", "m1", "u1", "王师傅", "会费交多少？怎么入会？",
                              group_id="web-d001-s01-c01-g01")
    reply = WebChatInput().answer_inline(message, ["①会费：", "千分之五", "②入会：", "找工会"])
    assert _json.loads(reply.body) == {
        "replies": [{"text": "@王师傅 ①会费：\n\n千分之五\n\n②入会：\n\n找工会"}]}
    assert _json.loads(WebChatInput().answer_inline(message, []).body) == {"replies": []}

"""Feishu / Lark bot: encrypted body, signature, url_verification, message events.

- body `{"encrypt": b64}`: key = sha256(encrypt_key), raw = b64decode, iv = raw[:16],
  AES-256-CBC with PKCS#7 (16-byte block);
- X-Lark-Signature = sha256_hex(timestamp + nonce + encrypt_key + raw_body), checked
  before the body is read; `header.token` must be the verification token;
- `im.message.receive_v1`: the bot is mentioned when a mention's open_id is the bot's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from platforms.errors import MalformedPayload, VerificationFailed
from platforms.message import (
    Event,
    Ignored,
    Immediate,
    IncomingMessage,
    MessageKind,
    RawRequest,
    json_object,
    parse_json,
    require_str,
)
from platforms.protocol.common import check_fresh, require_signature

PLATFORM = "feishu"
MESSAGE_EVENT = "im.message.receive_v1"
ALL_KEY = "@_all"

_KINDS = {"image": MessageKind.IMAGE, "audio": MessageKind.VOICE, "file": MessageKind.FILE,
          "sticker": MessageKind.STICKER, "media": MessageKind.VIDEO}


def _key(encrypt_key: str) -> bytes:
    return hashlib.sha256(encrypt_key.encode("utf-8")).digest()


def decrypt(encrypt_key: str, encrypted: str) -> str:
    try:
        raw = base64.b64decode(encrypted, validate=True)
    except binascii.Error as exc:
        raise MalformedPayload("encrypt is not base64") from exc
    if len(raw) < 32 or len(raw) % 16:
        raise MalformedPayload("ciphertext has the wrong length")
    decryptor = Cipher(algorithms.AES(_key(encrypt_key)), modes.CBC(raw[:16])).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(decryptor.update(raw[16:]) + decryptor.finalize())
        plain += unpadder.finalize()
        return plain.decode("utf-8")
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedPayload("cannot decrypt body (wrong encrypt_key?)") from exc


def encrypt(encrypt_key: str, plaintext: str, iv: bytes | None = None) -> str:
    iv = iv or os.urandom(16)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext.encode("utf-8")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(_key(encrypt_key)), modes.CBC(iv)).encryptor()
    return base64.b64encode(iv + encryptor.update(padded) + encryptor.finalize()).decode("ascii")


def signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    return hashlib.sha256((timestamp + nonce + encrypt_key).encode("utf-8") + body).hexdigest()


class FeishuProtocol:
    def __init__(self, verification_token: str, encrypt_key: str = "", bot_open_id: str = "",
                 bot_names: Iterable[str] = (), max_skew: float = 300.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.verification_token = verification_token
        self.encrypt_key = encrypt_key
        self.bot_open_id = bot_open_id
        self.bot_names = tuple(bot_names)
        self.max_skew = max_skew
        self.clock = clock

    def handle(self, raw: RawRequest) -> Event:
        signed = False
        if self.encrypt_key and raw.headers.get("x-lark-signature"):
            timestamp = raw.headers.get("x-lark-request-timestamp", "")
            nonce = raw.headers.get("x-lark-request-nonce", "")
            expected = signature(timestamp, nonce, self.encrypt_key, raw.body)
            require_signature(expected, raw.headers.get("x-lark-signature"), "X-Lark-Signature")
            check_fresh(timestamp, self.clock(), self.max_skew)
            signed = True
        body = json_object(raw.body)
        if "encrypt" in body:
            if not self.encrypt_key:
                raise MalformedPayload("encrypted event, but no encrypt_key is configured")
            body = json_object(decrypt(self.encrypt_key, str(body["encrypt"])))
        if body.get("type") == "url_verification":
            # Sent when the URL is saved in the console; it carries no signature.
            require_signature(self.verification_token, _str(body.get("token")), "token")
            return Immediate({"challenge": str(body.get("challenge", ""))})
        if self.encrypt_key and not signed:
            raise VerificationFailed("missing X-Lark-Signature")
        header = body.get("header")
        if not isinstance(header, Mapping):
            raise MalformedPayload("not a schema 2.0 event")
        require_signature(self.verification_token, _str(header.get("token")), "token")
        if header.get("event_type") != MESSAGE_EVENT:
            return Ignored(f"event {header.get('event_type')}")
        event = body.get("event")
        if not isinstance(event, Mapping):
            raise MalformedPayload("missing event")
        return parse_message_event(str(header.get("event_id") or ""), event,
                                   self.bot_open_id, self.bot_names)


def parse_message_event(event_id: str, event: Mapping[str, Any], bot_open_id: str = "",
                        bot_names: Iterable[str] = ()) -> Event:
    sender = _map(event.get("sender"))
    if sender.get("sender_type") not in (None, "user"):
        return Ignored("message from an app or bot")
    open_id = require_str(_map(sender.get("sender_id")), "open_id")
    message = _map(event.get("message"))
    message_id = require_str(message, "message_id")
    text, kind = _content(str(message.get("message_type") or ""), message.get("content"))
    mentioned = False
    names = set(bot_names)
    raw_mentions = message.get("mentions")
    mentions = [m for m in raw_mentions if isinstance(m, Mapping)] \
        if isinstance(raw_mentions, list) else []
    for mention in sorted(mentions, key=lambda m: len(str(m.get("key", ""))), reverse=True):
        key = str(mention.get("key") or "")
        is_bot = (_map(mention.get("id")).get("open_id") == bot_open_id if bot_open_id
                  else mention.get("name") in names)
        mentioned = mentioned or is_bot
        if key:
            text = text.replace(key, "" if is_bot else f"@{mention.get('name') or ''}")
    mentions_all = ALL_KEY in text
    text = text.replace(ALL_KEY, "@所有人")
    group = message.get("chat_type") == "group"
    return IncomingMessage(
        platform=PLATFORM,
        message_id=message_id,
        user_id=open_id,
        user_name=open_id,
        text=" ".join(text.split()),
        group_id=require_str(message, "chat_id") if group else None,
        kind=kind,
        mentioned=mentioned,
        mentions_all=mentions_all,
        dedupe_key=event_id or message_id,
        reply_to={"message_id": message_id, "open_id": open_id},
    )


def _content(message_type: str, content: Any) -> tuple[str, MessageKind]:
    if message_type not in ("text", "post"):
        return "", _KINDS.get(message_type, MessageKind.OTHER)
    try:
        data = _map(parse_json(content) if isinstance(content, str) else {})
    except MalformedPayload as exc:
        raise MalformedPayload(f"message content: {exc}") from exc
    if message_type == "text":
        return _str(data.get("text")) or "", MessageKind.TEXT
    parts: list[str] = [_str(data.get("title")) or ""]
    for line in data.get("content") or []:
        for element in line if isinstance(line, list) else []:
            element = _map(element)
            if element.get("tag") == "text":
                parts.append(_str(element.get("text")) or "")
            elif element.get("tag") == "at":
                parts.append(_str(element.get("user_id")) or "")
    text = " ".join(p for p in parts if p)
    return (text, MessageKind.TEXT) if text else ("", MessageKind.IMAGE)


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None

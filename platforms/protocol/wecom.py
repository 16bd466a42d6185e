"""WeCom (企业微信) intelligent robot, API mode: WXBizMsgCrypt and callback parsing.

Crypto (same for the robot and classic apps): signature = sha1 of the sorted
[token, timestamp, nonce, encrypt]; AES-256-CBC with key = b64decode(aes_key + "="),
iv = key[:16]; plaintext = random(16) | uint32_be(len) | msg | receiveid, PKCS#7
padded to 32 bytes. The robot's receiveid is "".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import struct
import time
from collections.abc import Callable, Mapping
from typing import Any

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
    require_str,
)
from platforms.protocol.common import check_fresh, require_signature

PLATFORM = "wecom"
_BLOCK = 32

_KINDS = {"image": MessageKind.IMAGE, "voice": MessageKind.VOICE, "file": MessageKind.FILE,
          "video": MessageKind.VIDEO}


class WeComCrypto:
    def __init__(self, token: str, encoding_aes_key: str, receive_id: str = "") -> None:
        if len(encoding_aes_key) != 43:
            raise ValueError("EncodingAESKey must be 43 characters")
        try:
            self._key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except binascii.Error as exc:
            raise ValueError("EncodingAESKey is not base64") from exc
        self.token = token
        self.receive_id = receive_id

    def signature(self, timestamp: str, nonce: str, encrypt: str) -> str:
        parts = sorted([self.token, timestamp, nonce, encrypt])
        return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()

    def verify(self, signature: str | None, timestamp: str, nonce: str, encrypt: str) -> None:
        require_signature(self.signature(timestamp, nonce, encrypt), signature, "msg_signature")

    def decrypt(self, encrypt: str) -> str:
        try:
            raw = base64.b64decode(encrypt, validate=True)
        except binascii.Error as exc:
            raise MalformedPayload("encrypt is not base64") from exc
        if not raw or len(raw) % 16:
            raise MalformedPayload("ciphertext length is not a multiple of the AES block")
        decryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16])).decryptor()
        padded = decryptor.update(raw) + decryptor.finalize()
        pad = padded[-1]
        if not 1 <= pad <= _BLOCK or padded[-pad:] != bytes([pad]) * pad:
            raise MalformedPayload("bad padding")
        plain = padded[:-pad]
        if len(plain) < 20:
            raise MalformedPayload("plaintext too short")
        (length,) = struct.unpack(">I", plain[16:20])
        message, receive_id = plain[20:20 + length], plain[20 + length:]
        if len(message) != length:
            raise MalformedPayload("plaintext length field is wrong")
        if receive_id.decode("utf-8", "replace") != self.receive_id:
            raise VerificationFailed("encrypted for another receiveid")
        try:
            return message.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedPayload("plaintext is not UTF-8") from exc

    def encrypt(self, message: str, random_prefix: bytes | None = None) -> str:
        body = message.encode("utf-8")
        plain = ((random_prefix or os.urandom(16)) + struct.pack(">I", len(body)) + body
                 + self.receive_id.encode("utf-8"))
        pad = _BLOCK - len(plain) % _BLOCK
        encryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16])).encryptor()
        data = encryptor.update(plain + bytes([pad]) * pad) + encryptor.finalize()
        return base64.b64encode(data).decode("ascii")


class WeComRobotProtocol:
    """GET = URL check (answer the decrypted echostr); POST = encrypted JSON callback."""

    def __init__(self, crypto: WeComCrypto, max_skew: float = 300.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.crypto = crypto
        self.max_skew = max_skew
        self.clock = clock

    def handle(self, raw: RawRequest) -> Event:
        signature = raw.query.get("msg_signature")
        timestamp = raw.query.get("timestamp", "")
        nonce = raw.query.get("nonce", "")
        if not signature or not timestamp or not nonce:
            raise VerificationFailed("missing msg_signature, timestamp or nonce")
        if raw.method == "GET":
            # '+' in an unescaped query decodes to ' '; base64 never contains spaces.
            echostr = raw.query.get("echostr", "").replace(" ", "+")
            if not echostr:
                raise MalformedPayload("missing echostr")
            self._verify(signature, timestamp, nonce, echostr)
            return Immediate(self.crypto.decrypt(echostr))
        envelope = json_object(raw.body)
        encrypt = envelope.get("encrypt")
        if not isinstance(encrypt, str) or not encrypt:
            raise MalformedPayload("missing encrypt")
        self._verify(signature, timestamp, nonce, encrypt)
        return parse_robot_message(json_object(self.crypto.decrypt(encrypt)))

    def _verify(self, signature: str, timestamp: str, nonce: str, encrypt: str) -> None:
        self.crypto.verify(signature, timestamp, nonce, encrypt)
        check_fresh(timestamp, self.clock(), self.max_skew)


def parse_robot_message(data: Mapping[str, Any]) -> Event:
    msgtype = str(data.get("msgtype") or "")
    if msgtype in ("event", "stream"):
        return Ignored(f"{msgtype} callback")
    sender = data.get("from")
    sender = sender if isinstance(sender, Mapping) else {}
    user_id = require_str(sender, "userid")
    group_id = str(data["chatid"]) if data.get("chattype") == "group" and data.get("chatid") else None
    text, kind = _content(msgtype, data)
    mentions_all = "@all" in text or "@所有人" in text
    return IncomingMessage(
        platform=PLATFORM,
        message_id=require_str(data, "msgid"),
        user_id=user_id,
        user_name=user_id,
        text=text,
        group_id=group_id,
        kind=kind,
        # In a group the robot is only called when @-mentioned; with @all the text
        # must also name the bot (checked by the shared policy).
        mentioned=group_id is not None and not mentions_all,
        mentions_all=mentions_all,
        reply_to={"response_url": str(data.get("response_url") or "")},
    )


def _content(msgtype: str, data: Mapping[str, Any]) -> tuple[str, MessageKind]:
    if msgtype == "text":
        return _text_of(data.get("text")), MessageKind.TEXT
    if msgtype == "mixed":
        mixed = data.get("mixed")
        items = mixed.get("msg_item") if isinstance(mixed, Mapping) else None
        texts = [_text_of(item.get("text")) for item in (items if isinstance(items, list) else [])
                 if isinstance(item, Mapping) and item.get("msgtype") == "text"]
        text = " ".join(t for t in texts if t)
        return (text, MessageKind.TEXT) if text else ("", MessageKind.IMAGE)
    return "", _KINDS.get(msgtype, MessageKind.OTHER)


def _text_of(value: Any) -> str:
    content = value.get("content") if isinstance(value, Mapping) else None
    return content if isinstance(content, str) else ""

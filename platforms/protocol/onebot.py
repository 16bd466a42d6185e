"""OneBot v11 (QQ groups through NapCat / Lagrange): HTTP POST events.

X-Signature = "sha1=" + hex(hmac_sha1(secret, raw_body)); `meta_event` posts
(heartbeat, lifecycle) are accepted and ignored; the bot is mentioned when an `at`
segment's qq is the bot's own self_id ("all" is @all). `message` may be an array of
segments or a CQ-code string, depending on the implementation's settings.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from platforms.errors import MalformedPayload, VerificationFailed
from platforms.message import (
    Event,
    Ignored,
    IncomingMessage,
    MessageKind,
    RawRequest,
    json_object,
    require_str,
)
from platforms.protocol.common import check_fresh, require_signature

PLATFORM = "onebot"

_KINDS = {"image": MessageKind.IMAGE, "record": MessageKind.VOICE, "face": MessageKind.STICKER,
          "mface": MessageKind.STICKER, "file": MessageKind.FILE, "video": MessageKind.VIDEO}
_CQ = re.compile(r"\[CQ:([A-Za-z0-9_.-]+)((?:,[^\]]*)?)\]")
_UNESCAPE = (("&#44;", ","), ("&#91;", "["), ("&#93;", "]"), ("&amp;", "&"))

Segment = dict[str, Any]


def signature(secret: str, body: bytes) -> str:
    return "sha1=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha1).hexdigest()


class OneBotProtocol:
    """Without a `secret`, every post is refused unless `allow_unsigned` (the operator's
    explicit choice: then anyone who reaches the URL can post as any QQ member)."""

    def __init__(self, secret: str = "", max_skew: float = 300.0,
                 clock: Callable[[], float] = time.time, *, allow_unsigned: bool = False) -> None:
        self.secret = secret
        self.allow_unsigned = allow_unsigned
        self.max_skew = max_skew
        self.clock = clock

    def handle(self, raw: RawRequest) -> Event:
        if self.secret:
            require_signature(signature(self.secret, raw.body), raw.headers.get("x-signature"),
                              "X-Signature")
        elif not self.allow_unsigned:
            raise VerificationFailed("no secret is configured and allow_unsigned is off")
        data = json_object(raw.body)
        post_type = data.get("post_type")
        if post_type == "meta_event":
            return Ignored(f"meta_event {data.get('meta_event_type')}")
        if post_type != "message":
            return Ignored(f"post_type {post_type}")
        check_fresh(str(data.get("time") or ""), self.clock(), self.max_skew)
        return parse_message(data)


def parse_message(data: Mapping[str, Any]) -> IncomingMessage:
    self_id = require_str(data, "self_id")
    group = data.get("message_type") == "group"
    segments = parse_segments(data.get("message"))
    texts: list[str] = []
    kinds: list[MessageKind] = []
    mentioned = mentions_all = False
    quoted = ""
    for segment in segments:
        kind, seg = str(segment.get("type")), segment.get("data") or {}
        if kind == "text":
            texts.append(str(seg.get("text") or ""))
        elif kind == "at":
            qq = str(seg.get("qq") or "")
            mentioned = mentioned or qq == self_id
            mentions_all = mentions_all or qq == "all"
        elif kind in _KINDS:
            kinds.append(_KINDS[kind])
        elif kind == "reply":
            quoted = str(seg.get("id") or "")
        elif kind != "forward":
            kinds.append(MessageKind.OTHER)
    text = " ".join("".join(texts).split())
    sender = data.get("sender")
    sender = sender if isinstance(sender, Mapping) else {}
    user_id = require_str(data, "user_id")
    message_id = require_str(data, "message_id")
    return IncomingMessage(
        platform=PLATFORM,
        message_id=message_id,
        user_id=user_id,
        user_name=str(sender.get("card") or sender.get("nickname") or user_id),
        text=text,
        group_id=require_str(data, "group_id") if group else None,
        kind=MessageKind.TEXT if text or not kinds else kinds[0],
        mentioned=mentioned,
        mentions_all=mentions_all,
        dedupe_key=f"{self_id}:{message_id}",
        reply_to={"self_id": self_id},
        quoted_id=quoted,
    )


def parse_segments(message: Any) -> list[Segment]:
    if isinstance(message, str):
        return parse_cq(message)
    if not isinstance(message, list):
        raise MalformedPayload("message must be a segment array or a CQ string")
    return [s for s in message if isinstance(s, dict) and isinstance(s.get("data", {}), dict)]


def parse_cq(message: str) -> list[Segment]:
    segments: list[Segment] = []
    position = 0
    for match in _CQ.finditer(message):
        if match.start() > position:
            segments.append(_text(message[position:match.start()]))
        params: dict[str, str] = {}
        for pair in filter(None, match.group(2).split(",")):
            key, _, value = pair.partition("=")
            params[key] = _unescape(value)
        segments.append({"type": match.group(1), "data": params})
        position = match.end()
    if position < len(message):
        segments.append(_text(message[position:]))
    return segments


def _text(raw: str) -> Segment:
    return {"type": "text", "data": {"text": _unescape(raw)}}


def _unescape(value: str) -> str:
    for escaped, plain in _UNESCAPE:
        value = value.replace(escaped, plain)
    return value

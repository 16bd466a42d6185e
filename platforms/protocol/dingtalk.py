"""DingTalk (钉钉) enterprise robot: header signature and callback parsing.

Headers `timestamp` (ms) and `sign` = base64(hmac_sha256(appSecret, f"{timestamp}\\n{appSecret}"));
more than an hour off is rejected. The same signing is used by custom group robots
(send side) in the query string.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from typing import Any

from platforms.errors import VerificationFailed
from platforms.message import (
    IncomingMessage,
    MessageKind,
    RawRequest,
    json_object,
    require_str,
)
from platforms.protocol.common import check_fresh, require_signature

PLATFORM = "dingtalk"

_KINDS = {"picture": MessageKind.IMAGE, "audio": MessageKind.VOICE, "file": MessageKind.FILE,
          "video": MessageKind.VIDEO}


def sign(timestamp: str, secret: str) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


class DingTalkProtocol:
    def __init__(self, app_secret: str, max_skew: float = 3600.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.app_secret = app_secret
        self.max_skew = max_skew
        self.clock = clock

    def handle(self, raw: RawRequest) -> IncomingMessage:
        timestamp = raw.headers.get("timestamp")
        if not timestamp:
            raise VerificationFailed("missing timestamp header")
        require_signature(sign(timestamp, self.app_secret), raw.headers.get("sign"), "sign")
        check_fresh(timestamp, self.clock(), self.max_skew, millis=True)
        return parse_message(json_object(raw.body))


def parse_message(data: Mapping[str, Any]) -> IncomingMessage:
    msgtype = str(data.get("msgtype") or "text")
    group_id = str(data.get("conversationId") or "") if str(data.get("conversationType")) == "2" else ""
    staff_id = str(data.get("senderStaffId") or "")
    user_id = staff_id or require_str(data, "senderId")
    text, kind = _content(msgtype, data)
    return IncomingMessage(
        platform=PLATFORM,
        message_id=require_str(data, "msgId"),
        user_id=user_id,
        user_name=str(data.get("senderNick") or user_id),
        text=text,
        group_id=group_id or None,
        kind=kind,
        mentioned=bool(data.get("isInAtList")),
        mentions_all="@所有人" in text,
        reply_to={
            "session_webhook": str(data.get("sessionWebhook") or ""),
            "expires_ms": _int(data.get("sessionWebhookExpiredTime")),
            "staff_id": staff_id,
        },
    )


def _content(msgtype: str, data: Mapping[str, Any]) -> tuple[str, MessageKind]:
    if msgtype == "text":
        text = data.get("text")
        content = text.get("content") if isinstance(text, Mapping) else None
        return (content if isinstance(content, str) else ""), MessageKind.TEXT
    if msgtype == "richText":
        content = data.get("content")
        items = content.get("richText") if isinstance(content, Mapping) else None
        parts = [str(item["text"]) for item in (items if isinstance(items, list) else [])
                 if isinstance(item, Mapping) and item.get("text")]
        return (" ".join(parts), MessageKind.TEXT) if parts else ("", MessageKind.IMAGE)
    return "", _KINDS.get(msgtype, MessageKind.OTHER)


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0

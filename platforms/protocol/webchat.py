"""The union website's web chat and the demo page: a small JSON API of our own.

POST {"group_id", "user_id", "user_name", "text", "message_id"}; no group_id = 1:1.
"""

from __future__ import annotations

import uuid

from platforms.errors import MalformedPayload
from platforms.message import IncomingMessage, RawRequest, json_object

PLATFORM = "web"
BAD_REQUEST = "请求格式有误：需要 JSON 对象，且包含 text 字段"


class WebChatProtocol:
    def handle(self, raw: RawRequest) -> IncomingMessage:
        try:
            body = json_object(raw.body)
        except MalformedPayload as exc:
            raise MalformedPayload(BAD_REQUEST) from exc
        if not isinstance(body.get("text"), str):
            raise MalformedPayload(BAD_REQUEST)
        user_id = str(body.get("user_id") or "guest")[:64]
        message_id = str(body.get("message_id") or "")[:128]
        return IncomingMessage(
            platform=PLATFORM,
            # Without a client message id there is nothing to dedupe on: use a fresh one.
            message_id=message_id or uuid.uuid4().hex,
            user_id=user_id,
            user_name=str(body.get("user_name") or user_id)[:32],
            text=body["text"],
            group_id=str(body.get("group_id") or "")[:64] or None,
            dedupe_key=f"{user_id}:{message_id}" if message_id else "",
        )

"""Fake DingTalk: signed enterprise-robot callbacks, the sessionWebhook, and the
custom group robot's signed /robot/send (send side)."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any, Literal

from aiohttp import web

from tests.fakes.base import BotResponse, FakePlatform, Reply, SignatureMode
from tests.fakes.signing import dingtalk_sign

APP_SECRET = "test-dingtalk-app-secret"
ROBOT_TOKEN = "test-dingtalk-robot-token"
ROBOT_SECRET = "SECtest-dingtalk-robot-secret"


class FakeDingTalk(FakePlatform):
    channel = "dingtalk"

    def __init__(self, *, app_secret: str = APP_SECRET, robot_token: str = ROBOT_TOKEN,
                 robot_secret: str = ROBOT_SECRET, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app_secret = app_secret
        self.robot_token = robot_token
        self.robot_secret = robot_secret
        self._sessions: dict[str, str | None] = {}

    def credentials(self) -> dict[str, Any]:
        return {"app_secret": self.app_secret, "base_url": self.base_url}

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/robot/sendBySession", self._session_reply)
        app.router.add_post("/robot/send", self._robot_send)

    def rate_limit_response(self) -> web.Response:
        return web.json_response({"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"})

    def _message(self, group_id: str | None, user_id: str, user_name: str, mention: bool,
                 message_id: str | None, body: dict[str, Any]) -> dict[str, Any]:
        session = secrets.token_hex(8)
        self._sessions[session] = group_id
        return {
            "conversationId": group_id or f"cid-p2p-{user_id}",
            "conversationType": "2" if group_id else "1",
            "msgId": message_id or f"msg{self.next_id()}",
            "senderNick": user_name,
            "senderStaffId": user_id,
            "senderId": f"$:LWCP_v1:${user_id}",
            "isInAtList": mention,
            "atUsers": [{"dingtalkId": "$:LWCP_v1:$bot"}] if mention else [],
            "sessionWebhook": f"{self.base_url}/robot/sendBySession?session={session}",
            "sessionWebhookExpiredTime": int(time.time() * 1000) + 3_600_000,
            "createAt": int(time.time() * 1000),
            "robotCode": "dingtestrobot",
            "chatbotUserId": "$:LWCP_v1:$bot",
            **body,
        }

    def text_message(self, group_id: str | None, user_id: str, text: str, *,
                     mention: bool = True, message_id: str | None = None,
                     user_name: str = "王师傅") -> dict[str, Any]:
        # DingTalk removes the robot's own @ from the content and keeps a leading space.
        return self._message(group_id, user_id, user_name, mention, message_id,
                             {"msgtype": "text", "text": {"content": f" {text}"}})

    def media_message(self, group_id: str | None, user_id: str, kind: Literal["image", "voice"],
                      *, mention: bool = True) -> dict[str, Any]:
        if kind == "image":
            body: dict[str, Any] = {"msgtype": "picture", "content": {"downloadCode": "dl-1"}}
        else:
            body = {"msgtype": "audio",
                    "content": {"duration": 3000, "downloadCode": "dl-2", "recognition": ""}}
        return self._message(group_id, user_id, "王师傅", mention, None, body)

    def at_all_message(self, group_id: str, user_id: str, text: str) -> dict[str, Any]:
        return self._message(group_id, user_id, "王师傅", False, None,
                             {"msgtype": "text", "text": {"content": f"@所有人 {text}"}})

    async def deliver(self, payload: dict[str, Any], *, signature: SignatureMode = "valid",
                      timestamp: float | None = None, raw_body: bytes | None = None) -> BotResponse:
        body = raw_body if raw_body is not None else json.dumps(payload, ensure_ascii=False).encode()
        ts = str(int((timestamp if timestamp is not None else time.time()) * 1000))
        headers = {"Content-Type": "application/json", "timestamp": ts}
        if signature != "missing":
            headers["sign"] = dingtalk_sign(ts, self.app_secret if signature == "valid" else "x")
        return await self.post(self.bot_url, body, headers=headers)

    async def _session_reply(self, request: web.Request) -> web.Response:
        body = await self.record(request)
        session = request.query.get("session", "")
        if session not in self._sessions:
            return web.json_response({"errcode": 300001, "errmsg": "session invalid"})
        at_ids = (body.get("at") or {}).get("atUserIds") or []
        text = body["text"]["content"]
        mentioned = at_ids[0] if at_ids else None
        if mentioned and text.startswith(f"@{mentioned} "):
            text = text[len(mentioned) + 2:]
        self.add_reply(Reply(self._sessions[session], mentioned, text))
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _robot_send(self, request: web.Request) -> web.Response:
        body = await self.record(request)
        query = request.query
        if query.get("access_token") != self.robot_token:
            return web.json_response({"errcode": 300001, "errmsg": "token is not exist"})
        ts = query.get("timestamp", "")
        if query.get("sign") != dingtalk_sign(ts, self.robot_secret) or \
                abs(time.time() * 1000 - float(ts or 0)) > 3_600_000:
            return web.json_response({"errcode": 310000, "errmsg": "sign not match"})
        at_ids = (body.get("at") or {}).get("atUserIds") or []
        text = body["text"]["content"] if body["msgtype"] == "text" else body["markdown"]["text"]
        self.add_reply(Reply(self.robot_token, at_ids[0] if at_ids else None, text))
        return web.json_response({"errcode": 0, "errmsg": "ok"})

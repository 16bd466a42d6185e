"""Fake OneBot v11 implementation (NapCat-like): signed HTTP POST events, heartbeats,
quick operations in the HTTP answer, and the send_group_msg / send_private_msg API."""

from __future__ import annotations

import json
import time
from typing import Any, Literal

from aiohttp import web

from tests.fakes.base import BotResponse, FakePlatform, Reply, SignatureMode
from tests.fakes.signing import onebot_signature

SECRET = "test-onebot-secret"
ACCESS_TOKEN = "test-onebot-access-token"
SELF_ID = 3_300_000_001


class FakeOneBot(FakePlatform):
    channel = "onebot"

    def __init__(self, *, reply_mode: str = "quick", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.reply_mode = reply_mode

    def credentials(self) -> dict[str, Any]:
        return {"secret": SECRET, "access_token": ACCESS_TOKEN, "base_url": self.base_url,
                "reply_mode": self.reply_mode}

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/send_group_msg", self._send_group_msg)
        app.router.add_post("/send_private_msg", self._send_private_msg)

    def _event(self, group_id: str | None, user_id: str, segments: list[dict[str, Any]],
               message_id: str | None = None, user_name: str = "王师傅") -> dict[str, Any]:
        raw = "".join(s["data"]["text"] if s["type"] == "text" else
                      f"[CQ:{s['type']},{','.join(f'{k}={v}' for k, v in s['data'].items())}]"
                      for s in segments)
        event: dict[str, Any] = {
            "time": int(time.time()), "self_id": SELF_ID, "post_type": "message",
            "message_type": "group" if group_id else "private", "sub_type": "normal",
            "message_id": int(message_id) if message_id else self.next_id(),
            "user_id": int(user_id), "message": segments, "raw_message": raw, "font": 0,
            "sender": {"user_id": int(user_id), "nickname": user_name, "card": "",
                       "role": "member"},
        }
        if group_id:
            event["group_id"] = int(group_id)
            event["anonymous"] = None
        return event

    @staticmethod
    def _at(qq: str) -> dict[str, Any]:
        return {"type": "at", "data": {"qq": qq}}

    def text_message(self, group_id: str | None, user_id: str, text: str, *,
                     mention: bool = True, message_id: str | None = None,
                     user_name: str = "王师傅", quote: str | None = None) -> dict[str, Any]:
        segments = [{"type": "reply", "data": {"id": quote}}] if quote else []
        segments += [self._at(str(SELF_ID))] if mention else []
        segments.append({"type": "text", "data": {"text": f" {text}" if mention else text}})
        return self._event(group_id, user_id, segments, message_id, user_name)

    def media_message(self, group_id: str | None, user_id: str, kind: Literal["image", "voice"],
                      *, mention: bool = True) -> dict[str, Any]:
        media = ({"type": "image", "data": {"file": "a1b2.image", "url": "http://127.0.0.1/1.jpg"}}
                 if kind == "image" else {"type": "record", "data": {"file": "a1b2.amr"}})
        segments = [self._at(str(SELF_ID)), media] if mention else [media]
        return self._event(group_id, user_id, segments)

    def at_all_message(self, group_id: str, user_id: str, text: str) -> dict[str, Any]:
        return self._event(group_id, user_id,
                           [self._at("all"), {"type": "text", "data": {"text": f" {text}"}}])

    def heartbeat(self) -> dict[str, Any]:
        return {"time": int(time.time()), "self_id": SELF_ID, "post_type": "meta_event",
                "meta_event_type": "heartbeat", "interval": 5000,
                "status": {"online": True, "good": True}}

    async def deliver(self, payload: dict[str, Any], *, signature: SignatureMode = "valid",
                      timestamp: float | None = None, raw_body: bytes | None = None) -> BotResponse:
        if timestamp is not None and "time" in payload:
            payload = {**payload, "time": int(timestamp)}
        body = raw_body if raw_body is not None else json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "X-Self-ID": str(SELF_ID)}
        if signature != "missing":
            headers["X-Signature"] = onebot_signature(SECRET if signature == "valid" else "x", body)
        response = await self.post(self.bot_url, body, headers=headers)
        if response.status == 200 and response.body and raw_body is None:
            self._quick_operation(payload, response.json())
        return response

    def _quick_operation(self, event: dict[str, Any], operation: dict[str, Any]) -> None:
        """Carry out {"reply", "at_sender"} the way the implementation would."""
        if "reply" not in operation:
            return
        group_id = str(event["group_id"]) if event.get("group_id") else None
        at = str(event["user_id"]) if group_id and operation.get("at_sender", True) else None
        self.add_reply(Reply(group_id, at, str(operation["reply"])))

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {ACCESS_TOKEN}"

    async def _send_group_msg(self, request: web.Request) -> web.Response:
        body = await self.record(request)
        if not self._authorized(request):
            return web.json_response({"status": "failed", "retcode": 1403}, status=403)
        at = next((s["data"]["qq"] for s in body["message"] if s["type"] == "at"), None)
        text = "".join(s["data"]["text"] for s in body["message"] if s["type"] == "text")
        self.add_reply(Reply(str(body["group_id"]), at, text.strip()))
        return web.json_response({"status": "ok", "retcode": 0,
                                  "data": {"message_id": self.next_id()}})

    async def _send_private_msg(self, request: web.Request) -> web.Response:
        body = await self.record(request)
        if not self._authorized(request):
            return web.json_response({"status": "failed", "retcode": 1403}, status=403)
        text = "".join(s["data"]["text"] for s in body["message"] if s["type"] == "text")
        self.add_reply(Reply(None, None, text.strip()))
        return web.json_response({"status": "ok", "retcode": 0,
                                  "data": {"message_id": self.next_id()}})

"""Fake Feishu: encrypted, signed event callbacks; the tenant token endpoint (tokens
expire and can be revoked); message reply and create."""

from __future__ import annotations

import json
import re
import secrets
import time
from typing import Any, Literal

from aiohttp import web

from tests.fakes.base import BOT_NAME, BotResponse, FakePlatform, Reply, SignatureMode
from tests.fakes.signing import feishu_encrypt, feishu_signature

APP_ID = "cli_test_app"
APP_SECRET = "test-feishu-app-secret"
VERIFICATION_TOKEN = "test-feishu-verification-token"
ENCRYPT_KEY = "test-feishu-encrypt-key"
BOT_OPEN_ID = "ou_cloud_doctor_bot"
_AT = re.compile(r'^<at user_id="([^"]+)">[^<]*</at>\s*')


class FakeFeishu(FakePlatform):
    channel = "feishu"

    def __init__(self, *, token_ttl: int = 7200, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.token_ttl = token_ttl
        self.tokens_issued = 0
        self._tokens: dict[str, float] = {}   # token → expiry (time.time)
        self._chats: dict[str, str | None] = {}  # message id → chat id (None for p2p)

    def credentials(self) -> dict[str, Any]:
        return {"app_id": APP_ID, "app_secret": APP_SECRET,
                "verification_token": VERIFICATION_TOKEN, "encrypt_key": ENCRYPT_KEY,
                "bot_open_id": BOT_OPEN_ID, "base_url": self.base_url}

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/open-apis/auth/v3/tenant_access_token/internal", self._token)
        app.router.add_post("/open-apis/im/v1/messages/{message_id}/reply", self._reply)
        app.router.add_post("/open-apis/im/v1/messages", self._create)

    def rate_limit_response(self) -> web.Response:
        return web.json_response({"code": 99991400, "msg": "request trigger frequency limit"},
                                 status=429)

    def revoke_tokens(self) -> None:
        self._tokens.clear()

    # --- callbacks to the bot ---------------------------------------------------------
    def _event(self, group_id: str | None, user_id: str, message_id: str | None,
               message_type: str, content: dict[str, Any],
               mentions: list[dict[str, Any]]) -> dict[str, Any]:
        message_id = message_id or f"om_{secrets.token_hex(8)}"
        chat_id = group_id or f"oc_p2p_{user_id}"
        self._chats[message_id] = group_id
        return {
            "schema": "2.0",
            "header": {"event_id": secrets.token_hex(16), "token": VERIFICATION_TOKEN,
                       "create_time": str(int(time.time() * 1000)),
                       "event_type": "im.message.receive_v1", "tenant_key": "tk_test",
                       "app_id": APP_ID},
            "event": {
                "sender": {"sender_id": {"open_id": user_id, "union_id": f"on_{user_id}",
                                         "user_id": None},
                           "sender_type": "user", "tenant_key": "tk_test"},
                "message": {"message_id": message_id, "root_id": "", "parent_id": "",
                            "create_time": str(int(time.time() * 1000)), "chat_id": chat_id,
                            "chat_type": "group" if group_id else "p2p",
                            "message_type": message_type,
                            "content": json.dumps(content, ensure_ascii=False),
                            "mentions": mentions},
            },
        }

    @staticmethod
    def _bot_mention() -> list[dict[str, Any]]:
        return [{"key": "@_user_1", "id": {"open_id": BOT_OPEN_ID, "union_id": "on_bot",
                                          "user_id": None},
                 "name": BOT_NAME, "tenant_key": "tk_test"}]

    def text_message(self, group_id: str | None, user_id: str, text: str, *,
                     mention: bool = True, message_id: str | None = None,
                     user_name: str = "王师傅") -> dict[str, Any]:
        content = {"text": f"@_user_1 {text}" if mention else text}
        return self._event(group_id, user_id, message_id, "text", content,
                           self._bot_mention() if mention else [])

    def media_message(self, group_id: str | None, user_id: str, kind: Literal["image", "voice"],
                      *, mention: bool = True) -> dict[str, Any]:
        if kind == "image":
            return self._event(group_id, user_id, None, "image", {"image_key": "img_v2_1"}, [])
        return self._event(group_id, user_id, None, "audio",
                           {"file_key": "file_v2_1", "duration": 2000}, [])

    def at_all_message(self, group_id: str, user_id: str, text: str) -> dict[str, Any]:
        return self._event(group_id, user_id, None, "text", {"text": f"@_all {text}"}, [])

    async def deliver(self, payload: dict[str, Any], *, signature: SignatureMode = "valid",
                      timestamp: float | None = None, raw_body: bytes | None = None) -> BotResponse:
        encrypted = feishu_encrypt(ENCRYPT_KEY, json.dumps(payload, ensure_ascii=False))
        body = raw_body if raw_body is not None else json.dumps({"encrypt": encrypted}).encode()
        ts = str(int(timestamp if timestamp is not None else time.time()))
        nonce = secrets.token_hex(8)
        headers = {"Content-Type": "application/json", "X-Lark-Request-Timestamp": ts,
                   "X-Lark-Request-Nonce": nonce}
        if signature != "missing":
            key = ENCRYPT_KEY if signature == "valid" else "wrong-key"
            headers["X-Lark-Signature"] = feishu_signature(ts, nonce, key, body)
        return await self.post(self.bot_url, body, headers=headers)

    async def url_verification(self, challenge: str, token: str = VERIFICATION_TOKEN) -> BotResponse:
        """Sent (encrypted, unsigned) when the request URL is saved in the console."""
        plain = json.dumps({"challenge": challenge, "token": token, "type": "url_verification"})
        body = json.dumps({"encrypt": feishu_encrypt(ENCRYPT_KEY, plain)}).encode()
        return await self.post(self.bot_url, body, headers={"Content-Type": "application/json"})

    # --- the platform API ---------------------------------------------------------------
    def _authorized(self, request: web.Request) -> bool:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return self._tokens.get(token, 0) > time.time()

    async def _token(self, request: web.Request) -> web.Response:
        body = await self.record(request)
        if body != {"app_id": APP_ID, "app_secret": APP_SECRET}:
            return web.json_response({"code": 10014, "msg": "app secret invalid"}, status=400)
        self.tokens_issued += 1
        token = f"t-{secrets.token_hex(12)}"
        self._tokens[token] = time.time() + self.token_ttl
        return web.json_response({"code": 0, "msg": "ok", "tenant_access_token": token,
                                  "expire": self.token_ttl})

    def _invalid_token(self) -> web.Response:
        return web.json_response({"code": 99991663, "msg": "Invalid access token"}, status=400)

    async def _reply(self, request: web.Request) -> web.Response:
        body = await self.record(request)
        if not self._authorized(request):
            return self._invalid_token()
        message_id = request.match_info["message_id"]
        if message_id not in self._chats:
            return web.json_response({"code": 230011, "msg": "message not found"}, status=400)
        self.add_reply(self._parse(self._chats[message_id], body))
        return web.json_response({"code": 0, "msg": "success",
                                  "data": {"message_id": f"om_{secrets.token_hex(8)}"}})

    async def _create(self, request: web.Request) -> web.Response:
        body = await self.record(request)
        if not self._authorized(request):
            return self._invalid_token()
        if request.query.get("receive_id_type") != "chat_id":
            return web.json_response({"code": 99992402, "msg": "field validation failed"},
                                     status=400)
        self.add_reply(self._parse(body["receive_id"], body))
        return web.json_response({"code": 0, "msg": "success",
                                  "data": {"message_id": f"om_{secrets.token_hex(8)}"}})

    @staticmethod
    def _parse(chat_id: str | None, body: dict[str, Any]) -> Reply:
        text = json.loads(body["content"])["text"]
        match = _AT.match(text)
        return Reply(chat_id, match.group(1) if match else None,
                     text[match.end():] if match else text)

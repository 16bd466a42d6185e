"""Fake WeCom: the intelligent robot's encrypted callbacks and response_url, and
the group-robot webhook (send side)."""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from typing import Any, Literal
from urllib.parse import quote

from aiohttp import web

from tests.fakes.base import BOT_NAME, BotResponse, FakePlatform, Reply, SignatureMode
from tests.fakes.signing import wecom_encrypt, wecom_signature

TOKEN = "test-wecom-token"
AES_KEY = base64.b64encode(b"cloud-doctor-fake-wecom-aes-key!").decode().rstrip("=")
WEBHOOK_KEY = "test-wecom-webhook-key"
RESPONSE_URL_USED = 600039  # the fake's code for a second answer to one response_url
_MENTION = re.compile(r"^<@([^>]+)>\s*")


class FakeWeCom(FakePlatform):
    channel = "wecom"

    def __init__(self, *, token: str = TOKEN, aes_key: str = AES_KEY,
                 webhook_keys: tuple[str, ...] = (WEBHOOK_KEY,), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.token = token
        self.aes_key = aes_key
        self.webhook_keys = webhook_keys
        self._response_urls: dict[str, str | None] = {}  # response_code → chat id
        self.reused_response_urls = 0

    def credentials(self) -> dict[str, Any]:
        return {"token": self.token, "encoding_aes_key": self.aes_key, "base_url": self.base_url}

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/cgi-bin/aibot/response", self._response)
        app.router.add_post("/cgi-bin/webhook/send", self._webhook)

    def rate_limit_response(self) -> web.Response:
        return web.json_response({"errcode": 45009, "errmsg": "api freq out of limit"})

    # --- callbacks to the bot ---------------------------------------------------------
    def _envelope(self, group_id: str | None, user_id: str, message_id: str | None,
                  body: dict[str, Any]) -> dict[str, Any]:
        code = secrets.token_hex(8)
        self._response_urls[code] = group_id
        payload = {"msgid": message_id or f"msg{self.next_id()}", "aibotid": "aibtest",
                   "chattype": "group" if group_id else "single", "from": {"userid": user_id},
                   "response_url": f"{self.base_url}/cgi-bin/aibot/response?response_code={code}",
                   **body}
        if group_id:
            payload["chatid"] = group_id
        return payload

    def text_message(self, group_id: str | None, user_id: str, text: str, *,
                     mention: bool = True, message_id: str | None = None,
                     user_name: str = "王师傅") -> dict[str, Any]:
        content = f"@{BOT_NAME} {text}" if mention else text
        return self._envelope(group_id, user_id, message_id,
                              {"msgtype": "text", "text": {"content": content}})

    def media_message(self, group_id: str | None, user_id: str, kind: Literal["image", "voice"],
                      *, mention: bool = True) -> dict[str, Any]:
        if kind == "image":
            body: dict[str, Any] = {"msgtype": "image",
                                    "image": {"url": f"{self.base_url}/media/1.jpg"}}
        else:
            body = {"msgtype": "voice", "voice": {"content": ""}}
        return self._envelope(group_id, user_id, None, body)

    def at_all_message(self, group_id: str, user_id: str, text: str) -> dict[str, Any]:
        return self._envelope(group_id, user_id, None,
                              {"msgtype": "text", "text": {"content": f"@all {text}"}})

    async def deliver(self, payload: dict[str, Any], *, signature: SignatureMode = "valid",
                      timestamp: float | None = None, raw_body: bytes | None = None) -> BotResponse:
        encrypt = wecom_encrypt(self.aes_key, "", json.dumps(payload, ensure_ascii=False))
        body = raw_body if raw_body is not None else json.dumps({"encrypt": encrypt}).encode()
        ts = str(int(timestamp if timestamp is not None else time.time()))
        nonce = str(self.next_id())
        params = {"timestamp": ts, "nonce": nonce}
        if signature != "missing":
            good = wecom_signature(self.token, ts, nonce, encrypt)
            params["msg_signature"] = good if signature == "valid" else "0" * 40
        return await self.post(self.bot_url, body, params=params,
                               headers={"Content-Type": "application/json"})

    async def verify_url(self, plaintext: str, *, signature: SignatureMode = "valid") -> BotResponse:
        """The URL check WeCom does when the callback URL is saved in the console."""
        echostr = wecom_encrypt(self.aes_key, "", plaintext)
        ts, nonce = str(int(time.time())), str(self.next_id())
        sig = wecom_signature(self.token, ts, nonce, echostr) if signature == "valid" else "0" * 40
        query = f"msg_signature={sig}&timestamp={ts}&nonce={nonce}&echostr={quote(echostr, safe='')}"
        return await self.post(f"{self.bot_url}?{query}", b"", method="GET")

    # --- the platform API ---------------------------------------------------------------
    async def _response(self, request: web.Request) -> web.Response:
        body = await self.record(request)
        code = request.query.get("response_code", "")
        if code not in self._response_urls:
            self.reused_response_urls += 1
            return web.json_response({"errcode": RESPONSE_URL_USED,
                                      "errmsg": "response_url used or unknown"})
        group_id = self._response_urls.pop(code)
        content = str(body["markdown"]["content"])
        match = _MENTION.match(content)
        self.add_reply(Reply(group_id, match.group(1) if match else None,
                             content[match.end():] if match else content))
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _webhook(self, request: web.Request) -> web.Response:
        body = await self.record(request)
        key = request.query.get("key", "")
        if key not in self.webhook_keys:
            return web.json_response({"errcode": 93000, "errmsg": "invalid webhook url"})
        if body.get("msgtype") == "text":
            mentioned = (body["text"].get("mentioned_list") or [None])[0]
            self.add_reply(Reply(key, mentioned, body["text"]["content"]))
        else:
            self.add_reply(Reply(key, None, body["markdown"]["content"]))
        return web.json_response({"errcode": 0, "errmsg": "ok"})

"""Fake web chat client: what the demo page (or the union website) does in the browser."""

from __future__ import annotations

import json
from typing import Any, Literal

from aiohttp import web

from tests.fakes.base import BOT_NAME, BotResponse, FakePlatform, Reply, SignatureMode


class FakeWebChat(FakePlatform):
    channel = "webchat"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._names: dict[str, str] = {}

    def credentials(self) -> dict[str, Any]:
        return {"bot_names": [BOT_NAME]}

    def routes(self, app: web.Application) -> None:
        """The browser has no API the bot calls."""

    def expected_mention(self, user_id: str, user_name: str) -> str:
        return user_name

    def text_message(self, group_id: str | None, user_id: str, text: str, *,
                     mention: bool = True, message_id: str | None = None,
                     user_name: str = "王师傅") -> dict[str, Any]:
        body = {"user_id": user_id, "user_name": user_name,
                "text": f"@{BOT_NAME} {text}" if mention else text,
                "message_id": message_id or f"web-{self.next_id()}"}
        if group_id:
            body["group_id"] = group_id
        return body

    def media_message(self, group_id: str | None, user_id: str, kind: Literal["image", "voice"],
                      *, mention: bool = True) -> dict[str, Any]:
        # The page only sends text; a pasted picture arrives as its file name at most.
        return self.text_message(group_id, user_id, "📷", mention=mention)

    def at_all_message(self, group_id: str, user_id: str, text: str) -> dict[str, Any]:
        return self.text_message(group_id, user_id, f"@所有人 {text}", mention=False)

    async def deliver(self, payload: dict[str, Any], *, signature: SignatureMode = "valid",
                      timestamp: float | None = None, raw_body: bytes | None = None) -> BotResponse:
        body = raw_body if raw_body is not None else json.dumps(payload, ensure_ascii=False).encode()
        response = await self.post(self.bot_url, body, headers={"Content-Type": "application/json"})
        if response.status == 200 and raw_body is None:
            group_id = payload.get("group_id")
            name = str(payload.get("user_name") or payload.get("user_id"))
            for reply in response.json().get("replies", []):
                text = str(reply["text"])
                if group_id and text.startswith(f"@{name} "):
                    self.add_reply(Reply(group_id, name, text[len(name) + 2:]))
                else:
                    self.add_reply(Reply(group_id, None, text))
        return response

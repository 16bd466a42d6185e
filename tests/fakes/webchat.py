"""Fake web chat client: what the demo page (or the union website) does in the browser:
one signed session per simulated member (POST …/session), sent as X-Session."""

from __future__ import annotations

import json
from typing import Any, Literal

from aiohttp import web

from tests.fakes.base import BOT_NAME, BotResponse, FakePlatform, Reply, SignatureMode

SESSION_SECRET = "test-webchat-session-secret"


class FakeWebChat(FakePlatform):
    channel = "webchat"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sessions: dict[str, dict[str, Any]] = {}  # member → {"session", "user_id", ...}

    def credentials(self) -> dict[str, Any]:
        return {"bot_names": [BOT_NAME], "session_secret": SESSION_SECRET}

    @property
    def session_url(self) -> str:
        return self.bot_url.rsplit("/", 1)[0] + "/session"

    async def new_session(self) -> dict[str, Any]:
        response = await self.post(self.session_url, b"")
        assert response.status == 200, response.body
        return dict(response.json())

    async def session_for(self, member: str) -> dict[str, Any]:
        """The session of a simulated member (what one browser holds)."""
        if member not in self.sessions:
            self.sessions[member] = await self.new_session()
        return self.sessions[member]

    async def user_id_of(self, member: str) -> str:
        """The user id the bot knows the member by (derived from the session)."""
        return str((await self.session_for(member))["user_id"])

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
        """Posts as the member `payload["user_id"]` with that member's session
        (signature "wrong": a forged one, "missing": none); `user_id` stays in the
        body, as an old page would send it: the bot must not believe it."""
        body = raw_body if raw_body is not None else json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        if signature != "missing":
            token = str((await self.session_for(str(payload.get("user_id"))))["session"])
            headers["X-Session"] = token if signature == "valid" else forge(token)
        response = await self.post(self.bot_url, body, headers=headers)
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


def forge(token: str) -> str:
    """The token with its signature's last digit changed."""
    return token[:-1] + ("0" if token[-1] != "0" else "1")


async def bot_user_id(fake: FakePlatform, member: str) -> str:
    """The user id the bot sees for `member`: the platform's id, or for the web chat
    the one derived from the member's session."""
    return await fake.user_id_of(member) if isinstance(fake, FakeWebChat) else member

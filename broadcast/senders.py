"""Where each kind of group's messages go, using the connectors' send clients.

A group's `send_via`/`send_target` come from the grid directory:
- `webhook` + a WeCom, DingTalk or Feishu robot URL. A DingTalk or Feishu robot
  with signing on carries its secret in the URL fragment (`#secret=SEC…`),
  which HTTP clients never send; the fragment is stripped before the request.
- `onebot` + `send_group_msg`: the configured OneBot implementation (QQ account).
- `web` + `room:<id>`: a web chat room; the message goes back as a `RoomMessage`
  and is stored with the delivery's outcome (the same transaction).

`pace_key()` names the budget a message uses: the robot (its URL without the
secret) for webhooks, the account for QQ, the room for the web.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp

from broadcast.formatting import Message
from broadcast.records import Job, RoomMessage
from platforms.clients.dingtalk import DingTalkClient
from platforms.clients.feishu import FeishuWebhookClient
from platforms.clients.onebot import OneBotClient, text_segment
from platforms.clients.webhook import split_secret
from platforms.clients.wecom import WeComClient
from platforms.errors import MessageRejected


@dataclass(frozen=True)
class Sent:
    """A message that went out: the platform's answer (kept in the attempt log), and
    for a web room the message to store with the outcome."""

    answer: Mapping[str, object]
    room_message: RoomMessage | None = None


@dataclass(frozen=True)
class OneBotAccount:
    base_url: str
    access_token: str = ""


def pace_key(job_platform: str, send_via: str, send_target: str,
             onebot: OneBotAccount | None = None) -> str:
    if send_via == "onebot":
        return f"onebot:{onebot.base_url if onebot else 'default'}"
    if send_via == "webhook":
        return f"{job_platform}:{split_secret(send_target)[0]}"
    return f"{job_platform}:{send_target}"


class Senders:
    """Sends one message of a job; raises the typed errors of `platforms.errors`."""

    def __init__(self, session: aiohttp.ClientSession, *, timeout: float = 10.0,
                 onebot: OneBotAccount | None = None) -> None:
        # The dispatcher retries (and logs each attempt), so the clients do not.
        self.onebot_account = onebot
        self._wecom = WeComClient(session, base_url="", timeout=timeout, max_retries=0)
        self._dingtalk = DingTalkClient(session, base_url="", timeout=timeout, max_retries=0)
        self._feishu = FeishuWebhookClient(session, base_url="", timeout=timeout, max_retries=0)
        self._onebot = (OneBotClient(session, access_token=onebot.access_token,
                                     base_url=onebot.base_url, timeout=timeout, max_retries=0)
                        if onebot else None)

    def key(self, job: Job) -> str:
        return pace_key(job.platform, job.send_via, job.send_target, self.onebot_account)

    async def send(self, job: Job, message: Message) -> Sent:
        """Send one message of the job; raises the typed errors of `platforms.errors`."""
        if job.send_via == "web" and job.send_target.startswith("room:"):
            room = job.send_target.removeprefix("room:")
            return Sent({"room": room}, RoomMessage(room, message.text))
        return Sent(await self._post(job, message))

    async def _post(self, job: Job, message: Message) -> Mapping[str, object]:
        if job.send_via == "webhook":
            url, secret = split_secret(job.send_target)
            if job.platform == "wecom":
                payload = ({"msgtype": "markdown", "markdown": {"content": message.text}}
                           if message.markdown else
                           {"msgtype": "text", "text": {"content": message.text}})
                return await self._wecom.post_json(url, payload)
            if job.platform == "dingtalk":
                body = ({"msgtype": "markdown",
                         "markdown": {"title": job.title, "text": message.text}}
                        if message.markdown else
                        {"msgtype": "text", "text": {"content": message.text}})
                params = self._dingtalk.signed_params(secret) if secret else None
                return await self._dingtalk.post_json(url, body, params=params)
            if job.platform == "feishu":
                await self._feishu.send_text(url, message.text, secret)
                return {"code": 0}
        if job.send_via == "onebot":
            if self._onebot is None:
                raise MessageRejected("no OneBot account is configured (ONEBOT_API_URL)",
                                      platform="onebot", code="config")
            message_id = await self._onebot.send_group_msg(job.external_id,
                                                           [text_segment(message.text)])
            return {"message_id": message_id}
        raise MessageRejected(f"cannot send via {job.send_via!r} to {job.platform}",
                              platform=job.platform, code="config")

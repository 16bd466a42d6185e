"""The notifier: sends the outbox of the back office (`tk_messages`) to people.

Each round claims due pending rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL) under a
lease: in the claiming transaction a row's `due_at` moves to the end of the lease
and its `attempts` grows by one, by an UPDATE guarded on "still pending and due", so
that two notifiers (threads or processes, SQLite or PostgreSQL) never both claim a
row. The outcome is written back under the same guard (the attempt and the lease
the claim set): a notifier whose lease ran out cannot overwrite another's work. A
notifier that dies mid-send leaves its rows to be claimed again once the lease has
run out (at least once: only a message in flight at the moment of the crash can
arrive twice).

Where a message goes:
- a group post: the group's send target from the grid directory
  (`grids.repository.chat_group`), the @ rendered the platform's way: WeCom
  robot `mentioned_list`, DingTalk `at.atUserIds` (and "@id" in the text, which
  DingTalk requires to show it), Feishu custom bot `<at user_id="ou_…">name</at>`,
  OneBot an at segment before the text. Web rooms are not supported yet (their
  messages live in the broadcaster's tables): such posts fail with "网页群暂不支持".
- a direct message: OneBot `send_private_msg` (the QQ account given as `onebot`),
  Feishu to the open_id through the app (`feishu`); WeCom and DingTalk group robots
  cannot write to a person, so those fail with "该平台不支持机器人私聊".

Outcomes: sent; a transient error (`platforms.errors`) is retried with exponential
backoff on `due_at` (at least the platform's retry-after), at most `MAX_ATTEMPTS`
attempts, then failed with the reason; a permanent error, or no way to reach the
target, fails at once with the reason in `last_error` (which keeps the latest
failure even after a later success). Logs never show a full phone number.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from broadcast import webfeed
from core.platforms import DINGTALK, FEISHU, ONEBOT, WEB, WECOM
from grids import repository
from grids.directory import ChatGroup
from platforms.clients.dingtalk import DingTalkClient
from platforms.clients.feishu import DEFAULT_BASE_URL as FEISHU_BASE_URL
from platforms.clients.feishu import FeishuClient, FeishuWebhookClient
from platforms.clients.onebot import OneBotClient, Segment, at_segment, text_segment
from platforms.clients.webhook import split_secret
from platforms.clients.wecom import WeComClient
from platforms.errors import DeliveryError, PermanentDeliveryError, RateLimited
from tickets.masking import mask
from tickets.tables import MessageRow

logger = logging.getLogger(__name__)

PENDING, SENT, FAILED = "pending", "sent", "failed"
MAX_ATTEMPTS = 6
CHUNK = 10        # rows claimed at a time; the lease covers sending all of them
ROUND = 50        # rows a round of `run` sends before it looks at `stop` again

# The reasons a message cannot go out (kept in `last_error`).
NO_DIRECT = "该平台不支持机器人私聊"
WEB_GROUP = "网页群的发送地址不是 room:…"
WEB_DIRECT = "网页暂不支持私聊"
UNKNOWN_GROUP = "群不在网格目录中"
NO_ONEBOT = "未配置 QQ 机器人账号（ONEBOT_API_URL），无法发送"
NO_FEISHU = "未配置飞书应用（app_id / app_secret），无法私聊"
NO_RECIPIENT = "消息既没有群也没有收件人"


class Unreachable(Exception):
    """No way to deliver this message (retrying cannot help); the reason is the text."""


@dataclass(frozen=True)
class Claimed:
    """A claimed row with what is needed to send it and to record the outcome."""

    id: int
    platform: str
    group_id: str | None
    user_id: str | None
    mention_id: str | None
    mention_name: str | None
    text: str
    attempts: int        # including this one
    lease_until: float   # the row's due_at while it is claimed
    group: ChatGroup | None = None

    @property
    def target(self) -> str:
        """Where it goes, for logs (masked: an id may be a phone number)."""
        where = f"group {self.group_id}" if self.group_id else f"user {self.user_id}"
        return mask(f"{self.platform} {where}")


class _FeishuApp(FeishuClient):
    """The Feishu app client, plus a message to a person (receive_id_type=open_id)."""

    async def send_to_open_id(self, open_id: str, text: str) -> dict[str, Any]:
        payload = {"receive_id": open_id, "msg_type": "text",
                   "content": json.dumps({"text": text}, ensure_ascii=False)}
        return await self._api("/open-apis/im/v1/messages", payload,
                               params={"receive_id_type": "open_id"})


class Notifier:
    """Sends the pending rows of `tk_messages`; `onebot` is (API URL, access token)
    of the QQ account, `feishu` (app_id, app_secret) of the Feishu app."""

    def __init__(self, engine: Engine, session: aiohttp.ClientSession, *,
                 onebot: tuple[str, str] | None = None,
                 feishu: tuple[str, str] | None = None,
                 clock: Callable[[], float] = time.time,
                 feishu_base_url: str = FEISHU_BASE_URL, timeout: float = 10.0,
                 lease: float = 300.0, backoff: float = 30.0, max_backoff: float = 3600.0,
                 max_attempts: int = MAX_ATTEMPTS) -> None:
        self.engine = engine
        self.clock = clock
        self.lease = lease
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_attempts = max_attempts
        # The notifier retries (with backoff, counted in `attempts`), so the clients do not.
        common: dict[str, Any] = {"timeout": timeout, "max_retries": 0}
        self._wecom = WeComClient(session, base_url="", **common)
        self._dingtalk = DingTalkClient(session, base_url="", **common)
        self._feishu_hook = FeishuWebhookClient(session, base_url="", **common)
        self._onebot = (OneBotClient(session, base_url=onebot[0], access_token=onebot[1],
                                     **common)
                        if onebot and onebot[0] else None)
        self._feishu = (_FeishuApp(session, app_id=feishu[0], app_secret=feishu[1],
                                   base_url=feishu_base_url, **common)
                        if feishu and feishu[0] else None)

    # --- the loop --------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event, poll: float = 2.0) -> None:
        """Send what is due until `stop` is set; a full round goes on at once."""
        while not stop.is_set():
            try:
                busy = await self.send_due(ROUND) >= ROUND
            except Exception:
                logger.exception("Notifier: a round failed")
                busy = False
            if busy:
                continue
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=poll)

    async def send_due(self, limit: int = 50) -> int:
        """Claim and send up to `limit` due messages; returns how many were sent."""
        handled = sent = 0
        while handled < limit:
            found, claimed = await asyncio.to_thread(self._claim, min(CHUNK, limit - handled))
            if not found:
                break
            for message in claimed:
                handled += 1
                sent += await self._send_one(message)
        return sent

    # --- one message ---------------------------------------------------------------------------
    async def _send_one(self, message: Claimed) -> int:
        try:
            platform_id = await self._deliver(message)
        except Unreachable as exc:
            await self._fail(message, str(exc))
            return 0
        except PermanentDeliveryError as exc:
            await self._fail(message, f"平台拒绝，不再重试：{mask(str(exc))}")
            return 0
        except DeliveryError as exc:
            await self._retry(message, mask(str(exc)), _retry_after(exc))
            return 0
        except Exception as exc:   # a bug or an unforeseen answer: retried like a transient one
            logger.exception("Message %s to %s: unexpected error", message.id, message.target)
            await self._retry(message, mask(f"{type(exc).__name__}: {exc}"), None)
            return 0
        if await asyncio.to_thread(self._record, message, SENT, None, None, platform_id):
            logger.info("Message %s sent to %s (attempt %s)", message.id, message.target,
                        message.attempts)
        return 1

    async def _fail(self, message: Claimed, reason: str) -> None:
        logger.warning("Message %s to %s failed: %s (%s)", message.id, message.target,
                       mask(reason), _preview(message.text))
        await asyncio.to_thread(self._record, message, FAILED, reason, None)

    async def _retry(self, message: Claimed, error: str, retry_after: float | None) -> None:
        if message.attempts >= self.max_attempts:
            await self._fail(message, f"重试 {message.attempts} 次仍失败：{error}")
            return
        delay = min(self.backoff * 2 ** (message.attempts - 1), self.max_backoff)
        delay = max(delay, retry_after or 0.0)
        logger.info("Message %s to %s: attempt %s failed (%s), next in %.0fs", message.id,
                    message.target, message.attempts, error, delay)
        await asyncio.to_thread(self._record, message, PENDING, error, self.clock() + delay)

    async def _deliver(self, m: Claimed) -> str | None:
        """Send; the platform's id of the message when it gives one (a quote of it is
        an answer to the ticket)."""
        if m.group_id:
            if m.group is None:
                raise Unreachable(f"{UNKNOWN_GROUP}（{m.platform} {m.group_id}）")
            return await self._post_group(m, m.group)
        if m.user_id:
            await self._post_direct(m, m.user_id)
            return None
        else:
            raise Unreachable(NO_RECIPIENT)

    async def _post_group(self, m: Claimed, group: ChatGroup) -> str | None:
        text, mention = m.text, m.mention_id
        if group.send_via == "web":
            if not group.send_target.startswith("room:"):
                raise Unreachable(WEB_GROUP)
            shown = f"@{m.mention_name or mention} {text}" if mention else text
            await asyncio.to_thread(webfeed.post, self.engine,
                                    group.send_target.removeprefix("room:"), shown)
            return None
        if group.send_via == "onebot":
            if self._onebot is None:
                raise Unreachable(NO_ONEBOT)
            segments: list[Segment] = ([at_segment(mention), text_segment(f" {text}")]
                                       if mention else [text_segment(text)])
            sent = await self._onebot.send_group_msg(group.external_id, segments)
            return None if sent is None else str(sent)
        if group.send_via != "webhook":
            raise Unreachable(f"不支持的发送方式：{group.send_via}")
        url, secret = split_secret(group.send_target)
        mentioned = [mention] if mention else []
        if group.platform == WECOM:
            await self._wecom.send_text_to(url, text, mentioned_list=mentioned)
        elif group.platform == DINGTALK:   # DingTalk shows the @ only when it is in the text
            await self._dingtalk.send_text_to(url, secret, f"@{mention} {text}" if mention else text,
                                              at_user_ids=mentioned)
        elif group.platform == FEISHU:
            if mention:
                text = f'<at user_id="{mention}">{_plain(m.mention_name or "")}</at> {text}'
            await self._feishu_hook.send_text(url, text, secret)
        else:
            raise Unreachable(f"{group.platform} 群不能通过 webhook 发送")
        return None   # group robots do not say which message they posted

    async def _post_direct(self, m: Claimed, user_id: str) -> None:
        if m.platform == ONEBOT:
            if self._onebot is None:
                raise Unreachable(NO_ONEBOT)
            await self._onebot.send_private_msg(user_id, [text_segment(m.text)])
        elif m.platform == FEISHU:
            if self._feishu is None:
                raise Unreachable(NO_FEISHU)
            await self._feishu.send_to_open_id(user_id, m.text)
        elif m.platform == WEB:
            raise Unreachable(WEB_DIRECT)
        else:
            raise Unreachable(NO_DIRECT)

    # --- the database (called through asyncio.to_thread) ---------------------------------------
    def _session(self) -> Session:
        return Session(self.engine, future=True, expire_on_commit=False)

    def _claim(self, limit: int) -> tuple[int, list[Claimed]]:
        """Claim up to `limit` due pending rows under a lease, then find their groups;
        returns how many were due (another notifier may have taken some) and the claims."""
        now = self.clock()
        lease_until = now + self.lease
        claimed: list[Claimed] = []
        with self._session() as session, session.begin():
            rows = session.execute(
                select(MessageRow.id, MessageRow.platform, MessageRow.group_id,
                       MessageRow.user_id, MessageRow.mention_id, MessageRow.mention_name,
                       MessageRow.text, MessageRow.attempts)
                .where(MessageRow.state == PENDING, MessageRow.due_at <= now)
                .order_by(MessageRow.due_at, MessageRow.id).limit(limit)
                .with_for_update(skip_locked=True)).all()
            for r in rows:
                # Guarded: on SQLite (no row locks) another notifier may have taken it
                # since the SELECT; the UPDATE runs under the database's write lock.
                result = session.execute(
                    update(MessageRow)
                    .where(MessageRow.id == r.id, MessageRow.state == PENDING,
                           MessageRow.due_at <= now)
                    .values(attempts=MessageRow.attempts + 1, due_at=lease_until)
                    .execution_options(synchronize_session=False))
                if result.rowcount == 1:
                    claimed.append(Claimed(r.id, r.platform, r.group_id, r.user_id,
                                           r.mention_id, r.mention_name, r.text,
                                           (r.attempts or 0) + 1, lease_until))
        if not any(c.group_id for c in claimed):
            return len(rows), claimed
        with self._session() as session:
            return len(rows), [Claimed(c.id, c.platform, c.group_id, c.user_id, c.mention_id,
                            c.mention_name, c.text, c.attempts, c.lease_until,
                            repository.chat_group(session, c.platform, c.group_id))
                    if c.group_id else c for c in claimed]

    def _record(self, message: Claimed, state: str, error: str | None,
                due_at: float | None, platform_id: str | None = None) -> bool:
        """Write the outcome, unless the lease was lost (then another notifier owns it)."""
        values: dict[str, Any] = {"state": state}
        if platform_id:
            values["platform_message_id"] = platform_id[:128]
        if error is not None:
            values["last_error"] = error[:2000]
        if state == SENT:
            values["sent_at"] = self.clock()
        if due_at is not None:
            values["due_at"] = due_at
        with self._session() as session, session.begin():
            result = session.execute(
                update(MessageRow)
                .where(MessageRow.id == message.id, MessageRow.state == PENDING,
                       MessageRow.attempts == message.attempts,
                       MessageRow.due_at == message.lease_until)
                .values(**values).execution_options(synchronize_session=False))
            done = result.rowcount == 1
        if not done:
            logger.warning("Message %s to %s: lease lost, outcome %s not recorded", message.id,
                           message.target, state)
        return done


def _retry_after(exc: DeliveryError) -> float | None:
    return exc.retry_after if isinstance(exc, RateLimited) else None


def _plain(name: str) -> str:
    """A name inside Feishu's <at> tag: no markup."""
    return name.replace("<", "").replace(">", "")


def _preview(text: str) -> str:
    line = mask(" ".join(text.split()))
    return line if len(line) <= 60 else line[:59] + "…"

"""The send side: one small client per platform (WeCom and DingTalk group-robot
webhooks, Feishu messages, OneBot send_group_msg). Each takes an injected
aiohttp ClientSession, has a timeout, retries only what is safe to retry, and
raises the typed errors of `platforms.errors` (transient or permanent)."""

from platforms.clients.base import JsonApiClient
from platforms.clients.dingtalk import DingTalkClient
from platforms.clients.feishu import FeishuClient
from platforms.clients.onebot import OneBotClient
from platforms.clients.wecom import WeComClient

__all__ = ["DingTalkClient", "FeishuClient", "JsonApiClient", "OneBotClient", "WeComClient"]

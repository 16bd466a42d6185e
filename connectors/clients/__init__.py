"""The send side: one small client per platform (WeCom and DingTalk group-robot
webhooks, Feishu messages, OneBot send_group_msg). Each takes an injected
aiohttp ClientSession, has a timeout, retries only what is safe to retry, and
raises the typed errors of `connectors.errors` (transient or permanent)."""

from connectors.clients.base import JsonApiClient, split_utf8
from connectors.clients.dingtalk import DingTalkClient
from connectors.clients.feishu import FeishuClient
from connectors.clients.onebot import OneBotClient
from connectors.clients.wecom import WeComClient

__all__ = ["DingTalkClient", "FeishuClient", "JsonApiClient", "OneBotClient", "WeComClient",
           "split_utf8"]

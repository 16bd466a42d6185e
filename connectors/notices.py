"""The short, polite texts the connectors send on their own (not from the assistant)."""

from __future__ import annotations

from platforms.message import MessageKind

EMPTY_QUESTION = "您好，我是云博士。请在@我之后写上您的问题，例如：@云博士 农民工怎么入会？"
NOT_TEXT = "云博士目前只能看懂文字消息，请用文字把问题发给我，例如：@云博士 怎么入会？"
VOICE = "云博士暂时听不了语音，请用文字把问题发给我，例如：@云博士 怎么入会？"
FLOODED = "您的提问有点频繁，云博士需要歇一歇，请一分钟后再问。"
FAILED = "抱歉，云博士暂时出了点问题，请稍后再试，或拨打 12351 职工服务热线。"
TRUNCATED = "…（内容过长，未显示完整，请拨打 12351 职工服务热线咨询）"
TOO_LARGE = "请求内容过大，无法处理。"
# Web chat only (its answers are HTTP responses to the asker's browser).
BUSY = "现在提问的人比较多，请稍后再试。"
ADDRESS_FLOODED = "您所在网络的提问有点频繁，请一分钟后再问。"


def for_kind(kind: MessageKind) -> str:
    return VOICE if kind is MessageKind.VOICE else NOT_TEXT

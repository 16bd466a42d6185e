"""The names of the platforms where grid groups talk, and their Chinese labels."""

from __future__ import annotations

from collections.abc import Mapping

WECOM = "wecom"
DINGTALK = "dingtalk"
FEISHU = "feishu"
ONEBOT = "onebot"   # QQ groups through a OneBot v11 implementation
WEB = "web"         # the union website's chat rooms and the demo page

PLATFORMS: tuple[str, ...] = (WECOM, DINGTALK, FEISHU, ONEBOT, WEB)
PLATFORM_LABELS: Mapping[str, str] = {
    WECOM: "企业微信",
    DINGTALK: "钉钉",
    FEISHU: "飞书",
    ONEBOT: "QQ",
    WEB: "网页",
}

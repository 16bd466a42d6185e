"""Rasa input channels for the platforms where grid groups talk, each registered
in credentials.yml by module path:

- `connectors.wecom.WeComInput`       WeCom intelligent robot (企业微信智能机器人)
- `connectors.dingtalk.DingTalkInput` DingTalk enterprise robot (钉钉)
- `connectors.feishu.FeishuInput`     Feishu / Lark bot (飞书)
- `connectors.onebot.OneBotInput`     QQ groups through OneBot v11 (NapCat, Lagrange)
- `connectors.webchat.WebChatInput`   the union website's chat and the demo page

`connectors.base` is the shared Sanic side (dedupe, @-mention rules, flood limit,
background turns, reply with @); the protocols and send clients are `platforms`'.
See the README (接入群聊平台) for set-up.
"""

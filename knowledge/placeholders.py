"""Local particulars in answer texts: `[[hotline_hours]]` names a field (`kb_fields`).

Double square brackets cannot collide with Rasa's `{slot}` templating (Rasa only
looks at braces), and rarely occur in Chinese text (`【】` does, so it is not used).
Fields are filled in after Rasa has filled its slots, so a field's value may
contain braces without Rasa reading them.

`check()` is what an edit must pass: every `[[…]]` names a known field, and every
brace belongs to a `{slot}` of the domain (Rasa's formatter fails on a stray `{`).
`render()` never shows a raw placeholder: an unfilled or unknown field becomes its
fallback text, with a warning in the log.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Collection, Iterable, Mapping

from knowledge.model import Field, InvalidAnswer

logger = logging.getLogger(__name__)

PLACEHOLDER = re.compile(r"\[\[([^\[\]\n]*)\]\]")
KEY = re.compile(r"[a-z][a-z0-9_]{0,47}")
_SLOT = re.compile(r"{([^\n{}]+?)}")          # what Rasa's interpolator fills
GENERIC_FALLBACK = "（详情请拨打职工服务热线12351咨询）"
WARN_EVERY = 600.0   # seconds: one warning per field and answer, not one per message
_warned: dict[tuple[str, str], float] = {}


def _warn(message: str, key: str, response: str) -> None:
    now = time.monotonic()
    if now - _warned.get((key, response), -WARN_EVERY) >= WARN_EVERY:
        _warned[(key, response)] = now
        logger.warning(message, key, response or "?")


def references(text: str) -> list[str]:
    """The field keys a text names, in order (duplicates kept)."""
    return [m.group(1).strip() for m in PLACEHOLDER.finditer(text)]


def check(texts: Iterable[str], fields: Collection[str], slots: Collection[str] = ()) -> None:
    """Raise InvalidAnswer (Chinese, naming the variation) unless every text can be saved."""
    for number, text in enumerate(texts, start=1):
        where = f"第 {number} 条说法"
        if not text.strip():
            raise InvalidAnswer(f"{where}是空的")
        for raw in references(text):
            if not KEY.fullmatch(raw):
                raise InvalidAnswer(f"{where}里的 [[{raw}]] 不是字段名（字段名用小写英文字母、数字和下划线）")
            if raw not in fields:
                known = "、".join(f"[[{k}]]" for k in sorted(fields)) or "（还没有字段）"
                raise InvalidAnswer(f"{where}引用了不存在的字段 [[{raw}]]；现有字段：{known}")
        rest = PLACEHOLDER.sub("", text)
        for match in _SLOT.finditer(rest):
            if match.group(1) not in slots:
                raise InvalidAnswer(f"{where}里的 {{{match.group(1)}}} 不是对话变量；"
                                    "本地信息请用字段，例如 [[hotline_hours]]")
        if "{" in _SLOT.sub("", rest) or "}" in _SLOT.sub("", rest):
            raise InvalidAnswer(f"{where}里有单独的花括号 {{ 或 }}，请删掉或改用中文括号")
        if "[[" in rest or "]]" in rest:
            raise InvalidAnswer(f"{where}里有不成对的 [[ 或 ]]")


def render(text: str, fields: Mapping[str, Field], response: str = "") -> str:
    """The text with every `[[key]]` replaced by the field's value, or by its fallback
    text when it is not filled in (or not defined: then the generic fallback)."""

    def fill(match: re.Match[str]) -> str:
        key = match.group(1).strip()
        found = fields.get(key)
        if found is not None and found.value:
            return found.value
        if found is None:
            _warn("Unknown field %r in answer %s: showing the generic fallback", key, response)
            return GENERIC_FALLBACK
        _warn("Field %r is not filled in: answer %s shows its fallback text", key, response)
        return found.fallback or GENERIC_FALLBACK

    return PLACEHOLDER.sub(fill, text) if "[[" in text else text

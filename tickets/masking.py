"""Phone and ID-card numbers are masked in group messages and logs; the assignee
sees the full text (in a direct message, the CLI and the staff API)."""

from __future__ import annotations

import re

_ID_CARD = re.compile(r"(?<!\d)(\d{6})\d{8}(\d{3}[\dXx])(?!\d)")
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3}-?)\d{4}(\d{3,4})(?!\d)")


def mask(text: str) -> str:
    text = _ID_CARD.sub(lambda m: f"{m.group(1)}********{m.group(2)}", text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)
    return _LANDLINE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)


def short(text: str, limit: int = 60) -> str:
    """A question as quoted in a group: masked, on one line, cut visibly."""
    line = " ".join(mask(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"

"""How the console writes values: times in Beijing time, platform names, lights,
personal numbers masked. Jinja filters (`FILTERS`) and plain functions alike."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from broadcast.model import STATE_LABELS, STATUS_LABELS, DeliveryState, NoticeStatus
from core.clock import SHANGHAI
from core.platforms import PLATFORM_LABELS
from tickets.masking import mask
from tickets.model import LIGHT_LABELS, Light


def when(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, int | float):
        value = datetime.fromtimestamp(float(value), SHANGHAI)
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).strftime(fmt)
    return str(value)


def short_when(value: Any) -> str:
    return when(value, "%m-%d %H:%M")


def platform(value: str) -> str:
    return PLATFORM_LABELS.get(value, value)


def light_label(value: Light | None) -> str:
    return LIGHT_LABELS[value] if value is not None else "—"


def delivery_state(value: str) -> str:
    try:
        return STATE_LABELS[DeliveryState(value)]
    except ValueError:
        return value


def notice_status(value: Any) -> str:
    try:
        return STATUS_LABELS[NoticeStatus(value)]
    except ValueError:
        return str(value)


def percent(done: int, total: int) -> int:
    return 100 if total <= 0 else min(100, int(done * 100 // total))


FILTERS = {"when": when, "short_when": short_when, "platform": platform, "mask": mask,
           "light_label": light_label, "delivery_state": delivery_state,
           "notice_status": notice_status}

"""The broadcaster's domain: a `Notice` to a set of grid groups, one `Delivery`
per (notice, chat group), and the errors staff see. No framework imports here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from grids.directory import ChatGroup


class BroadcastError(Exception):
    """A problem staff can fix; the message is Chinese and says what to do."""


class InvalidTarget(BroadcastError):
    pass


class InvalidSchedule(BroadcastError):
    pass


class InvalidNotice(BroadcastError):
    pass


class NoticeNotFound(BroadcastError):
    def __init__(self, notice_id: int) -> None:
        super().__init__(f"找不到编号为 {notice_id} 的通知")
        self.notice_id = notice_id


class NoRecipients(BroadcastError):
    pass


class DispatcherBusy(BroadcastError):
    pass


class NoticeStatus(str, Enum):
    SCHEDULED = "scheduled"    # waits for its time (schedule "at")
    RECURRING = "recurring"    # a cron template; each run is a child notice
    SENDING = "sending"        # deliveries under way
    DONE = "done"              # every delivery sent or failed
    CANCELLED = "cancelled"


class DeliveryState(str, Enum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    RETRYING = "retrying"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in (DeliveryState.SENT, DeliveryState.FAILED, DeliveryState.CANCELLED)


STATE_LABELS = {
    DeliveryState.PENDING: "待发送", DeliveryState.SENDING: "发送中", DeliveryState.SENT: "已送达",
    DeliveryState.RETRYING: "重试中", DeliveryState.FAILED: "失败", DeliveryState.CANCELLED: "已取消",
}
STATUS_LABELS = {
    NoticeStatus.SCHEDULED: "定时待发", NoticeStatus.RECURRING: "周期发送",
    NoticeStatus.SENDING: "发送中", NoticeStatus.DONE: "已完成", NoticeStatus.CANCELLED: "已取消",
}
BODY_FORMATS = ("text", "markdown")
MAX_TITLE = 100
MAX_NAME = 64
MAX_BODY_CHARS = 20000
MAX_TARGETS = 1000   # streets + communities + grids named in one notice


@dataclass(frozen=True)
class Targets:
    """Who gets a notice. Empty lists with `everyone` = every group in the directory;
    otherwise the union of the named streets, communities and grids. `platforms`
    narrows either to some platforms."""

    everyone: bool = False
    streets: tuple[str, ...] = ()
    communities: tuple[str, ...] = ()
    grids: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Each list deduplicated (in order) and bounded: a district has 805 grids."""
        for name in ("streets", "communities", "grids", "platforms"):
            items = tuple(dict.fromkeys(getattr(self, name)))
            object.__setattr__(self, name, items)
            if any(len(item) > MAX_NAME for item in items):
                raise InvalidTarget(f"发送范围中的名称不能超过 {MAX_NAME} 个字")
        count = len(self.streets) + len(self.communities) + len(self.grids)
        if count > MAX_TARGETS:
            raise InvalidTarget(f"发送范围最多列 {MAX_TARGETS} 项（现在 {count} 项）；"
                                "整个区请用 all，整个街道请用 street:街道名")

    def as_dict(self) -> dict[str, object]:
        return {"everyone": self.everyone, "streets": list(self.streets),
                "communities": list(self.communities), "grids": list(self.grids),
                "platforms": list(self.platforms)}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Targets:
        def items(key: str) -> tuple[str, ...]:
            value = data.get(key) or []
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                raise InvalidTarget(f"targets.{key} 应是字符串列表")
            return tuple(value)

        return cls(bool(data.get("everyone")), items("streets"), items("communities"),
                   items("grids"), items("platforms"))

    @classmethod
    def parse(cls, specs: Sequence[str], platforms: Sequence[str] = ()) -> Targets:
        """`all`, `street:NAME`, `community:NAME`, `grid:CODE` (several allowed)."""
        everyone = False
        found: dict[str, list[str]] = {"street": [], "community": [], "grid": []}
        for raw in specs:
            for spec in (s.strip() for s in raw.split(",")):
                if not spec:
                    continue
                if spec in ("all", "全部"):
                    everyone = True
                    continue
                kind, sep, name = spec.replace("：", ":").partition(":")
                if not sep or kind not in found or not name.strip():
                    raise InvalidTarget(
                        f"无法识别发送范围“{spec}”，应写成 all、street:街道名、community:社区名 或 grid:网格编码")
                found[kind].append(name.strip())
        if not everyone and not any(found.values()):
            raise InvalidTarget("请指定发送范围：all、street:街道名、community:社区名 或 grid:网格编码")
        return cls(everyone, tuple(found["street"]), tuple(found["community"]),
                   tuple(found["grid"]), tuple(platforms))

    def label(self) -> str:
        parts = ["全部网格群"] if self.everyone else []
        parts += [f"街道 {s}" for s in self.streets] + [f"社区 {c}" for c in self.communities]
        parts += [f"网格 {g}" for g in self.grids]
        text = "、".join(parts)
        return text + (f"（仅 {'、'.join(self.platforms)}）" if self.platforms else "")


@dataclass(frozen=True)
class Schedule:
    """now, once at `at` (epoch seconds), or recurring by a 5-field cron expression."""

    kind: str = "now"
    at: float | None = None
    cron: str | None = None
    timezone: str = "Asia/Shanghai"


@dataclass(frozen=True)
class NoticeDraft:
    title: str
    body: str
    author: str
    targets: Targets
    body_format: str = "text"
    schedule: Schedule = field(default_factory=Schedule)

    def validate(self) -> None:
        if not self.title.strip():
            raise InvalidNotice("通知标题不能为空")
        if len(self.title) > MAX_TITLE:
            raise InvalidNotice(f"通知标题不能超过 {MAX_TITLE} 个字")
        if not self.body.strip():
            raise InvalidNotice("通知正文不能为空")
        if len(self.body) > MAX_BODY_CHARS:
            raise InvalidNotice(f"通知正文不能超过 {MAX_BODY_CHARS} 个字")
        if self.body_format not in BODY_FORMATS:
            raise InvalidNotice("正文格式应为 text 或 markdown")
        if not self.author.strip():
            raise InvalidNotice("请填写发布人")
        if len(self.author) > MAX_NAME:
            raise InvalidNotice(f"发布人不能超过 {MAX_NAME} 个字")
        if self.schedule.cron and len(self.schedule.cron) > MAX_NAME:
            raise InvalidNotice(f"周期表达式不能超过 {MAX_NAME} 个字符")


# A notice goes to chat groups as the directory knows them; each delivery keeps a copy.
Recipient = ChatGroup

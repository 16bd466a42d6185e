"""The console's audit log (`cs_audit`): who sent which notice, who answered,
transferred, reassigned or closed which ticket, who imported which file, logins.
Written in the same request as the change; read by admins on the audit page."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from console.tables import AuditRow
from tickets.masking import mask

logger = logging.getLogger(__name__)

ACTION_LABELS = {
    "login": "登录", "login_failed": "登录失败", "logout": "退出", "password": "修改密码",
    "broadcast.send": "发送通知", "broadcast.retry": "重发失败的群", "broadcast.cancel": "取消通知",
    "ticket.answer": "答复工单", "ticket.transfer": "转办工单", "ticket.reassign": "改派工单",
    "ticket.close": "办结工单", "ticket.reopen": "重新办理工单", "ticket.reveal": "查看完整联系方式",
    "grids.import": "导入网格目录", "grids.export": "导出网格目录",
    "user.add": "新建账号", "user.passwd": "重设密码", "user.disable": "停用账号",
    "user.enable": "启用账号",
}


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: float
    username: str
    action: str
    target: str
    detail: str
    address: str

    @property
    def label(self) -> str:
        return ACTION_LABELS.get(self.action, self.action)


class AuditLog:
    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.clock = clock

    def record(self, username: str, action: str, target: str = "", detail: str = "",
               address: str = "") -> None:
        """One line; personal numbers in `detail` are masked."""
        with Session(self.engine, future=True) as session, session.begin():
            session.add(AuditRow(at=self.clock(), username=username[:64], action=action[:32],
                                 target=target[:128], detail=mask(detail)[:2000],
                                 address=address[:64]))
        logger.info("Audit: %s %s %s", _quoted(username), action, _quoted(target))

    def latest(self, limit: int = 200, *, action: str | None = None,
               username: str | None = None) -> list[AuditEntry]:
        with Session(self.engine, future=True) as session:
            stmt = select(AuditRow)
            if action:
                stmt = stmt.where(AuditRow.action == action)
            if username:
                stmt = stmt.where(AuditRow.username == username)
            rows = session.execute(stmt.order_by(AuditRow.id.desc()).limit(limit)).scalars()
            return [AuditEntry(r.id, r.at, r.username, r.action, r.target, r.detail, r.address)
                    for r in rows]


def _quoted(text: str) -> str:
    import json

    return json.dumps(text, ensure_ascii=False)

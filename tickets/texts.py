"""What tickets say to people, in short Simplified Chinese (one message each)."""

from __future__ import annotations

from datetime import datetime

from tickets.masking import mask, short
from tickets.model import KIND_LABELS, LIGHT_LABELS, STATUS_LABELS, Light, Ticket


def day_time(moment: datetime) -> str:
    return f"{moment.month}月{moment.day}日 {moment:%H:%M}"


def holder(ticket: Ticket, office_name: str | None) -> str:
    if office_name:
        return office_name
    return f"网格员{ticket.assignee.name}" if ticket.assignee and ticket.assignee.name else "工作人员"


def created(ticket: Ticket, office_name: str | None) -> str:
    flag = "（节假日安排未录入，时间按工作日估算）" if ticket.flagged else ""
    return (f"已为您登记工单 {ticket.number}，由{holder(ticket, office_name)}办理，"
            f"预计 {day_time(ticket.resolve_by)} 前答复{flag}。"
            f"想查进度可@我说“{ticket.number} 办得怎么样了”。")


def to_assignee_in_group(ticket: Ticket) -> str:
    return (f"新工单 {ticket.number}（{KIND_LABELS[ticket.kind]}）：{short(ticket.question)}\n"
            f"请在 {day_time(ticket.respond_by)} 前答复：在群里发“#回复 {ticket.number} 答复内容”。")


def to_assignee_direct(ticket: Ticket) -> str:
    relayed = f"（{ticket.relayed_by.name}替{ticket.resident or '居民'}转问）" \
        if ticket.relayed_by else ""
    return (f"新工单 {ticket.number}（{KIND_LABELS[ticket.kind]}）{relayed}\n问题：{ticket.question}\n"
            f"提问人：{ticket.asker.name or ticket.asker.user_id}\n"
            f"请在 {day_time(ticket.respond_by)} 前答复，发“#回复 {ticket.number} 答复内容”；"
            f"需要转办发“#转办 {ticket.number} 部门 原因”。")


def answered(ticket: Ticket, who: str) -> str:
    return (f"您的问题 {ticket.number} 有答复了（{who}）：\n{mask(ticket.answer or '')}\n"
            "满意请回复“满意”，不满意请回复“不满意”。")


def transferred(ticket: Ticket, office_name: str) -> str:
    return (f"您的问题 {ticket.number} 已转给{office_name}办理，"
            f"预计 {day_time(ticket.resolve_by)} 前答复。")


def remind(ticket: Ticket) -> str:
    return (f"提醒（黄灯）：工单 {ticket.number} 办理时限已过半，请在 {day_time(ticket.respond_by)} "
            f"前答复：“#回复 {ticket.number} 答复内容”。")


def escalated(ticket: Ticket, level: int) -> str:
    to = "区总工会" if level >= 2 else "街道工会"
    return (f"红灯：工单 {ticket.number}（网格 {ticket.grid_code or '未知'}）超时未答复，已升级到{to}，"
            f"请督办。问题：{short(ticket.question)}")


def status_line(ticket: Ticket, light: Light | None, latest: str) -> str:
    lamp = f"，{LIGHT_LABELS[light]}" if light is not None else ""
    return f"{ticket.number}：{STATUS_LABELS[ticket.status]}{lamp}。最新：{latest}"


NOT_YOURS = "这个工单只有提问人本人可以查看。"
NO_TICKETS = "您还没有登记过问题。需要人工帮忙可以@我说“转人工”。"
NOT_ALLOWED = "抱歉，只有负责这个工单的网格员或工作人员可以{action}，工单没有变化。"
THANKS_RATED = "谢谢您的评价！"
REOPENED = "抱歉没能让您满意，工单 {number} 已重新办理，会尽快再答复您。"

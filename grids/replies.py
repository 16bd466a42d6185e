"""Chinese answers about offices and grids, shared by the actions and the CLI."""

from __future__ import annotations

from datetime import datetime

from core.platforms import PLATFORM_LABELS
from grids.directory import Coordinator, GridView, UnionOffice
from grids.hours import open_state
from grids.lookup import Candidate

HOTLINE = "12351"
UNAVAILABLE = (f"抱歉，网格目录暂时查不到。您可以拨打 {HOTLINE} 职工服务热线，"
               "或在群里@网格员询问离您最近的工会服务站。")


def office_card(office: UnionOffice, now: datetime) -> str:
    lines = [f"{office.name}（{office.level.value}）",
             f"地址：{office.address}",
             f"电话：{office.phone}",
             open_state(office.hours, now).describe()]
    if office.services:
        lines.append(f"可办理：{'、'.join(office.services)}")
    return "\n".join(lines)


def where(view: GridView) -> str:
    parts = [view.street.name if view.street else "", view.community.name if view.community else ""]
    return "".join(parts)


def grid_label(view: GridView) -> str:
    """联盟街道福景社区第3网格 (the community is not repeated when the grid's name has it)."""
    community = view.community.name if view.community else ""
    street = view.street.name if view.street else ""
    if community and view.grid.name.startswith(community):
        return f"{street}{view.grid.name}"
    return f"{street}{community}{view.grid.name}"


def office_for_grid(view: GridView, office: UnionOffice | None, now: datetime,
                    from_group: bool) -> str:
    lead = (f"本群属于{grid_label(view)}。" if from_group else f"您在{grid_label(view)}。")
    if office is None:
        return f"{lead}这个网格暂未登记负责的工会服务站，请拨打 {HOTLINE} 职工服务热线咨询。"
    return f"{lead}负责您这里的工会服务站是：\n{office_card(office, now)}"


def office_for_place(candidate: Candidate, office: UnionOffice | None, now: datetime) -> str:
    place = (f"{candidate.street_name or ''}{candidate.community_name or ''}"
             or candidate.district or "")
    if office is None:
        return f"{place}暂未登记工会服务站，请拨打 {HOTLINE} 职工服务热线咨询。"
    return f"{place}附近的工会服务站是：\n{office_card(office, now)}"


def district_fallback(office: UnionOffice | None, now: datetime, reason: str) -> str:
    if office is None:
        return f"{reason}{UNAVAILABLE}"
    return f"{reason}您可以先联系区总工会：\n{office_card(office, now)}"


def _contact(coordinator: Coordinator) -> str:
    accounts = [f"{PLATFORM_LABELS.get(p, p)} {a}" for p, a in sorted(coordinator.accounts.items())
                if p in ("wecom", "dingtalk", "feishu", "onebot")]
    extra = f"（{'；'.join(accounts[:2])}）" if accounts else ""
    return f"{coordinator.name}，电话 {coordinator.phone}{extra}"


def grid_card(view: GridView, office: UnionOffice | None, from_group: bool) -> str:
    lead = "本群对应的网格" if from_group else "您所在的网格"
    lines = [f"{lead}：{view.grid.name}（{where(view)}）"]
    if view.coordinator is not None:
        lines.append(f"网格员：{_contact(view.coordinator)}")
    else:
        lines.append("这个网格暂未登记网格员。")
    if office is not None:
        lines.append(f"负责的工会服务站：{office.name}，电话 {office.phone}")
    return "\n".join(lines)

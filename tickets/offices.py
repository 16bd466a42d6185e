"""The back offices (多后台) and who is escalated to, as configured data
(`tickets/offices.yml` by default, `TICKETS_OFFICES` names another file)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from tickets.model import Kind, Office, Person, Sla

DEFAULT_FILE = Path(__file__).resolve().parent / "offices.yml"


class InvalidOffices(ValueError):
    pass


@dataclass(frozen=True)
class OfficeBook:
    offices: Mapping[str, Office] = field(default_factory=dict)
    default_sla: Sla = field(default_factory=Sla)
    complaint_sla: Sla | None = None
    street_staff: Mapping[str, tuple[Person, ...]] = field(default_factory=dict)
    district_staff: tuple[Person, ...] = ()

    def sla(self, kind: Kind, office_code: str | None = None) -> Sla:
        office = self.offices.get(office_code or "")
        if office is not None:
            return office.sla_for(kind)
        if kind is Kind.COMPLAINT and self.complaint_sla is not None:
            return self.complaint_sla
        return self.default_sla

    def by_name(self, text: str) -> Office | None:
        """An office by its code or (part of) its name: "法律援助中心", "法援" is not enough."""
        text = text.strip()
        for office in self.offices.values():
            if text in (office.code, office.name) or (len(text) >= 3 and text in office.name):
                return office
        return None

    def for_topic(self, topic: str) -> Office | None:
        return next((o for o in self.offices.values() if topic in o.topics), None)

    def escalation_staff(self, grid_code: str | None, level: int) -> tuple[Person, ...]:
        """Level 1: the street union's staff of the grid; level 2: the district's."""
        if level >= 2:
            return self.district_staff
        street = "-".join((grid_code or "").split("-")[:2])
        return self.street_staff.get(street, ()) or self.district_staff

    def is_staff_of(self, person: Person, office_code: str | None) -> bool:
        office = self.offices.get(office_code or "")
        return office is not None and any(p.key == person.key for p in office.staff)

    def is_escalation_staff(self, person: Person, grid_code: str | None, level: int) -> bool:
        return any(p.key == person.key for lv in range(1, level + 1)
                   for p in self.escalation_staff(grid_code, lv))


def _people(raw: Any, where: str) -> tuple[Person, ...]:
    if not isinstance(raw, list):
        raise InvalidOffices(f"{where}: 应是人员列表")
    people = []
    for i, item in enumerate(raw, start=1):
        if not isinstance(item, dict) or not item.get("platform") or not item.get("user_id"):
            raise InvalidOffices(f"{where} 第 {i} 人: 需要 platform 和 user_id")
        people.append(Person(str(item["platform"]), str(item["user_id"]), str(item.get("name", ""))))
    return tuple(people)


def _sla(raw: Any, base: Sla, where: str) -> Sla:
    if raw is None:
        return base
    if not isinstance(raw, dict):
        raise InvalidOffices(f"{where}: 时限应是映射")
    try:
        hours = float(raw.get("first_response_hours", base.first_response.total_seconds() / 3600))
        days = int(raw.get("resolution_days", base.resolution_days))
    except (TypeError, ValueError) as exc:
        raise InvalidOffices(f"{where}: 时限应是数字") from exc
    if hours <= 0 or days <= 0:
        raise InvalidOffices(f"{where}: 时限必须大于 0")
    return Sla(timedelta(hours=hours), days)


def parse(raw: Any, source: str = "offices.yml") -> OfficeBook:
    if not isinstance(raw, dict):
        raise InvalidOffices(f"{source}: 应是一个映射")
    default = _sla(raw.get("default"), Sla(), f"{source} default")
    complaint = _sla(raw.get("complaint"), default, f"{source} complaint") \
        if raw.get("complaint") else None
    offices: dict[str, Office] = {}
    for code, item in (raw.get("offices") or {}).items():
        where = f"{source} offices.{code}"
        if not isinstance(item, dict) or not item.get("name"):
            raise InvalidOffices(f"{where}: 需要 name")
        sla = _sla({k: item[k] for k in ("first_response_hours", "resolution_days") if k in item}
                   or None, default, where)
        offices[str(code)] = Office(str(code), str(item["name"]),
                                    tuple(str(t) for t in item.get("topics") or ()),
                                    _people(item.get("staff") or [], where), sla,
                                    complaint if complaint else None)
    escalation = raw.get("escalation") or {}
    streets = {str(k): _people(v, f"{source} escalation.streets.{k}")
               for k, v in (escalation.get("streets") or {}).items()}
    district = _people(escalation.get("district") or [], f"{source} escalation.district")
    return OfficeBook(offices, default, complaint, streets, district)


def load(path: Path = DEFAULT_FILE) -> OfficeBook:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidOffices(f"{path}: {exc}") from exc
    return parse(raw, str(path))

"""The spreadsheet format of the directory: one sheet (or CSV file) per entity.

Staff keep the directory in spreadsheets, so headers are Chinese. Each sheet is
known by an English file stem (`grids.csv`) or its Chinese title (`网格`). Lines
starting with `#` are comments; the first comment block is kept as the
directory's note (the sample data marks itself as fictitious there) and written
back on export. Lists use `、`, building numbers may be ranges (`1-12,15`).

`parse_sheet()` turns raw rows into domain objects, collecting every problem as
a `CellError` with file, line, column and a Chinese reason; `write_rows()` is
its inverse, so export → import is lossless.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.platforms import PLATFORMS
from grids.directory import (
    SEND_METHODS,
    ChatGroup,
    Community,
    Coordinator,
    Coverage,
    Estate,
    Grid,
    OfficeLevel,
    Street,
    UnionOffice,
)
from grids.hours import WEEKDAYS, InvalidHours, format_day, parse_day


@dataclass(frozen=True)
class Sheet:
    kind: str                               # directory attribute and file stem
    title: str                              # Chinese sheet title
    columns: tuple[tuple[str, str], ...]    # (key, Chinese header)
    required: frozenset[str]

    def header(self) -> list[str]:
        return [label for _, label in self.columns]

    def label(self, key: str) -> str:
        return dict(self.columns)[key]


def _sheet(kind: str, title: str, columns: Sequence[tuple[str, str]], required: str) -> Sheet:
    return Sheet(kind, title, tuple(columns), frozenset(required.split()))


ACCOUNT_COLUMNS = tuple((f"account_{p}", label) for p, label in (
    ("wecom", "企业微信账号"), ("dingtalk", "钉钉账号"), ("feishu", "飞书账号"),
    ("onebot", "QQ号"), ("web", "网页账号")))
DAY_COLUMNS = tuple((f"day{i}", day) for i, day in enumerate(WEEKDAYS))

SHEETS: tuple[Sheet, ...] = (
    _sheet("streets", "街道", [("code", "街道编码"), ("name", "街道名称"), ("district", "所属区县")],
           "code name district"),
    _sheet("communities", "社区", [("code", "社区编码"), ("name", "社区名称"),
                                  ("street", "街道编码")], "code name street"),
    _sheet("coordinators", "网格员", [("code", "网格员编码"), ("name", "姓名"), ("phone", "电话"),
                                    *ACCOUNT_COLUMNS], "code name phone"),
    _sheet("offices", "服务站", [("code", "服务站编码"), ("name", "名称"), ("level", "级别"),
                                ("street", "街道编码"), ("community", "社区编码"),
                                ("address", "地址"), ("phone", "电话"), *DAY_COLUMNS,
                                ("services", "服务项目"), ("lat", "纬度"), ("lon", "经度")],
           "code name level address phone"),
    _sheet("estates", "小区", [("code", "小区编码"), ("name", "小区名称"), ("community", "社区编码"),
                              ("aliases", "别名"), ("buildings", "楼栋")], "code name community"),
    _sheet("grids", "网格", [("code", "网格编码"), ("name", "网格名称"), ("community", "社区编码"),
                            ("coordinator", "网格员编码"), ("office", "服务站编码"),
                            ("coverage", "覆盖范围")], "code name community office"),
    _sheet("groups", "群聊", [("platform", "平台"), ("external_id", "群ID"), ("name", "群名称"),
                             ("grid", "网格编码"), ("send_via", "发送方式"),
                             ("send_target", "发送地址")],
           "platform external_id name grid send_via send_target"),
)
SHEETS_BY_NAME: dict[str, Sheet] = {
    **{s.kind: s for s in SHEETS}, **{s.title: s for s in SHEETS}}

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
_PHONE = re.compile(r"^[0-9+][0-9 ()+-]{2,19}(转[0-9]{1,6})?$")
_BUILDING = re.compile(r"^[0-9]{1,4}[A-Za-z]?$")
_LIST_SPLIT = re.compile(r"[、;；,，]")
_LEVELS = {**{lv.value: lv for lv in OfficeLevel}, **{lv.name.lower(): lv for lv in OfficeLevel}}


@dataclass(frozen=True)
class CellError:
    source: str
    line: int            # 1-based; 0 when the problem concerns the whole file
    column: int          # 1-based; 0 when the problem concerns the whole row or file
    header: str
    reason: str

    def __str__(self) -> str:
        where = self.source
        if self.line:
            where += f" 第{self.line}行"
        if self.column:
            where += f" 第{self.column}列" + (f"（{self.header}）" if self.header else "")
        return f"{where}：{self.reason}"


@dataclass
class Located:
    """A parsed record and where each of its fields came from."""

    record: Any
    source: str
    line: int
    columns: dict[str, int] = field(default_factory=dict)

    def error(self, sheet: Sheet, key: str, reason: str) -> CellError:
        return CellError(self.source, self.line, self.columns.get(key, 0), sheet.label(key), reason)


def split_list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in _LIST_SPLIT.split(text or "") if part.strip())


def parse_buildings(text: str) -> tuple[str, ...]:
    """`1-3,5,7A` → ("1","2","3","5","7A"); raises ValueError with a Chinese reason."""
    result: list[str] = []
    for part in split_list(text):
        if "-" in part:
            low, _, high = part.partition("-")
            if not (low.isdigit() and high.isdigit()) or int(low) > int(high):
                raise ValueError(f"楼栋范围“{part}”应写成 1-12")
            if int(high) - int(low) > 500:
                raise ValueError(f"楼栋范围“{part}”过大")
            result.extend(str(n) for n in range(int(low), int(high) + 1))
        elif _BUILDING.match(part):
            result.append(str(int(part[:-1])) + part[-1] if part[-1].isalpha() else str(int(part)))
        else:
            raise ValueError(f"楼栋“{part}”应为数字，如 5 或 5A")
    if len(set(result)) != len(result):
        raise ValueError("楼栋号有重复")
    return tuple(result)


def format_buildings(buildings: Sequence[str]) -> str:
    """Inverse of parse_buildings; runs of three or more consecutive numbers become ranges."""
    parts: list[str] = []
    index = 0
    while index < len(buildings):
        end = index
        while (end + 1 < len(buildings) and buildings[end].isdigit()
               and buildings[end + 1].isdigit() and int(buildings[end + 1]) == int(buildings[end]) + 1):
            end += 1
        if end - index >= 2:
            parts.append(f"{buildings[index]}-{buildings[end]}")
            index = end + 1
        else:
            parts.append(buildings[index])
            index += 1
    return ",".join(parts)


def parse_coverage(text: str) -> tuple[Coverage, ...]:
    """`E001:1-6;E002` → coverage of buildings 1-6 of E001 and the whole of E002."""
    result: list[Coverage] = []
    for part in re.split(r"[;；]", text or ""):
        part = part.strip()
        if not part:
            continue
        code, _, buildings = part.replace("：", ":").partition(":")
        if not _CODE.match(code.strip()):
            raise ValueError(f"“{part}”应写成 小区编码:楼栋，如 E001:1-6；整个小区只写编码")
        result.append(Coverage(code.strip(), parse_buildings(buildings)))
    return tuple(result)


def format_coverage(coverage: Sequence[Coverage]) -> str:
    return ";".join(f"{c.estate_code}:{format_buildings(c.buildings)}" if c.buildings
                    else c.estate_code for c in coverage)


class _Row:
    """Reads one row's cells, recording a CellError for each bad field."""

    def __init__(self, sheet: Sheet, source: str, line: int, cells: dict[str, tuple[int, str]],
                 errors: list[CellError]) -> None:
        self.sheet, self.source, self.line = sheet, source, line
        self.cells, self.errors = cells, errors

    def fail(self, key: str, reason: str) -> None:
        column = self.cells.get(key, (0, ""))[0]
        self.errors.append(CellError(self.source, self.line, column, self.sheet.label(key), reason))

    def text(self, key: str) -> str:
        value = self.cells.get(key, (0, ""))[1].strip()
        if not value and key in self.sheet.required:
            self.fail(key, "不能为空")
        return value

    def code(self, key: str) -> str:
        value = self.text(key)
        if value and not _CODE.match(value):
            self.fail(key, f"编码“{value}”只能包含字母、数字、点、横线和下划线，最长32位")
        return value

    def parsed(self, key: str, parse: Callable[[str], Any], default: Any) -> Any:
        value = self.text(key)
        try:
            return parse(value)
        except ValueError as exc:
            self.fail(key, str(exc))
            return default

    def number(self, key: str, low: float, high: float) -> float | None:
        value = self.text(key)
        if not value:
            return None
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not low <= number <= high:
            self.fail(key, f"“{value}”应是 {low} 到 {high} 之间的数字")
            return None
        return number

    def phone(self, key: str) -> str:
        value = self.text(key)
        if value and not _PHONE.match(value):
            self.fail(key, f"“{value}”不是电话号码")
        return value

    def choice(self, key: str, allowed: Sequence[str]) -> str:
        value = self.text(key)
        if value and value not in allowed:
            self.fail(key, f"“{value}”不在可选值中：{'、'.join(allowed)}")
        return value


def _level(text: str) -> OfficeLevel:
    level = _LEVELS.get(text.strip())
    if level is None:
        raise ValueError(f"级别应为：{'、'.join(lv.value for lv in OfficeLevel)}")
    return level


def _record(sheet: Sheet, row: _Row) -> Any:
    kind = sheet.kind
    if kind == "streets":
        return Street(row.code("code"), row.text("name"), row.text("district"))
    if kind == "communities":
        return Community(row.code("code"), row.text("name"), row.code("street"))
    if kind == "coordinators":
        accounts = {key.removeprefix("account_"): row.text(key) for key, _ in ACCOUNT_COLUMNS}
        return Coordinator(row.code("code"), row.text("name"), row.phone("phone"),
                           {p: a for p, a in accounts.items() if a})
    if kind == "estates":
        return Estate(row.code("code"), row.text("name"), row.code("community"),
                      split_list(row.text("aliases")), row.parsed("buildings", parse_buildings, ()))
    if kind == "grids":
        return Grid(row.code("code"), row.text("name"), row.code("community"),
                    row.code("coordinator") or None, row.code("office"),
                    row.parsed("coverage", parse_coverage, ()))
    if kind == "groups":
        return ChatGroup(row.choice("platform", PLATFORMS), row.text("external_id"),
                         row.text("name"), row.code("grid"), row.choice("send_via", SEND_METHODS),
                         row.text("send_target"))
    hours = tuple(row.parsed(key, _day, ()) for key, _ in DAY_COLUMNS)
    return UnionOffice(
        code=row.code("code"), name=row.text("name"),
        level=row.parsed("level", _level, OfficeLevel.COMMUNITY), address=row.text("address"),
        phone=row.phone("phone"), hours=hours, services=split_list(row.text("services")),
        street_code=row.code("street") or None, community_code=row.code("community") or None,
        latitude=row.number("lat", -90, 90), longitude=row.number("lon", -180, 180),
    )


def _day(text: str) -> Any:
    try:
        return parse_day(text)
    except InvalidHours as exc:
        raise ValueError(str(exc)) from exc


def parse_sheet(sheet: Sheet, source: str, header_line: int, header: Sequence[str],
                rows: Sequence[tuple[int, Sequence[str]]],
                errors: list[CellError]) -> list[Located]:
    """Parse a sheet's rows; problems go to `errors`, good rows come back located."""
    by_label = {label: key for key, label in sheet.columns}
    positions: dict[str, int] = {}
    for index, raw in enumerate(header, start=1):
        label = (raw or "").strip()
        if not label or label.startswith("备注"):
            continue
        key = by_label.get(label)
        if key is None:
            errors.append(CellError(source, header_line, index, label,
                                    f"未知的列，{sheet.title}表的列为：{'、'.join(sheet.header())}"))
        elif key in positions:
            errors.append(CellError(source, header_line, index, label, "列名重复"))
        else:
            positions[key] = index
    missing = [sheet.label(k) for k in sheet.required if k not in positions]
    if missing:
        errors.append(CellError(source, header_line, 0, "",
                                f"缺少必需的列：{'、'.join(sorted(missing))}"))
        return []
    located: list[Located] = []
    for line, values in rows:
        cells = {key: (col, str(values[col - 1]) if col - 1 < len(values) else "")
                 for key, col in positions.items()}
        before = len(errors)
        record = _record(sheet, _Row(sheet, source, line, cells, errors))
        if len(errors) == before:
            located.append(Located(record, source, line, {k: c for k, (c, _) in cells.items()}))
    return located


def write_rows(sheet: Sheet, records: Sequence[Any]) -> list[list[str]]:
    """Rows (without header) for `records`, the inverse of parse_sheet."""
    return [[cell_text(sheet.kind, key, record) for key, _ in sheet.columns] for record in records]


def _number(value: float | None) -> str:
    return "" if value is None else repr(value)


_SPECIAL: dict[tuple[str, str], Callable[[Any], str]] = {
    ("communities", "street"): lambda r: r.street_code,
    ("estates", "community"): lambda r: r.community_code,
    ("estates", "aliases"): lambda r: "、".join(r.aliases),
    ("estates", "buildings"): lambda r: format_buildings(r.buildings),
    ("grids", "community"): lambda r: r.community_code,
    ("grids", "coordinator"): lambda r: r.coordinator_code or "",
    ("grids", "office"): lambda r: r.office_code,
    ("grids", "coverage"): lambda r: format_coverage(r.coverage),
    ("groups", "grid"): lambda r: r.grid_code,
    ("offices", "level"): lambda r: r.level.value,
    ("offices", "street"): lambda r: r.street_code or "",
    ("offices", "community"): lambda r: r.community_code or "",
    ("offices", "services"): lambda r: "、".join(r.services),
    ("offices", "lat"): lambda r: _number(r.latitude),
    ("offices", "lon"): lambda r: _number(r.longitude),
}


def cell_text(kind: str, key: str, r: Any) -> str:
    """The text of column `key` of record `r` of sheet `kind`, as written on export."""
    if kind == "coordinators" and key.startswith("account_"):
        return str(r.accounts.get(key.removeprefix("account_"), ""))
    if kind == "offices" and key.startswith("day"):
        return format_day(r.hours[int(key[3:])])
    getter = _SPECIAL.get((kind, key))
    return getter(r) if getter else str(getattr(r, key))

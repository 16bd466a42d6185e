"""Working days in mainland China: public holidays and make-up working days (调休上班).

Years the `chinese_calendar` package knows come from it. Later years come from the
schedules staff enter in data/calendar/holidays.yml when the State Council publishes
them; a year entered there replaces the package's data for that year (Monday to
Friday work, then the entered holidays and make-up days). A year nobody knows is
counted Monday to Friday and reported as unknown, never as an exception.

The file, per year, lists `holidays` (放假) and `workdays` (调休上班), each entry a
`name` and either one `date` or a range `from`–`to` (inclusive). A year's entries lie
in that year; the December before is allowed too (元旦 make-up days).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from itertools import accumulate
from pathlib import Path

import chinese_calendar
import yaml

DATA_FILE = "data/calendar/holidays.yml"
ROOT = Path(__file__).resolve().parents[1]
WARN_WITHIN = timedelta(days=60)
MAX_RANGE_DAYS = 31
_LISTS = {"holidays": "放假", "workdays": "调休上班"}
_ENTRY_KEYS = ("name", "date", "from", "to")
_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_WEEKDAYS = "一二三四五六日"


class CalendarDataError(ValueError):
    """The holiday data cannot be used; one Chinese line per problem (file, year, entry)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Entry:
    name: str
    first: date
    last: date
    working: bool  # True: 调休上班 (a make-up working day); False: 放假

    def dates(self) -> Iterator[date]:
        for i in range((self.last - self.first).days + 1):
            yield self.first + timedelta(days=i)


@dataclass(frozen=True)
class YearSchedule:
    year: int
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class Day:
    date: date
    working: bool
    known: bool        # False: nobody knows this year; counted Monday to Friday
    name: str | None   # the holiday a day off or a make-up working day belongs to


class _Year:
    """One year's working days: a flag per day and running counts, for skipping by bisection."""

    __slots__ = ("first", "flags", "counts", "ordinals", "known")

    def __init__(self, year: int, flags: bytearray, known: bool) -> None:
        self.first = date(year, 1, 1).toordinal()
        self.flags = bytes(flags)
        self.counts = list(accumulate(flags, initial=0))  # counts[i]: working days before day i
        self.ordinals = [self.first + i for i, f in enumerate(flags) if f]
        self.known = known


@lru_cache(maxsize=1)
def package_years() -> range:
    """The years `chinese_calendar` knows (it raises NotImplementedError outside them)."""
    years = [d.year for d in chinese_calendar.holidays]
    return range(min(years), max(years) + 1)


class HolidayCalendar:
    """Whether a date is a working day. Answers are computed once per year and cached."""

    def __init__(self, schedules: Mapping[int, YearSchedule] | None = None, *,
                 use_package: bool = True, source: str = DATA_FILE) -> None:
        self.schedules = dict(schedules or {})
        self.use_package = use_package
        self.source = source  # where staff enter the schedules (named in warnings)
        self._overrides: dict[date, Entry] = {
            d: e for s in self.schedules.values() for e in s.entries for d in e.dates()}
        self._years: dict[int, _Year] = {}

    @classmethod
    def from_entries(cls, entries: object, *, use_package: bool = True,
                     source: str = DATA_FILE) -> HolidayCalendar:
        """A calendar from data shaped like the YAML file ({2027: {"holidays": [...]}})."""
        return cls(parse_schedules(entries, source), use_package=use_package, source=source)

    def knows_year(self, year: int) -> bool:
        return year in self.schedules or (self.use_package and year in package_years())

    def is_known(self, day: date) -> bool:
        return self._year(day.year).known

    def all_known(self, first: date, last: date) -> bool:
        return all(self._year(y).known for y in range(first.year, last.year + 1))

    def is_working_day(self, day: date) -> bool:
        table = self._year(day.year)
        return table.flags[day.toordinal() - table.first] == 1

    def day(self, d: date) -> Day:
        """The full answer for one date, with the holiday's name."""
        entry = self._overrides.get(d)
        name = entry.name if entry else None
        if not entry and self._from_package(d.year):
            english = chinese_calendar.get_holiday_detail(d)[1]
            name = _chinese_name(english) if english else None
        return Day(d, self.is_working_day(d), self.is_known(d), name)

    def working_days_between(self, first: date, end: date) -> int:
        """How many working days in [first, end)."""
        if end <= first:
            return 0
        a, b = self._year(first.year), self._year(end.year)
        ia, ib = first.toordinal() - a.first, end.toordinal() - b.first
        if first.year == end.year:
            return b.counts[ib] - a.counts[ia]
        middle = sum(len(self._year(y).ordinals) for y in range(first.year + 1, end.year))
        return len(a.ordinals) - a.counts[ia] + middle + b.counts[ib]

    def nth_working_day_after(self, day: date, n: int) -> date:
        """The n-th working day after `day` (n >= 1; `day` itself not counted)."""
        if n < 1:
            raise ValueError("n must be at least 1")
        year, table = day.year, self._year(day.year)
        index = table.counts[day.toordinal() - table.first + 1] + n - 1
        while index >= len(table.ordinals):
            index -= len(table.ordinals)
            year += 1
            table = self._year(year)
        return date.fromordinal(table.ordinals[index])

    def known_until(self) -> date | None:
        """The last day of the unbroken run of known years (from the package's last year on)."""
        known = set(self.schedules) | (set(package_years()) if self.use_package else set())
        if not known:
            return None
        year = max(package_years()) if self.use_package else min(known)
        while year + 1 in known:
            year += 1
        return date(year, 12, 31)

    def warning(self, today: date, within: timedelta = WARN_WITHIN) -> str | None:
        """A warning for staff when the known calendar ends within `within` of today."""
        until = self.known_until()
        if until is None:
            return (f"尚未录入任何节假日安排，工作日暂按周一至周五计算；"
                    f"请在 {self.source} 中录入 {today.year} 年的放假安排")
        if until - today > within:
            return None
        first, last = until.year + 1, max(until.year + 1, today.year)
        years = f"{first}" if first == last else f"{first}—{last}"
        text = f"节假日安排只录入到 {until.year}年{until.month}月{until.day}日"
        if today > until:
            text += "，之后的工作日暂按周一至周五计算，期限可能不准"
        return f"{text}，请在 {self.source} 中录入 {years} 年的放假安排"

    def _from_package(self, year: int) -> bool:
        return self.use_package and year not in self.schedules and year in package_years()

    def _year(self, year: int) -> _Year:
        table = self._years.get(year)
        if table is None:
            table = self._years[year] = self._build(year)
        return table

    def _build(self, year: int) -> _Year:
        first = date(year, 1, 1)
        days = [first + timedelta(days=i) for i in range((date(year + 1, 1, 1) - first).days)]
        if self._from_package(year):
            flags = bytearray(chinese_calendar.is_workday(d) for d in days)
        else:
            flags = bytearray(d.weekday() < 5 for d in days)
        for i, d in enumerate(days):
            entry = self._overrides.get(d)
            if entry:
                flags[i] = entry.working
        return _Year(year, flags, self.knows_year(year))


def _chinese_name(english: str) -> str:
    try:
        return str(chinese_calendar.Holiday(english).chinese)
    except ValueError:
        return english


# ---- the data file -------------------------------------------------------------------

class _Loader(yaml.SafeLoader):
    """Keeps dates as text, so that a bad date is reported with its entry."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def load_schedules(path: Path, source: str | None = None) -> dict[int, YearSchedule]:
    """Read and check a holiday file; a missing file means no entered years."""
    source = source or str(path)
    if not path.exists():
        return {}
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行" if mark else ""
        raise CalendarDataError([f"{source}：{where}不是有效的 YAML（{exc}）"]) from exc
    return parse_schedules(raw, source)


@lru_cache(maxsize=8)
def load_calendar(path: Path | None = None) -> HolidayCalendar:
    """The calendar of a holiday file, loaded once per path (`load_calendar.cache_clear()`)."""
    if path is None:
        return HolidayCalendar(load_schedules(ROOT / DATA_FILE, DATA_FILE))
    return HolidayCalendar(load_schedules(path), source=str(path))


def default_calendar() -> HolidayCalendar:
    """The package's data plus data/calendar/holidays.yml (loaded once)."""
    return load_calendar(None)


def parse_schedules(raw: object, source: str = DATA_FILE) -> dict[int, YearSchedule]:
    """Check entered schedules; raise CalendarDataError listing every problem."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise CalendarDataError([f"{source}：应按年份分段书写，如“2027:”下列出 holidays 和 workdays"])
    problems: list[str] = []
    seen: dict[date, str] = {}
    schedules: dict[int, YearSchedule] = {}
    for key, body in raw.items():
        year = key if isinstance(key, int) and not isinstance(key, bool) else None
        if year is None or not 1900 <= year <= 2100:
            problems.append(f"{source}：“{key}”不是年份，应写成四位数字，如“2027:”")
            continue
        entries = _year_entries(body, year, f"{source}，{year} 年", seen, problems)
        schedules[year] = YearSchedule(year, tuple(entries))
    if problems:
        raise CalendarDataError(problems)
    return schedules


def _year_entries(body: object, year: int, where: str, seen: dict[date, str],
                  problems: list[str]) -> list[Entry]:
    if not isinstance(body, Mapping) or not body.get("holidays"):
        problems.append(f"{where}：还没有录入放假安排，请在 holidays 下逐项列出")
        return []
    for key in body:
        if key not in _LISTS:
            problems.append(f"{where}：未知的栏目“{key}”（只能是 holidays 放假、workdays 调休上班）")
    entries: list[Entry] = []
    for key, label in _LISTS.items():
        items = body.get(key) or []
        if not isinstance(items, list):
            problems.append(f"{where}：{key}（{label}）应是以“- name: …”开头的列表")
            continue
        for number, item in enumerate(items, 1):
            entry = _entry(item, year, f"{where}，{key}（{label}）第 {number} 项", key == "workdays",
                           problems)
            if entry is None:
                continue
            for d in entry.dates():
                here = f"{year} 年 {key} 第 {number} 项“{entry.name}”"
                if d in seen:
                    problems.append(f"{where}：{d} 重复出现在 {seen[d]} 与 {here}")
                seen.setdefault(d, here)
            entries.append(entry)
    return entries


def _entry(item: object, year: int, where: str, working: bool, problems: list[str]) -> Entry | None:
    if not isinstance(item, Mapping):
        problems.append(f"{where}：应写成 name 和 date（或 from、to）")
        return None
    before = len(problems)
    name = item.get("name")
    if isinstance(name, str) and name.strip():
        name = name.strip()
        where = f"{where}“{name}”"
    else:
        problems.append(f"{where}：缺少 name（节日名称，如 国庆节）")
    for key in item:
        if key not in _ENTRY_KEYS:
            problems.append(f"{where}：未知的字段“{key}”（只能是 name、date、from、to）")
    first = last = None
    if "date" in item and ("from" in item or "to" in item):
        problems.append(f"{where}：date 与 from/to 只能写一种")
    elif "date" in item:
        first = last = _date(item["date"], "date", where, problems)
    elif "from" in item and "to" in item:
        first = _date(item["from"], "from", where, problems)
        last = _date(item["to"], "to", where, problems)
    else:
        problems.append(f"{where}：缺少日期，单日写 date，连续几天写 from 和 to")
    if first is None or last is None or not isinstance(name, str) or len(problems) > before:
        return None
    _check_dates(first, last, year, where, working, problems)
    return None if len(problems) > before else Entry(name, first, last, working)


def _check_dates(first: date, last: date, year: int, where: str, working: bool,
                 problems: list[str]) -> None:
    for d in sorted({first, last}):
        if not (d.year == year or (d.year == year - 1 and d.month == 12)):
            problems.append(f"{where}：{d} 不在 {year} 年（只允许 {year} 年内，或 {year - 1} 年 12 月）")
    if last < first:
        problems.append(f"{where}：from {first} 晚于 to {last}")
        return
    if (last - first).days >= MAX_RANGE_DAYS:
        problems.append(f"{where}：从 {first} 到 {last} 超过 {MAX_RANGE_DAYS} 天，请核对日期")
        return
    for d in (first + timedelta(days=i) for i in range((last - first).days + 1)):
        if working and d.weekday() < 5:
            problems.append(f"{where}：{d} 是星期{_WEEKDAYS[d.weekday()]}，本来就上班；"
                            "调休上班日应是周六或周日")


def _date(value: object, key: str, where: str, problems: list[str]) -> date | None:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    match = _DATE.match(str(value).strip()) if isinstance(value, str) else None
    if match:
        try:
            return date(*(int(g) for g in match.groups()))
        except ValueError:
            pass
    problems.append(f"{where}：{key}“{value}”不是有效日期（应写成 年-月-日，如 2027-10-01）")
    return None

"""Working-time deadlines on China's calendar (the package's real data up to 2026,
entered schedules after that), the holiday file's checks and the staff warning."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest

from core.clock import SHANGHAI
from tickets.holidays import (
    CalendarDataError,
    HolidayCalendar,
    default_calendar,
    load_calendar,
    load_schedules,
)
from tickets.workhours import (
    OFFICE_HOURS,
    Deadline,
    InvalidWorkingHours,
    WorkingHours,
    add_working_time,
    is_working_time,
    next_working_moment,
    working_time_between,
)

HOURS = OFFICE_HOURS
CAL = HolidayCalendar()  # the package only, nothing entered
ENTRIES_2027 = {2027: {
    "holidays": [
        {"name": "元旦", "from": date(2027, 1, 1), "to": date(2027, 1, 3)},
        {"name": "春节", "from": "2027-02-05", "to": "2027-02-11"},
    ],
    "workdays": [{"name": "春节", "date": "2027-01-31"}],
}}
CAL_2027 = HolidayCalendar.from_entries(ENTRIES_2027)
H4, D2 = timedelta(hours=4), HOURS.days(2)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def add(start: datetime, duration: timedelta, calendar: HolidayCalendar = CAL) -> Deadline:
    return add_working_time(start, duration, HOURS, calendar)


# ---- deadlines ------------------------------------------------------------------------

def test_across_a_weekend() -> None:
    # Friday 16:30 + 4 h: 1 h on Friday, 3 h on Monday morning.
    assert add(at(2026, 3, 13, 16, 30), H4) == Deadline(at(2026, 3, 16, 12, 0), False)
    assert add(at(2026, 3, 13, 10, 0), D2).at == at(2026, 3, 17, 10, 0)


def test_across_the_lunch_break() -> None:
    assert add(at(2026, 3, 10, 11, 30), timedelta(hours=1)).at == at(2026, 3, 10, 14, 0)
    assert add(at(2026, 3, 10, 11, 0), timedelta(hours=1)).at == at(2026, 3, 10, 12, 0)
    assert add(at(2026, 3, 10, 12, 45), timedelta(minutes=30)).at == at(2026, 3, 10, 14, 0)


def test_national_day_2026_lands_on_the_make_up_saturday() -> None:
    # Oct 1–7 are off; Saturday Oct 10 is a make-up working day (package data).
    assert CAL.is_working_day(date(2026, 10, 10)) and not CAL.is_working_day(date(2026, 10, 11))
    assert all(not CAL.is_working_day(date(2026, 10, d)) for d in range(1, 8))
    assert add(at(2026, 10, 9, 16, 0), H4) == Deadline(at(2026, 10, 10, 11, 30), False)
    # Wednesday Sep 30 17:00 + 2 working days: 0.5 h, Oct 8 (7 h), Oct 9 until 17:00.
    assert add(at(2026, 9, 30, 17, 0), D2).at == at(2026, 10, 9, 17, 0)
    assert add(at(2026, 10, 9, 17, 0), HOURS.days(1)).at == at(2026, 10, 10, 17, 0)
    day = CAL.day(date(2026, 10, 10))
    assert day.working and day.known and day.name == "国庆节"


def test_make_up_sunday_and_mid_autumn_2026() -> None:
    assert add(at(2026, 9, 19, 10, 0), timedelta(hours=1)).at == at(2026, 9, 20, 10, 0)
    # Thursday Sep 24 17:00 + 1 h: Sep 25–27 (中秋) are off.
    assert add(at(2026, 9, 24, 17, 0), timedelta(hours=1)).at == at(2026, 9, 28, 9, 30)


def test_starting_at_night_or_on_a_holiday() -> None:
    assert add(at(2026, 3, 10, 22, 0), timedelta(hours=1)).at == at(2026, 3, 11, 10, 0)
    assert add(at(2026, 3, 11, 3, 0), timedelta(hours=1)).at == at(2026, 3, 11, 10, 0)
    assert add(at(2026, 10, 3, 10, 0), timedelta(hours=1)).at == at(2026, 10, 8, 10, 0)
    assert add(at(2026, 10, 3, 10, 0), D2).at == at(2026, 10, 9, 17, 30)


def test_zero_duration_other_time_zones_and_naive_datetimes() -> None:
    assert add(at(2026, 10, 3, 10, 0), timedelta(0)).at == at(2026, 10, 3, 10, 0)
    utc = datetime(2026, 3, 10, 3, 30, tzinfo=timezone.utc)  # 11:30 in Beijing
    result = add(utc, timedelta(hours=1)).at
    assert result == at(2026, 3, 10, 14, 0) and result.tzinfo is SHANGHAI
    with pytest.raises(ValueError):
        add(datetime(2026, 3, 10, 10, 0), H4)
    with pytest.raises(ValueError):
        add(at(2026, 3, 10, 10, 0), timedelta(hours=-1))


def test_into_2027_with_entered_holidays_is_not_flagged() -> None:
    start = at(2026, 12, 31, 17, 0)
    assert add(start, HOURS.days(1), CAL_2027) == Deadline(at(2027, 1, 4, 17, 0), False)
    # Friday 17:00 + 4 h: the entered make-up Sunday Jan 31.
    assert add(at(2027, 1, 29, 17, 0), H4, CAL_2027) == Deadline(at(2027, 1, 31, 14, 0), False)
    # Thursday before the entered Spring Festival (Feb 5–11).
    assert add(at(2027, 2, 4, 16, 30), H4, CAL_2027) == Deadline(at(2027, 2, 12, 12, 0), False)
    assert add(at(2027, 12, 31, 17, 0), H4, CAL_2027).flagged  # runs into 2028


def test_into_2027_without_entries_counts_weekdays_and_flags() -> None:
    start = at(2026, 12, 31, 17, 0)
    assert add(start, HOURS.days(1)) == Deadline(at(2027, 1, 1, 17, 0), True)
    assert add(at(2026, 12, 31, 10, 0), timedelta(hours=1)) == Deadline(at(2026, 12, 31, 11, 0), False)
    # Far in the future: weekends skipped, no exception, flagged.
    assert add(at(2035, 1, 5, 17, 0), H4) == Deadline(at(2035, 1, 8, 14, 0), True)
    assert not CAL.is_known(date(2027, 6, 1)) and CAL_2027.is_known(date(2027, 6, 1))


def test_entered_year_replaces_the_package() -> None:
    calendar = HolidayCalendar.from_entries(
        {2026: {"holidays": [{"name": "国庆节", "from": "2026-10-01", "to": "2026-10-08"}]}})
    assert not calendar.is_working_day(date(2026, 10, 8))
    assert not calendar.is_working_day(date(2026, 10, 10))  # the package's make-up day is gone
    assert calendar.is_working_day(date(2026, 2, 17))  # the package's 春节 is not entered


# ---- lights, reminders ---------------------------------------------------------------

def test_working_time_between_and_the_yellow_light() -> None:
    start = at(2026, 3, 13, 16, 30)
    deadline = add(start, H4).at
    assert working_time_between(start, deadline, HOURS, CAL) == H4
    assert working_time_between(start, at(2026, 3, 16, 10, 0), HOURS, CAL) == H4 / 2
    assert working_time_between(at(2026, 10, 1, 9, 0), at(2026, 10, 7, 17, 0), HOURS, CAL) == timedelta(0)
    assert working_time_between(deadline, start, HOURS, CAL) == -H4


def test_reminders_only_inside_working_hours() -> None:
    assert is_working_time(at(2026, 3, 10, 9, 0), HOURS, CAL)
    assert not is_working_time(at(2026, 3, 10, 12, 0), HOURS, CAL)
    assert not is_working_time(at(2026, 3, 10, 23, 0), HOURS, CAL)
    assert not is_working_time(at(2026, 10, 5, 10, 0), HOURS, CAL)
    assert is_working_time(at(2026, 10, 10, 10, 0), HOURS, CAL)
    assert next_working_moment(at(2026, 3, 10, 10, 0), HOURS, CAL) == at(2026, 3, 10, 10, 0)
    assert next_working_moment(at(2026, 3, 10, 12, 30), HOURS, CAL) == at(2026, 3, 10, 13, 30)
    assert next_working_moment(at(2026, 3, 13, 20, 0), HOURS, CAL) == at(2026, 3, 16, 9, 0)
    assert next_working_moment(at(2026, 10, 1, 8, 0), HOURS, CAL) == at(2026, 10, 8, 9, 0)


def test_configurable_hours() -> None:
    hours = WorkingHours.parse("08:30-12:00，14:00-18:00")
    assert hours.spans == ((time(8, 30), time(12)), (time(14), time(18)))
    assert hours.per_day == timedelta(hours=7, minutes=30) and hours.days(2) == timedelta(hours=15)
    assert HOURS.days(2) == timedelta(hours=14) and str(HOURS) == "09:00-12:00,13:30-17:30"
    assert add_working_time(at(2026, 3, 10, 11, 30), timedelta(hours=1), hours, CAL).at == \
        at(2026, 3, 10, 14, 30)
    for text in ["9点到12点", "12:00-09:00", "09:00-12:00,11:00-13:00", "25:00-26:00"]:
        with pytest.raises(InvalidWorkingHours):
            WorkingHours.parse(text)


# ---- properties ----------------------------------------------------------------------

def _random_start(rng: random.Random, first: date, days: int, zone: timezone | None = None) -> datetime:
    moment = datetime.combine(first, time(), SHANGHAI) + timedelta(
        days=rng.randrange(days), microseconds=rng.randrange(86_400_000_000))
    return moment.astimezone(zone) if zone else moment


@pytest.mark.parametrize("calendar", [CAL, CAL_2027], ids=["package", "entered-2027"])
def test_between_inverts_add(calendar: HolidayCalendar) -> None:
    rng = random.Random(20261001)
    for _ in range(3000):
        start = _random_start(rng, date(2025, 1, 1), 3 * 365, rng.choice([None, timezone.utc]))
        duration = timedelta(microseconds=rng.randrange(HOURS.days(15) // timedelta(microseconds=1)))
        deadline = add_working_time(start, duration, HOURS, calendar)
        assert working_time_between(start, deadline.at, HOURS, calendar) == duration, (start, duration)
        assert deadline.at >= start
        assert deadline.at == start or is_working_time(deadline.at - timedelta(microseconds=1),
                                                       HOURS, calendar)


def _minute_walk(start: datetime, minutes: int, calendar: HolidayCalendar) -> Deadline:
    """The obvious algorithm: count working minutes one by one."""
    moment, flagged = start, False
    while minutes:
        flagged |= not calendar.is_known(moment.date())
        clock = moment.time()
        if calendar.is_working_day(moment.date()) and any(a <= clock < b for a, b in HOURS.spans):
            minutes -= 1
        moment += timedelta(minutes=1)
    return Deadline(moment, flagged)


def test_agrees_with_a_minute_by_minute_walk() -> None:
    rng = random.Random(7)
    for _ in range(150):
        start = _random_start(rng, date(2026, 9, 1), 150).replace(second=0, microsecond=0)
        minutes = rng.choice([1, 30, 240, 420, 840, rng.randrange(1, 2000)])
        assert add(start, timedelta(minutes=minutes)) == _minute_walk(start, minutes, CAL), start


# ---- the holiday file ----------------------------------------------------------------

GOOD = """\
2027:
  holidays:
    - name: 元旦
      date: 2027-01-01
    - name: 国庆节
      from: 2027-10-01
      to: 2027-10-07
  workdays:
    - name: 国庆节
      date: 2027-10-09
"""


def test_the_committed_file_loads_and_a_good_file_is_used(tmp_path: Path) -> None:
    assert default_calendar() is default_calendar()  # loaded once
    path = tmp_path / "holidays.yml"
    path.write_text(GOOD, encoding="utf-8")
    calendar = load_calendar(path)
    assert calendar is load_calendar(path)
    assert calendar.known_until() == date(2027, 12, 31)
    assert calendar.is_working_day(date(2027, 10, 9)) and not calendar.is_working_day(date(2027, 10, 4))
    assert calendar.day(date(2027, 10, 4)).name == "国庆节"


@pytest.mark.parametrize(("bad", "expected"), [
    ("      # to 忘了写", ["holidays（放假）第 2 项“国庆节”", "缺少日期"]),
    ("      to: 2027-10-32", ["holidays（放假）第 2 项“国庆节”", "to“2027-10-32”不是有效日期"]),
    ("      to: 2027-09-30", ["第 2 项“国庆节”", "from 2027-10-01 晚于 to 2027-09-30"]),
    ("      to: 2028-10-07", ["第 2 项“国庆节”", "2028-10-07 不在 2027 年"]),
    ("      to: 2027-12-07", ["第 2 项“国庆节”", "超过 31 天"]),
    ("      to: 十月七日", ["第 2 项“国庆节”", "不是有效日期"]),
])
def test_bad_holiday_range_is_reported_with_file_year_and_entry(
        tmp_path: Path, bad: str, expected: list[str]) -> None:
    path = tmp_path / "holidays.yml"
    path.write_text(GOOD.replace("      to: 2027-10-07", bad), encoding="utf-8")
    with pytest.raises(CalendarDataError) as error:
        load_schedules(path)
    message = str(error.value)
    assert message.startswith(f"{path}，2027 年，"), message
    for part in expected:
        assert part in message, message


@pytest.mark.parametrize(("entries", "expected"), [
    ({2027: {"holidays": [{"name": "元旦", "date": "2027-02-30"}]}},
     "2027 年，holidays（放假）第 1 项“元旦”：date“2027-02-30”不是有效日期"),
    ({2027: {"holidays": [{"date": "2027-01-01"}]}}, "第 1 项：缺少 name"),
    ({2027: {"holidays": [{"name": "元旦", "day": "2027-01-01"}]}}, "未知的字段“day”"),
    ({2027: {"holidays": [{"name": "元旦", "date": "2027-01-01"}],
             "workdays": [{"name": "国庆节", "date": "2027-10-08"}]}},
     "workdays（调休上班）第 1 项“国庆节”：2027-10-08 是星期五，本来就上班"),
    ({2027: {"holidays": [{"name": "国庆节", "date": "2027-10-09"}],
             "workdays": [{"name": "国庆节", "date": "2027-10-09"}]}}, "2027-10-09 重复出现"),
    ({2027: {"workdays": [{"name": "春节", "date": "2027-01-31"}]}}, "2027 年：还没有录入放假安排"),
    ({2027: {"holiday": [{"name": "元旦", "date": "2027-01-01"}]}}, "还没有录入放假安排"),
    ({"2027年": {"holidays": []}}, "“2027年”不是年份"),
])
def test_bad_entries_are_reported(entries: object, expected: str) -> None:
    with pytest.raises(CalendarDataError) as error:
        HolidayCalendar.from_entries(entries, source="holidays.yml")
    assert expected in str(error.value), str(error.value)
    assert str(error.value).startswith("holidays.yml")


def test_every_problem_is_listed_and_bad_yaml_names_the_line(tmp_path: Path) -> None:
    entries = {2027: {"holidays": [{"name": "元旦", "date": "2027-13-01"},
                                   {"name": "春节", "from": "2027-02-11", "to": "2027-02-05"}]}}
    with pytest.raises(CalendarDataError) as error:
        HolidayCalendar.from_entries(entries)
    assert len(error.value.problems) == 2
    path = tmp_path / "holidays.yml"
    path.write_text("2027:\n  holidays:\n    - name: 元旦\n     date: 2027-01-01\n", encoding="utf-8")
    with pytest.raises(CalendarDataError, match="第 4 行不是有效的 YAML"):
        load_schedules(path)


def test_december_make_up_day_of_the_next_year_is_allowed() -> None:
    calendar = HolidayCalendar.from_entries({2027: {
        "holidays": [{"name": "元旦", "date": "2027-01-01"}],
        "workdays": [{"name": "元旦", "date": "2026-12-27"}]}})  # a Sunday
    assert calendar.is_working_day(date(2026, 12, 27)) and calendar.day(date(2026, 12, 27)).name == "元旦"


# ---- the warning ---------------------------------------------------------------------

def test_warning_when_the_calendar_runs_out() -> None:
    assert CAL.known_until() == date(2026, 12, 31)
    assert CAL.warning(date(2026, 10, 1)) is None
    assert CAL.warning(date(2026, 12, 1)) == (
        "节假日安排只录入到 2026年12月31日，请在 data/calendar/holidays.yml 中录入 2027 年的放假安排")
    assert CAL.warning(date(2026, 11, 1)) is not None  # exactly 60 days
    late = CAL.warning(date(2028, 3, 1))
    assert late and "暂按周一至周五计算" in late and "2027—2028 年" in late
    assert CAL_2027.known_until() == date(2027, 12, 31) and CAL_2027.warning(date(2026, 12, 1)) is None
    gap = HolidayCalendar.from_entries({2028: {"holidays": [{"name": "元旦", "date": "2028-01-01"}]}})
    assert gap.known_until() == date(2026, 12, 31)
    assert HolidayCalendar(use_package=False).known_until() is None

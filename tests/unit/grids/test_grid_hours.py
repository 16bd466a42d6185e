from datetime import datetime, timezone

import pytest

from core.clock import SHANGHAI
from grids.hours import InvalidHours, format_day, open_state, parse_day

WEEK = tuple(parse_day(d) for d in ["09:00-12:00,14:00-17:30"] * 5 + ["09:00-12:00", "休息"])


def test_parse_and_format_round_trip() -> None:
    assert parse_day("09:00-12:00，14:00-17:30") == (("09:00", "12:00"), ("14:00", "17:30"))
    assert parse_day("9:00~11:30") == (("09:00", "11:30"),)
    assert parse_day("休息") == () and parse_day("") == ()
    for day in WEEK:
        assert parse_day(format_day(day)) == day


@pytest.mark.parametrize("text", ["9点到12点", "12:00-09:00", "09:00-12:00,11:00-13:00", "25:00-26:00"])
def test_invalid_hours_say_why_in_chinese(text: str) -> None:
    with pytest.raises(InvalidHours) as error:
        parse_day(text)
    assert any("\u4e00" <= c <= "\u9fff" for c in str(error.value))


def test_open_now_in_beijing_time() -> None:
    # Wednesday 2024-05-08 10:30 in Shanghai is 02:30 UTC.
    state = open_state(WEEK, datetime(2024, 5, 8, 2, 30, tzinfo=timezone.utc))
    assert state.is_open and state.closes_at == "12:00"
    assert "周三" in state.describe() and "正在开放" in state.describe()


def test_closed_at_lunch_says_when_it_opens() -> None:
    state = open_state(WEEK, datetime(2024, 5, 8, 12, 30, tzinfo=SHANGHAI))
    assert not state.is_open and state.opens_at == "14:00"
    assert "14:00 开门" in state.describe()


def test_sunday_closed() -> None:
    state = open_state(WEEK, datetime(2024, 5, 12, 10, 0, tzinfo=SHANGHAI))
    assert not state.is_open and state.opens_at is None
    assert "周日" in state.describe() and "休息" in state.describe()

from __future__ import annotations

import time
from datetime import datetime

import pytest

from broadcast.model import InvalidNotice, InvalidSchedule, InvalidTarget, NoticeDraft, Targets
from broadcast.pacing import DEFAULT_LIMITS, Limit, MemoryPacer, ideal_seconds, parse_limit
from broadcast.scheduler import cron_trigger, next_times
from broadcast.senders import pace_key
from broadcast.service import parse_at
from platforms.clients.webhook import split_secret


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def simulate(limit: Limit, messages: int) -> list[float]:
    """Send times when every sender books a slot and waits for it."""
    clock = Clock()
    pacer = MemoryPacer(clock)
    times = []
    for _ in range(messages):
        times.append(clock.now + pacer.reserve("robot", limit))
    return times


@pytest.mark.parametrize("platform,window,allowed", [
    ("wecom", 60.0, 20), ("dingtalk", 60.0, 20), ("feishu", 1.0, 5), ("feishu", 60.0, 100),
    ("onebot", 1.0, 1)])
def test_default_budgets_stay_under_the_documented_limits(platform, window, allowed):
    times = simulate(DEFAULT_LIMITS[platform], 300)
    worst = max(sum(1 for t in times if start <= t < start + window) for start in times)
    assert worst <= allowed


def test_burst_goes_at_once_then_evenly_spaced():
    times = simulate(Limit(rate=2.0, burst=3), 6)
    assert [round(t - 1000.0, 3) for t in times] == [0.0, 0.0, 0.0, 0.5, 1.0, 1.5]


def test_hold_delays_the_next_slot_until_the_platform_reset():
    clock = Clock()
    pacer = MemoryPacer(clock)
    limit = Limit(10.0, 5)
    pacer.hold("robot", clock.now + 60, limit)
    assert pacer.reserve("robot", limit) == pytest.approx(60.0)


def test_parse_limit_and_ideal_bound():
    assert parse_limit("20/60:5") == Limit(20 / 60, 5)
    with pytest.raises(ValueError):
        parse_limit("fast")
    counts = {f"r{i}": (1, DEFAULT_LIMITS["wecom"]) for i in range(805)}
    assert ideal_seconds(counts, 64, 0.05) == pytest.approx(13 * 0.05)
    assert ideal_seconds({"qq": (11, Limit(1.0, 1))}, 64, 0.05) == pytest.approx(10.05)


def test_targets_are_parsed_with_clear_errors():
    t = Targets.parse(["street:联盟街道,community:福景社区", "grid:G1"], ["wecom"])
    assert t.streets == ("联盟街道",) and t.communities == ("福景社区",) and t.grids == ("G1",)
    assert "仅 wecom" in t.label()
    assert Targets.parse(["all"]).everyone
    for bad in (["街道:联盟"], ["street:"], []):
        with pytest.raises(InvalidTarget):
            Targets.parse(bad)


def test_draft_validation_is_in_chinese():
    draft = NoticeDraft(title=" ", body="x", author="a", targets=Targets(everyone=True))
    with pytest.raises(InvalidNotice, match="标题不能为空"):
        draft.validate()


def test_crontab_weekdays_follow_crontab_not_apscheduler():
    monday = next_times("0 9 * * 1", "Asia/Shanghai", 2)
    assert [t.weekday() for t in monday] == [0, 0] and monday[0].hour == 9
    assert next_times("30 8 * * 0", "Asia/Shanghai", 1)[0].weekday() == 6
    with pytest.raises(InvalidSchedule):
        cron_trigger("every monday", "Asia/Shanghai")


def test_parse_at_is_local_time_and_refuses_the_past():
    at = parse_at("2030-01-07 09:00", now=time.time())
    assert datetime.utcfromtimestamp(at).hour == 1      # 09:00 in Beijing = 01:00 UTC
    with pytest.raises(InvalidSchedule, match="已经过去"):
        parse_at("2020-01-01 09:00")
    with pytest.raises(InvalidSchedule, match="无法识别"):
        parse_at("下周一")


def test_secrets_ride_in_the_fragment_and_never_in_the_pace_key():
    url, secret = split_secret("https://oapi.example.invalid/robot/send?access_token=T#secret=SEC1")
    assert url == "https://oapi.example.invalid/robot/send?access_token=T" and secret == "SEC1"
    key = pace_key("dingtalk", "webhook", url + "#secret=SEC1")
    assert "SEC1" not in key and key.endswith("access_token=T")


@pytest.mark.parametrize("field,days", [
    ("1", [0]), ("0-5", [0, 1, 2, 3, 4, 6]), ("*/2", [1, 3, 5, 6]), ("7", [6]), ("1,3,5", [0, 2, 4])])
def test_crontab_weekday_ranges_and_steps(field, days):
    fires = next_times(f"0 9 * * {field}", "Asia/Shanghai", 14)
    assert sorted({t.weekday() for t in fires}) == days


def test_bad_timezones_and_far_dates_are_schedule_errors():
    with pytest.raises(InvalidSchedule, match="未知的时区"):
        cron_trigger("0 9 * * 1", "Mars/Olympus")
    with pytest.raises(InvalidSchedule, match="超出了可用的范围"):
        parse_at("9999-12-31 23:59")
    assert parse_at("2031-01-01T01:00:00Z") == pytest.approx(1924995600.0)


def test_target_lists_are_deduplicated_and_capped() -> None:
    from broadcast.model import MAX_TARGETS, InvalidTarget, Targets

    targets = Targets.parse(["grid:G1", "grid:G1,grid:G2", "street:联盟街道", "street:联盟街道"],
                            ["wecom", "wecom"])
    assert (targets.grids, targets.streets, targets.platforms) == (
        ("G1", "G2"), ("联盟街道",), ("wecom",))
    assert Targets.from_dict({"grids": ["G1"] * 5000}).grids == ("G1",)
    with pytest.raises(InvalidTarget, match="最多列"):
        Targets(grids=tuple(f"G{i}" for i in range(MAX_TARGETS + 1)))
    with pytest.raises(InvalidTarget, match="不能超过"):
        Targets(streets=("街" * 65,))

"""The statistics page over the real staff app: a month's figures from conversations
the app's own statistics loop ingested, as tiles, SVG charts and tables, each table
downloadable as CSV (UTF-8 with BOM) with the same figures; a coordinator sees only
their grids, street staff their street."""

from __future__ import annotations

import csv
import io

import pytest

from console.pages_insight import chosen
from core.clock import shanghai_now
from tests.insight_scenario import at, faq, nlu_fallback, turn
from tests.integration.console.conftest import Desk
from tests.unit.console.conftest import OTHER_GROUP, OWN_GROUP, ingested, write_turns

pytestmark = pytest.mark.asyncio(loop_scope="module")
MARCH = "from=2026-03-01&to=2026-03-31"


@pytest.fixture(scope="module")
def march(desk: Desk) -> None:
    write_turns(desk, [
        turn(*OWN_GROUP, "a1", "农民工怎么入会", faq("join_union"), at(3, 2, 9)),
        turn(*OWN_GROUP, "a1", "会费交多少", faq("union_dues"), at(3, 2, 10)),
        turn(*OWN_GROUP, "a2", "那个咋弄", nlu_fallback("union_dues"), at(3, 5, 9),
             actions=("action_cloud_doctor_fallback",), reply="抱歉"),
        turn(*OTHER_GROUP, "b1", "入会要什么材料", faq("join_union"), at(3, 6, 9)),
        turn(*OTHER_GROUP, "b1", "怎么入会", faq("join_union"), at(3, 7, 9)),
        turn(*OWN_GROUP, "a3", "二月份的问题", faq("join_union"), at(2, 27, 9)),
    ])


async def csv_rows(desk: Desk, who: str, table: str) -> list[dict[str, str]]:
    browser = await desk.browser(who)
    status, _, resp = await browser.get(f"/insight/export?{MARCH}&by=street&table={table}")
    assert status == 200, browser.body[:300]
    assert resp.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in resp.headers["Content-Disposition"]
    assert browser.body.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(browser.body.decode("utf-8-sig"))))


def test_the_default_period_is_this_month() -> None:
    today = shanghai_now().date()
    pick = chosen({}, today)
    assert pick.period.first == today.replace(day=1) and pick.period.last.month == today.month
    assert pick.period.last.day >= 28


async def test_a_month_of_figures_on_the_page_and_in_csv(desk: Desk, march: None) -> None:
    await ingested(desk, 6)
    browser = await desk.browser("district")
    status, page, _ = await browser.get(f"/insight?{MARCH}")
    assert status == 200
    assert "2026-03-01 至 2026-03-31" in page and "<svg" in page and "每日提问" in page
    assert "问得最多的话题" in page and "工单（按承办部门）" in page and "群发失败原因" in page
    assert page.count("下载") >= 10
    assert '<div class="tile">5<span class="meta">提问数</span></div>' in page
    assert '<div class="tile">80.0%<span class="meta">回答率</span></div>' in page

    [overall] = await csv_rows(desk, "district", "conversation_by_none")
    assert (overall["提问数"], overall["提问人数"], overall["已回答"], overall["没听懂"]) == \
        ("5", "3", "4", "1")
    assert float(overall["回答率"]) == 0.8
    by_street = {r["名称"]: int(r["提问数"]) for r in
                 await csv_rows(desk, "district", "conversation_by_street")}
    assert by_street == {"联盟街道": 3, "明珠街道": 2}
    per_day = {r["日期"]: int(r["提问数"]) for r in
               await csv_rows(desk, "district", "questions_per_day_by_none")}
    assert len(per_day) == 31 and per_day["2026-03-02"] == 2 and per_day["2026-03-07"] == 1
    assert sum(per_day.values()) == 5
    topics = {r["话题"]: int(r["提问数"]) for r in await csv_rows(desk, "district", "top_topics")}
    assert topics == {"join_union": 3, "union_dues": 2}


async def test_coordinators_and_street_staff_see_only_their_part(desk: Desk, march: None) -> None:
    await ingested(desk, 6)
    [mine] = await csv_rows(desk, "coordinator", "conversation_by_none")
    assert (mine["提问数"], mine["提问人数"], mine["没听懂"]) == ("3", "2", "1")
    [street] = await csv_rows(desk, "street", "conversation_by_none")
    assert street["提问数"] == "3"
    browser = await desk.browser("coordinator")
    _, page, _ = await browser.get(f"/insight?{MARCH}")
    assert "仅您负责的范围" in page and "明珠街道" not in page
    assert '<div class="tile">3<span class="meta">提问数</span></div>' in page


async def test_bad_requests_are_told_in_chinese(desk: Desk) -> None:
    browser = await desk.browser("district")
    status, page, _ = await browser.get("/insight?from=2026-03-31&to=2026-03-01")
    assert status == 400 and "日期" in page
    status, page, _ = await browser.get("/insight?from=2024-01-01&to=2026-03-01")
    assert status == 400 and "最多统计" in page
    status, page, _ = await browser.get(f"/insight/export?{MARCH}&table=no_such_table")
    assert status == 404 and "没有这张统计表" in page

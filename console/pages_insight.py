"""The statistics page (统计): for a range of days (default this month) and the
viewer's scope (a coordinator their grids, street staff their street), the
conversation figures overall and by street / grid / platform / topic, questions per
day, the most-asked and rising topics, tickets (response and answer times against
their deadlines, on-time shares, escalations, satisfaction, per office) and
broadcasts (delivered / targeted, failures by reason, per platform and street).

Figures come from `insight.service.Statistics` as `Table`s; charts are its
server-rendered SVG (`insight.charts`), and every table and chart's data downloads as
CSV (`insight.export`: UTF-8 with a BOM, for Excel)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web

from console import nav
from console.pages_knowledge import STATISTICS, insight_scope
from console.permissions import Perm
from console.routing import Routes
from console.tickets_api import TICKETS
from console.web import CONSOLE, audit, off_loop, render, scope
from core.clock import shanghai_now
from insight import charts, export
from insight.model import BY_LABELS, By, Period, Table
from insight.service import Statistics

routes = Routes()
MAX_DAYS = 366
GROUPINGS = (By.STREET, By.GRID, By.PLATFORM, By.TOPIC)
PERCENT_KEYS = ("rate", "share", "on_time", "growth")


@dataclass(frozen=True)
class Chosen:
    period: Period
    by: By

    def query(self, **extra: str) -> str:
        return urlencode({"from": self.period.first.isoformat(),
                          "to": self.period.last.isoformat(), "by": self.by.value, **extra})


def this_month(today: date) -> Period:
    return Period.month(today.year, today.month)


def chosen(query: Any, today: date) -> Chosen:
    """The period and grouping of the query; a bad or missing date → this month."""
    default = this_month(today)
    try:
        first = date.fromisoformat(query.get("from", "")) if query.get("from") else default.first
        last = date.fromisoformat(query.get("to", "")) if query.get("to") else default.last
        period = Period(first, last)
    except ValueError:
        raise web.HTTPBadRequest(text="日期格式不对，或结束日期早于开始日期（格式如 2026-03-01）") from None
    if period.days > MAX_DAYS:
        raise web.HTTPBadRequest(text=f"一次最多统计 {MAX_DAYS} 天，请缩短日期范围")
    try:
        by = By(query.get("by", By.STREET.value))
    except ValueError:
        by = By.STREET
    return Chosen(period, by if by in GROUPINGS else By.STREET)


def tables(stats: Statistics, period: Period, seen: Any, by: By) -> dict[str, Table]:
    """Every table of the page (the headline ones, the grouping's, tickets per office)."""
    found = dict(stats.overview(period, seen, By.NONE))
    found.update(stats.overview(period, seen, by))
    office = stats.tickets(period, seen, By.OFFICE)
    found[office.name] = office
    return found


def cell(key: str, value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and any(part in key for part in PERCENT_KEYS):
        return f"{value * 100:.1f}%"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _charts(found: dict[str, Table], by: By) -> list[tuple[str, str]]:
    """(table name, SVG) of the page's charts; each table's CSV is its data."""
    out = [("questions_per_day_by_none", charts.per_day_chart(found["questions_per_day_by_none"])),
           ("top_topics", charts.topics_chart(found["top_topics"]))]
    grouped = found.get(f"conversation_by_{by.value}")
    if grouped is not None:
        out.append((grouped.name, charts.bar_chart(grouped.title, list(zip(
            grouped.column("label"), grouped.column("questions"), strict=True))[:20])))
    lights = found.get(f"ticket_lights_by_{by.value}") or found["ticket_lights_by_none"]
    out.append((lights.name, charts.lights_chart(lights)))
    deliveries = found.get(f"deliveries_by_{by.value}") or found["deliveries_by_none"]
    out.append((deliveries.name, charts.deliveries_chart(deliveries)))
    return out


def _sections(found: dict[str, Table], by: By) -> list[tuple[str, list[Table]]]:
    def pick(*names: str) -> list[Table]:
        return [found[n] for n in dict.fromkeys(names) if n in found]

    return [
        ("提问与回答", pick("conversation_by_none", f"conversation_by_{by.value}",
                       "questions_per_day_by_none", "top_topics", "rising_topics")),
        ("工单", pick("tickets_by_none", f"tickets_by_{by.value}", "tickets_by_office",
                    "ticket_lights_by_none", f"ticket_lights_by_{by.value}")),
        ("群发通知", pick("deliveries_by_none", f"deliveries_by_{by.value}", "delivery_failures")),
    ]


async def _scoped(request: web.Request) -> tuple[Chosen, Any, dict[str, Table]]:
    pick = chosen(request.query, shanghai_now().date())
    seen = insight_scope(await scope(request))
    found = await off_loop(tables, request.app[STATISTICS], pick.period, seen, pick.by)
    return pick, seen, found


@routes.get("/insight", Perm.INSIGHT_VIEW)
async def page(request: web.Request) -> web.StreamResponse:
    pick, seen, found = await _scoped(request)
    today = shanghai_now().date()
    last_month = this_month(today.replace(day=1) - timedelta(days=1))
    return render(request, "insight.html", {
        "c": pick, "headline": _first(found["conversation_by_none"]),
        "tickets": _first(found["tickets_by_none"]),
        "deliveries": _first(found["deliveries_by_none"]),
        "sections": _sections(found, pick.by), "charts": _charts(found, pick.by),
        "cell": cell, "groupings": [(b.value, BY_LABELS[b]) for b in GROUPINGS],
        "everything": seen.is_everything, "this_month": this_month(today),
        "last_month": last_month})


def _first(report: Table) -> dict[str, Any] | None:
    records = report.records()
    return records[0] if records else None


@routes.get("/insight/export", Perm.INSIGHT_VIEW)
async def download(request: web.Request) -> web.StreamResponse:
    name = request.query.get("table", "")[:80]
    pick, _, found = await _scoped(request)
    report = found.get(name)
    if report is None:
        raise web.HTTPNotFound(text="没有这张统计表")
    body = export.csv_bytes(report)
    stem = f"{report.title}_{pick.period.first.isoformat()}_{pick.period.last.isoformat()}"
    await audit(request, "insight.export", report.name, f"{pick.period.first} 至 {pick.period.last}")
    return web.Response(body=body, content_type="text/csv", charset="utf-8", headers={
        "Content-Disposition": f"attachment; filename=\"{export.filename(report)}\"; "
                               f"filename*=UTF-8''{quote(stem)}.csv"})


async def _start(app: web.Application) -> None:
    """The statistics of this process, on the console's engine, with the offices'
    names from the back office (built in `app.cleanup_ctx`, which runs first)."""
    service = app.get(TICKETS)
    offices = {o.code: o.name for o in service.offices.offices.values()} if service else {}
    app[STATISTICS] = Statistics(app[CONSOLE].engine, office_names=offices)


def setup(app: web.Application) -> None:
    app.on_startup.append(_start)  # type: ignore[arg-type]
    routes.add_to(app)
    nav.register(app, nav.NavItem("insight", "统计", "/insight", Perm.INSIGHT_VIEW, order=50))


__all__ = ["cell", "chosen", "setup", "tables"]

"""Tickets benchmark.

sweep: 100,000 open tickets (SQLite and PostgreSQL), each with its timers, 1% of the
reminders due: the time of one timer sweep that finds and fires them (an index walk
on the timers' due time), next to a naive scan of every open ticket.

deadlines: 10,000 working-time deadlines (random whole-minute starts in 2025–2026,
half "4 working hours", half "2 working days") with `tickets.workhours`, and the same
with a naive baseline that walks minute by minute on the same calendar, in one run;
prints both times and the ratio and checks that every result is identical.

    .venv/bin/python bench/tickets.py [--only deadlines] [--deadlines 10000] [--seed 1]

Exit status 0 when every part's results are right, 1 when not.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402

from core.clock import SHANGHAI  # noqa: E402
from core.db import create  # noqa: E402
from tickets import db as tickets_db  # noqa: E402
from tickets.holidays import HolidayCalendar, default_calendar  # noqa: E402
from tickets.offices import load as load_offices  # noqa: E402
from tickets.service import TicketService  # noqa: E402
from tickets.tables import TicketRow, TimerRow  # noqa: E402
from tickets.workhours import OFFICE_HOURS, Deadline, WorkingHours, add_working_time  # noqa: E402

MINUTES_PER_DAY = 24 * 60


def naive_deadline(start: datetime, duration: timedelta, hours: WorkingHours,
                   calendar: HolidayCalendar) -> Deadline:
    """Walk minute by minute from a whole-minute start, counting working minutes."""
    local = start.astimezone(SHANGHAI)
    working_minute = bytearray(MINUTES_PER_DAY)
    for a, b in hours.spans:
        for m in range(a.hour * 60 + a.minute, b.hour * 60 + b.minute):
            working_minute[m] = 1
    left = duration // timedelta(minutes=1)
    day, minute = local.date(), local.hour * 60 + local.minute
    working_day, flagged = calendar.is_working_day(day), not calendar.is_known(day)
    while left:
        if working_day and working_minute[minute]:
            left -= 1
        minute += 1
        if minute == MINUTES_PER_DAY and left:
            day, minute = day + timedelta(days=1), 0
            working_day = calendar.is_working_day(day)
            flagged = flagged or not calendar.is_known(day)
    at = datetime(day.year, day.month, day.day, tzinfo=SHANGHAI) + timedelta(minutes=minute)
    return Deadline(at, flagged)


def _cases(n: int, seed: int, hours: WorkingHours) -> list[tuple[datetime, timedelta]]:
    rng = random.Random(seed)
    first = datetime(2025, 1, 1, tzinfo=SHANGHAI)
    span = (date(2027, 1, 1) - date(2025, 1, 1)).days * MINUTES_PER_DAY
    durations = (timedelta(hours=4), hours.days(2))
    return [(first + timedelta(minutes=rng.randrange(span)), durations[i % 2]) for i in range(n)]


def bench_deadlines(args: argparse.Namespace) -> bool:
    hours, calendar = OFFICE_HOURS, default_calendar()
    cases = _cases(args.deadlines, args.seed, hours)
    for year in range(2025, 2028):  # build the per-year tables once, outside both timings
        calendar.is_working_day(date(year, 1, 1))

    t0 = time.perf_counter()
    ours = [add_working_time(start, d, hours, calendar) for start, d in cases]
    t1 = time.perf_counter()
    naive = [naive_deadline(start, d, hours, calendar) for start, d in cases]
    t2 = time.perf_counter()

    wrong = [(start, d, a, b) for (start, d), a, b in zip(cases, ours, naive, strict=True) if a != b]
    fast, slow = t1 - t0, t2 - t1
    flagged = sum(d.flagged for d in ours)
    print(f"deadlines: {len(cases)} in {fast:.3f} s; naive {slow:.2f} s; {slow / fast:.0f}x faster"
          f" ({flagged} flagged: they run into 2027, not yet entered)")
    if wrong:
        print(f"deadlines: {len(wrong)} differ from the naive walk, e.g. {wrong[0]}")
    else:
        print("deadlines: identical to the naive walk")
    return not wrong


def _fill(url: str, n: int, now: datetime) -> TicketService:
    """`n` open tickets with their timers, as the service writes them: 1% opened days
    ago (their reminder is due), the rest within the last hour (not yet)."""
    engine = create(url)
    tickets_db.upgrade(engine)
    hours, calendar = OFFICE_HOURS, default_calendar()
    service = TicketService(engine, load_offices(), calendar, clock=now.timestamp)
    rng = random.Random(7)
    tickets, timers = [], []
    for i in range(1, n + 1):
        back = rng.uniform(86400, 5 * 86400) if i % 100 == 0 else rng.uniform(0, 3600)
        created = datetime.fromtimestamp(now.timestamp() - back, SHANGHAI)
        half = add_working_time(created, timedelta(hours=2), hours, calendar).at.timestamp()
        respond = add_working_time(created, timedelta(hours=4), hours, calendar).at.timestamp()
        resolve = add_working_time(created, hours.days(2), hours, calendar).at.timestamp()
        tickets.append({"id": i, "question": f"问题{i}", "turns": [], "topic": "wage_arrears",
                        "kind": "help", "status": "assigned", "asker_platform": "onebot",
                        "asker_id": str(10_000 + i), "asker_name": "职工", "group_id": "g",
                        "grid_code": "D001-S01-C01-G01", "resident": "",
                        "created_at": created.timestamp(), "clock_started_at": created.timestamp(),
                        "respond_by": respond, "resolve_by": resolve, "flagged": False,
                        "reopened": False, "escalation": 0, "generation": 1})
        timers += [{"ticket_id": i, "kind": k, "level": lv, "due_at": due, "generation": 1}
                   for k, lv, due in (("remind", 0, half), ("escalate", 1, respond),
                                      ("escalate", 2, resolve))]
    with engine.begin() as conn:
        for at in range(0, n, 5000):
            conn.execute(insert(TicketRow), tickets[at:at + 5000])
        for at in range(0, len(timers), 15000):
            conn.execute(insert(TimerRow), timers[at:at + 15000])
    return service


def due_reminders(service: TicketService, now: datetime) -> set[int]:
    """What the sweep's claim finds: a walk of the timers' (due_at) index."""
    with service.session() as session:
        return set(session.execute(select(TimerRow.ticket_id).where(
            TimerRow.due_at <= now.timestamp(), TimerRow.kind == "remind")).scalars())


def naive_due(service: TicketService, now: datetime) -> set[int]:
    """What a first version would do: read every open ticket and walk its working time
    from the start (minute by minute) to see whether its reminder is due."""
    with service.session() as session:
        rows = session.execute(select(TicketRow.id, TicketRow.clock_started_at)
                               .where(TicketRow.status == "assigned")).all()
    found = set()
    for ticket_id, started in rows:
        start = datetime.fromtimestamp(started, SHANGHAI).replace(second=0, microsecond=0)
        if naive_deadline(start, timedelta(hours=2), OFFICE_HOURS, service.calendar).at <= now:
            found.add(ticket_id)
    return found


def bench_sweep(args: argparse.Namespace) -> bool:
    now = datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI)    # a Tuesday morning
    ok = True
    runs = [("SQLite", f"sqlite:///{tempfile.mkdtemp(prefix='bench-tickets-')}/t.db")]
    schemas = None
    try:
        from tests.pg import PostgresSchemas

        schemas = PostgresSchemas()
        runs.append(("PostgreSQL", schemas.new_url()))
    except Exception as exc:  # no server here: SQLite only
        print(f"sweep: PostgreSQL not available ({exc.__class__.__name__})")
    try:
        for label, url in runs:
            t0 = time.perf_counter()
            service = _fill(url, args.tickets, now)
            filled = time.perf_counter() - t0
            t0 = time.perf_counter()
            found = due_reminders(service, now)
            t1 = time.perf_counter()
            naive = naive_due(service, now)
            t2 = time.perf_counter()
            fired = service.sweep("bench", limit=args.tickets)
            t3 = time.perf_counter()
            right = found == naive == {int(f.number[2:]) for f in fired if f.kind == "remind"}
            ok = ok and right
            find, scan, sweep = t1 - t0, t2 - t1, t3 - t2
            print(f"sweep ({label}, {args.tickets} open tickets, {len(naive)} reminders due): "
                  f"finding them {find * 1000:.1f} ms on the timers' index; naive scan of every "
                  f"open ticket {scan * 1000:.0f} ms; {scan / find:.0f}x faster"
                  f"{'' if right else ' — RESULTS DIFFER'}")
            print(f"  the whole sweep (claim, fire {len(fired)} reminders and escalations, write "
                  f"their events and messages): {sweep * 1000:.0f} ms, "
                  f"{sweep / max(1, len(fired)) * 1000:.2f} ms each; database filled in "
                  f"{filled:.1f} s")
    finally:
        if schemas is not None:
            schemas.drop_all()
    return ok


PARTS: dict[str, Callable[[argparse.Namespace], bool]] = {
    "deadlines": bench_deadlines,
    "sweep": bench_sweep,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(PARTS), action="append",
                        help="run only this part (repeatable); default: every part")
    parser.add_argument("--deadlines", type=int, default=10_000, help="how many deadlines")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tickets", type=int, default=100_000, help="tickets for the sweep")
    args = parser.parse_args(argv)
    ok = True
    for name in args.only or list(PARTS):
        ok = PARTS[name](args) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

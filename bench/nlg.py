"""What the knowledge base's NLG costs per message.

`generate()` of `bot.nlg.KnowledgeBaseNLG` for an FAQ answer (one `{slot}` and one
`[[field]]`), next to Rasa's TemplatedNaturalLanguageGenerator on the same domain, in
one run: steady state (a revision check at most once a second, the default), the
worst case of a revision read on every message (`check_every=0`), and the reload after
an edit. SQLite, and PostgreSQL when the test server on 127.0.0.1:5432 is up.

    .venv/bin/python bench/nlg.py [--messages 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FAQ = "utter_faq/join_union"
PG = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


async def timed(nlg: object, tracker: object, domain: object, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        await nlg.generate(FAQ, tracker, "cli", domain_responses=domain.responses)  # type: ignore[attr-defined]
        out.append(time.perf_counter() - start)
    return out


def line(name: str, samples: list[float], base: float | None = None) -> str:
    p50 = statistics.median(samples) * 1e6
    p95 = sorted(samples)[int(len(samples) * 0.95)] * 1e6
    ratio = f"  ×{p50 / base:.2f} of the template NLG's p50" if base else ""
    return f"{name:<42} p50 {p50:8.1f} µs  p95 {p95:8.1f} µs{ratio}"


async def run(url: str, label: str, n: int, domain: object, tracker: object) -> None:
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator

    from bot.nlg import KnowledgeBaseNLG
    from core.db import create
    from knowledge import db as knowledge_db
    from knowledge.service import KnowledgeBase

    engine = create(url)
    knowledge_db.upgrade(engine)
    kb = KnowledgeBase(engine, slots={"address"})
    kb.seed(ROOT / "data" / "answers")
    kb.edit(FAQ, ["{address}的职工请到服务站入会，热线时间：[[hotline_hours]]"], "bench")
    kb.set_field("hotline_hours", "每天 8:30-20:00", "bench")

    template = TemplatedNaturalLanguageGenerator(domain.responses)  # type: ignore[attr-defined]
    base = await timed(template, tracker, domain, n)
    base_p50 = statistics.median(base) * 1e6
    steady = KnowledgeBaseNLG(url=url, domain=domain)
    await timed(steady, tracker, domain, 1)   # the first message loads the answers
    every = KnowledgeBaseNLG(url=url, domain=domain, check_every=0.0)
    await timed(every, tracker, domain, 1)
    print(f"\n{label} ({n} messages each)")
    print(line("template NLG (Rasa's default)", base))
    print(line("knowledge base, check once a second", await timed(steady, tracker, domain, n), base_p50))
    print(line("knowledge base, revision read per message", await timed(every, tracker, domain, n), base_p50))
    reloads = []
    for i in range(20):
        kb.set_field("hotline_hours", f"每天 8:{i:02d}-20:00", "bench")
        reloads += await timed(every, tracker, domain, 1)
    print(line("first message after an edit (full reload)", reloads, base_p50))
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=3000)
    args = parser.parse_args()
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import SlotSet
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.load([str(ROOT / "domain.yml"), str(ROOT / "data" / "answers")])
    tracker = DialogueStateTracker.from_events("bench", [SlotSet("address", "联盟小区")],
                                               slots=domain.slots)
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(f"sqlite:///{Path(tmp) / 'kb.db'}", "SQLite", args.messages, domain, tracker))
    try:
        from sqlalchemy import create_engine, text

        admin = create_engine(PG, future=True)
        with admin.begin() as c:
            c.execute(text('DROP SCHEMA IF EXISTS "bench_nlg" CASCADE'))
            c.execute(text('CREATE SCHEMA "bench_nlg"'))
    except Exception as exc:
        print(f"\nPostgreSQL skipped: {exc.__class__.__name__}")
        return 0
    try:
        asyncio.run(run(f"{PG}?options=-csearch_path%3Dbench_nlg", "PostgreSQL", args.messages,
                        domain, tracker))
    finally:
        from core.db import dispose_all

        dispose_all()
        with admin.begin() as c:
            c.execute(text('DROP SCHEMA IF EXISTS "bench_nlg" CASCADE'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())

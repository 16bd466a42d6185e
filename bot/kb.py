"""The knowledge base of this process: `open_knowledge_base(settings)` migrates (through
`bot.compose.open_engine`) and seeds from data/answers once per process and URL, then
returns a `KnowledgeBase`. The staff application (`bot.app`) and the CLI use it;
`audit` lets the caller forward every record to its own audit log too."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import yaml

from core.settings import Settings
from knowledge.model import Example
from knowledge.service import AuditSink, KnowledgeBase

logger = logging.getLogger(__name__)
_seeded: set[str] = set()
_lock = threading.Lock()


def answers_dir(settings: Settings) -> Path:
    return settings.project_dir / "data" / "answers"


def domain_slots(project: Path) -> frozenset[str]:
    """The slots of domain.yml: answers may say `{address}`, nothing else in braces."""
    data = yaml.safe_load((project / "domain.yml").read_text(encoding="utf-8")) or {}
    return frozenset(str(name) for name in (data.get("slots") or {}))


def open_knowledge_base(settings: Settings, audit: AuditSink | None = None) -> KnowledgeBase:
    from bot.compose import open_engine

    engine = open_engine(settings)
    kb = KnowledgeBase(engine, slots=domain_slots(settings.project_dir), on_audit=audit)
    with _lock:
        if settings.database_url not in _seeded:
            report = kb.seed(answers_dir(settings))
            if report.added or report.updated:
                logger.info("Knowledge base seeded from data/answers: %d new, %d new defaults",
                            len(report.added), len(report.updated))
            _seeded.add(settings.database_url)
    return kb


class KnowledgeBaseUnavailable(Exception):
    """The database or its knowledge-base tables do not exist (yet), or it is unreachable."""


def existing_knowledge_base(database_url: str) -> KnowledgeBase:
    """The knowledge base at `database_url` for reading, without creating anything:
    a SQLite file that does not exist, or a database without the `kb_` tables, raises
    KnowledgeBaseUnavailable (a fresh clone trains and answers from data/ alone)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from core import db
    from knowledge import db as knowledge_db

    parsed = make_url(database_url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or not Path(database).is_file():
            raise KnowledgeBaseUnavailable(f"no database file {database or '(in memory)'}")
    engine = db.engine_for(database_url)
    try:
        migrated = knowledge_db.is_migrated(engine)
    except SQLAlchemyError as exc:
        raise KnowledgeBaseUnavailable(f"{exc.__class__.__name__}: {exc}".splitlines()[0]) from exc
    if not migrated:
        raise KnowledgeBaseUnavailable("the knowledge-base tables do not exist yet")
    return KnowledgeBase(engine)


def training_examples(database_url: str | None) -> list[Example]:
    """Every training example staff added (pending and trained: each model is trained
    on all of them); none without a database."""
    from sqlalchemy.exc import SQLAlchemyError

    if not database_url:
        return []
    try:
        return existing_knowledge_base(database_url).examples()
    except KnowledgeBaseUnavailable as exc:
        logger.info("No training examples from the knowledge base: %s", exc)
    except SQLAlchemyError as exc:
        logger.warning("Training examples could not be read (training on data/ only): %s",
                       str(exc).splitlines()[0])
    return []


def record_training(database_url: str | None, examples: list[Example], model: str) -> None:
    """After a successful training: its examples are trained, and when."""
    from sqlalchemy.exc import SQLAlchemyError

    if not database_url:
        return
    try:
        kb = existing_knowledge_base(database_url)
        kb.mark_trained([e.id for e in examples], model)
    except KnowledgeBaseUnavailable:
        return
    except SQLAlchemyError as exc:
        logger.warning("The training of %s could not be recorded in the knowledge base: %s",
                       model, str(exc).splitlines()[0])

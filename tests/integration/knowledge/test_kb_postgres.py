"""The knowledge base's service on PostgreSQL (a throw-away schema per test), the same
scenarios as on SQLite (tests/kb_scenarios.py), plus concurrent edits and seeding."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from core.db import create
from knowledge import db as knowledge_db
from knowledge.model import EditConflict
from knowledge.service import KnowledgeBase
from tests.kb_scenarios import (
    ANSWERS,
    FAQ,
    World,
    build_world,
    test_a_fresh_database_starts_from_data_answers,
    test_a_stale_edit_is_refused,
    test_an_edit_is_a_version_with_who_when_what,
    test_an_edit_naming_an_unknown_field_or_a_stray_brace_is_refused,
    test_examples_are_masked_and_queue_items_triaged,
    test_export_after_edits_changes_only_the_edited_answer,
    test_export_on_a_fresh_database_is_data_answers_byte_for_byte,
    test_fields_are_filled_once_and_unfilled_ones_never_show_raw,
    test_reseeding_keeps_edits_and_adds_new_responses,
    test_rollback_restores_an_old_text_as_a_new_version,
)
from tests.pg import PostgresSchemas, schemas_or_skip

__all__ = [
    "test_a_fresh_database_starts_from_data_answers",
    "test_a_stale_edit_is_refused",
    "test_an_edit_is_a_version_with_who_when_what",
    "test_an_edit_naming_an_unknown_field_or_a_stray_brace_is_refused",
    "test_examples_are_masked_and_queue_items_triaged",
    "test_export_after_edits_changes_only_the_edited_answer",
    "test_export_on_a_fresh_database_is_data_answers_byte_for_byte",
    "test_fields_are_filled_once_and_unfilled_ones_never_show_raw",
    "test_reseeding_keeps_edits_and_adds_new_responses",
    "test_rollback_restores_an_old_text_as_a_new_version",
]

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg() -> Iterator[PostgresSchemas]:
    yield from schemas_or_skip()


@pytest.fixture
def world(pg: PostgresSchemas, tmp_path: Path) -> Iterator[World]:
    engine = create(pg.new_url())
    knowledge_db.upgrade(engine)
    yield build_world(engine, tmp_path)
    engine.dispose()


def test_concurrent_edits_get_distinct_versions(pg: PostgresSchemas) -> None:
    engine = create(pg.new_url())
    knowledge_db.upgrade(engine)
    kb = KnowledgeBase(engine)
    kb.seed(ANSWERS)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda n: kb.edit(FAQ, [f"第 {n} 位同事的版本"], f"同事{n}"), range(8)))
    history = kb.history(FAQ)
    assert [v.number for v in history] == list(range(9, 0, -1))
    assert kb.get(FAQ).texts == history[0].new_texts
    with pytest.raises(EditConflict):
        kb.edit(FAQ, ["过期的编辑"], "同事9", expected_version=3)
    engine.dispose()


def test_two_processes_seeding_at_once_seed_once(pg: PostgresSchemas) -> None:
    url = pg.new_url()
    engines = [create(url), create(url)]
    knowledge_db.upgrade(engines[0])
    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(lambda e: KnowledgeBase(e).seed(ANSWERS), engines))
    assert sorted(len(r.added) for r in reports)[1] > 0
    kb = KnowledgeBase(engines[0])
    assert all(a.version == 1 for a in kb.answers())
    assert len(kb.answers()) == sum(len(r.added) for r in reports)
    for engine in engines:
        engine.dispose()

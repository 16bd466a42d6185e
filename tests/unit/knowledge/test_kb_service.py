"""The knowledge base's service on SQLite (the scenarios live in tests/kb_scenarios.py;
tests/integration/knowledge runs the same on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.db import create
from knowledge import db as knowledge_db
from tests.kb_scenarios import (
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


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    engine = create(f"sqlite:///{tmp_path / 'kb.db'}")
    knowledge_db.upgrade(engine)
    yield build_world(engine, tmp_path)
    engine.dispose()


def test_the_migration_downgrades_cleanly(tmp_path: Path) -> None:
    engine = create(f"sqlite:///{tmp_path / 'kb.db'}")
    knowledge_db.upgrade(engine)
    assert knowledge_db.is_migrated(engine)
    knowledge_db.downgrade(engine)
    assert not knowledge_db.is_migrated(engine)
    engine.dispose()

"""Rows ⇄ values of the knowledge base (the only module that maps them)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from core.clock import SHANGHAI
from core.topics import contract, intent_for
from knowledge.model import (
    Answer,
    AuditEntry,
    Example,
    ExampleStatus,
    Field,
    QueueItem,
    SourceKind,
    Triage,
    TriageAction,
    Version,
)
from knowledge.tables import AnswerRow, AuditRow, ExampleRow, FieldRow, TriageRow, VersionRow

FAQ_PREFIX = "utter_faq/"
UTTER_PREFIX = "utter_"


def when(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, SHANGHAI)


def texts_of(variations: Sequence[dict[str, Any]] | None) -> tuple[str, ...]:
    return tuple(str(v.get("text") or "") for v in variations or ())


def topic_of_response(name: str) -> str | None:
    """The topic an answer belongs to: `utter_faq/join_union` → join_union,
    `utter_greet` → greet; a follow-up (`utter_faq/join_union_materials`,
    `utter_gov_referral_more`) belongs to the longest topic key it starts with."""
    key = name.removeprefix(FAQ_PREFIX) if name.startswith(FAQ_PREFIX) else name.removeprefix(UTTER_PREFIX)
    if key in contract():
        return key
    candidates = [t for t in contract() if key.startswith(t + "_")]
    return max(candidates, key=len) if candidates else None


def answer_of(row: AnswerRow) -> Answer:
    return Answer(name=row.name, topic=row.topic, texts=texts_of(row.variations),
                  version=row.version, edited=bool(row.edited), updated_at=when(row.updated_at),
                  updated_by=row.updated_by, source_file=row.source_file,
                  variations=tuple(dict(v) for v in row.variations))


def version_of(row: VersionRow) -> Version:
    old = texts_of(row.old_variations) if row.old_variations is not None else None
    return Version(row.number, row.kind, old, texts_of(row.new_variations), row.actor,
                   when(row.at), row.note or "")


def field_of(row: FieldRow) -> Field:
    return Field(row.key, row.label, row.value, row.fallback, when(row.updated_at), row.updated_by)


def source_of(kind: str | None, source_id: str | None) -> QueueItem | None:
    return QueueItem(SourceKind(kind), source_id) if kind and source_id is not None else None


def example_of(row: ExampleRow) -> Example:
    return Example(row.id, row.text, row.topic, intent_for(row.topic), ExampleStatus(row.status),
                   row.actor, when(row.at), when(row.trained_at) if row.trained_at else None,
                   source_of(row.source_kind, row.source_id))


def triage_of(row: TriageRow) -> Triage:
    return Triage(QueueItem(SourceKind(row.source_kind), row.source_id), TriageAction(row.action),
                  row.actor, when(row.at), row.example_id, row.response)


def audit_of(row: AuditRow) -> AuditEntry:
    return AuditEntry(row.id, when(row.at), row.actor, row.action, row.subject, dict(row.detail))

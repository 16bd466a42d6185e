"""Tables of the knowledge base (prefix `kb_`), created by the migrations in
`knowledge/migrations`. Times are epoch seconds (float), as in the other packages.

- `kb_answers`: one row per Rasa response (`utter_faq/join_union`, `utter_greet`, …):
  its current variations (the list of response dicts as in data/answers, `text` and
  any other keys), the current version number, and where it came from (file, order);
- `kb_versions`: every change of an answer (seed, edit, rollback, a new default from
  data/answers): old and new variations, who, when, a note;
- `kb_fields`: local particulars that answers reference as `[[key]]`;
- `kb_examples`: questions staff added as training examples of a topic;
- `kb_triage`: what staff decided about an item of the "could not answer" queue;
- `kb_audit`: one record per edit, rollback, field change, example, dismissal, training;
- `kb_state`: one row: the revision (bumped by every change the NLG must see) and the
  last training.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, Float, ForeignKey, Index, Integer, String, Text

from core.db import declarative_base

Base: Any = declarative_base()
metadata = Base.metadata


class AnswerRow(Base):
    __tablename__ = "kb_answers"
    id = Column(Integer, primary_key=True, autoincrement=True)
    name = Column(String(128), nullable=False, unique=True)
    topic = Column(String(32), nullable=True, index=True)
    source_file = Column(String(128), nullable=False)
    position = Column(Integer, nullable=False)
    variations = Column(JSON, nullable=False)
    version = Column(Integer, nullable=False)
    edited = Column(Integer, nullable=False, default=0)   # 1 once staff changed it
    updated_at = Column(Float, nullable=False)
    updated_by = Column(String(160), nullable=False)


class VersionRow(Base):
    __tablename__ = "kb_versions"
    id = Column(Integer, primary_key=True, autoincrement=True)
    answer_id = Column(Integer, ForeignKey("kb_answers.id"), nullable=False)
    number = Column(Integer, nullable=False)
    kind = Column(String(16), nullable=False)         # seed, edit, rollback, default
    old_variations = Column(JSON, nullable=True)
    new_variations = Column(JSON, nullable=False)
    actor = Column(String(160), nullable=False)
    at = Column(Float, nullable=False)
    note = Column(Text, nullable=False, default="")
    __table_args__ = (Index("ix_kb_versions_answer", "answer_id", "number", unique=True),)


class FieldRow(Base):
    __tablename__ = "kb_fields"
    key = Column(String(48), primary_key=True)
    label = Column(String(64), nullable=False)
    value = Column(Text, nullable=True)
    fallback = Column(Text, nullable=False)
    updated_at = Column(Float, nullable=False)
    updated_by = Column(String(160), nullable=False)


class ExampleRow(Base):
    __tablename__ = "kb_examples"
    id = Column(Integer, primary_key=True, autoincrement=True)
    text = Column(Text, nullable=False)
    topic = Column(String(32), nullable=False)
    status = Column(String(16), nullable=False, index=True)   # pending, trained
    actor = Column(String(160), nullable=False)
    at = Column(Float, nullable=False)
    trained_at = Column(Float, nullable=True)
    source_kind = Column(String(16), nullable=True)
    source_id = Column(String(128), nullable=True)


class TriageRow(Base):
    __tablename__ = "kb_triage"
    id = Column(Integer, primary_key=True, autoincrement=True)
    source_kind = Column(String(16), nullable=False)     # fallback, handoff, ticket
    source_id = Column(String(128), nullable=False)
    action = Column(String(16), nullable=False)          # added, improved, dismissed
    actor = Column(String(160), nullable=False)
    at = Column(Float, nullable=False)
    example_id = Column(Integer, ForeignKey("kb_examples.id"), nullable=True)
    response = Column(String(128), nullable=True)
    __table_args__ = (Index("ix_kb_triage_source", "source_kind", "source_id"),)


class AuditRow(Base):
    __tablename__ = "kb_audit"
    id = Column(Integer, primary_key=True, autoincrement=True)
    at = Column(Float, nullable=False, index=True)
    actor = Column(String(160), nullable=False)
    action = Column(String(32), nullable=False)
    subject = Column(String(160), nullable=False)
    detail = Column(JSON, nullable=False)


class StateRow(Base):
    __tablename__ = "kb_state"
    id = Column(Integer, primary_key=True)
    revision = Column(Integer, nullable=False)
    trained_at = Column(Float, nullable=True)
    trained_model = Column(String(160), nullable=True)

"""The knowledge base's service: answers and their versions, local fields, training
examples from the "could not answer" queue, triage decisions and the audit trail.

Every method that changes something does it in one transaction, writes one
`kb_audit` record per change (who, what, old and new) in that transaction, and
hands the record to `on_audit` after the commit (the console forwards it to its
general audit log). Changes the assistant must see (answers, fields) bump the
revision in `kb_state`, which the NLG polls.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import db as core_db
from core.clock import Clock
from core.topics import contract
from knowledge import files, placeholders
from knowledge.model import (
    OTHER_TOPIC,
    Answer,
    AnswerNotFound,
    AuditEntry,
    EditConflict,
    Example,
    ExampleStatus,
    Field,
    InvalidAnswer,
    InvalidExample,
    InvalidField,
    KnowledgeError,
    QueueItem,
    SeedReport,
    Snapshot,
    SourceKind,
    TopicAnswers,
    TrainingState,
    Triage,
    TriageAction,
    UnknownField,
    Version,
    VersionNotFound,
)
from knowledge.store import (
    answer_of,
    audit_of,
    example_of,
    field_of,
    texts_of,
    topic_of_response,
    triage_of,
    version_of,
    when,
)
from knowledge.tables import (
    AnswerRow,
    AuditRow,
    ExampleRow,
    FieldRow,
    StateRow,
    TriageRow,
    VersionRow,
)
from tickets.masking import mask

logger = logging.getLogger(__name__)

DEFAULT_FIELDS_FILE = Path(__file__).resolve().parent / "fields.yml"
SEED_ACTOR = "data/answers"
MAX_TEXT = 1500           # characters of one variation (a long group message)
MAX_EXAMPLE = 200
MAX_FIELD_VALUE = 500
AuditSink = Callable[[AuditEntry], None]


class KnowledgeBase:
    def __init__(self, engine: Engine, *, clock: Clock = time.time,
                 slots: Collection[str] = (), on_audit: AuditSink | None = None) -> None:
        """`slots`: the domain's slot names an answer may use as `{slot}`."""
        self._engine = engine
        self._sessions = core_db.sessions(engine)
        self._clock = clock
        self._slots = frozenset(slots)
        self._on_audit = on_audit

    # -- seeding and export -------------------------------------------------------------

    def seed(self, source_dir: Path, fields_file: Path | None = DEFAULT_FIELDS_FILE) -> SeedReport:
        """Add the responses of `source_dir` (data/answers) the database does not have,
        give unedited answers their new default text, and never touch staff's edits."""
        source = files.read_dir(source_dir)
        definitions = _field_definitions(fields_file)
        try:
            return self._seed(source, definitions)
        except IntegrityError:   # another process seeded the same rows just now
            logger.info("Concurrent seeding of the knowledge base: seeding again")
            return self._seed(source, definitions)

    def _seed(self, source: list[files.FileResponse],
              definitions: dict[str, dict[str, str]]) -> SeedReport:
        added, updated, kept, fields_added = [], [], [], []
        now = self._clock()
        with self._sessions.begin() as s:
            rows = {r.name: r for r in s.scalars(select(AnswerRow))}
            for item in source:
                row = rows.get(item.name)
                if row is None:
                    row = AnswerRow(name=item.name, topic=topic_of_response(item.name),
                                    source_file=item.file, position=item.position,
                                    variations=item.variations, version=1, edited=0,
                                    updated_at=now, updated_by=SEED_ACTOR)
                    s.add(row)
                    s.flush()
                    s.add(VersionRow(answer_id=row.id, number=1, kind="seed", old_variations=None,
                                     new_variations=item.variations, actor=SEED_ACTOR, at=now,
                                     note=f"{item.file}"))
                    added.append(item.name)
                    continue
                if (row.source_file, row.position) != (item.file, item.position):
                    row.source_file, row.position = item.file, item.position
                if row.variations != item.variations:
                    if row.edited:
                        kept.append(item.name)
                    else:
                        self._new_version(s, row, item.variations, "default", SEED_ACTOR,
                                          f"{item.file} 的默认答复有更新")
                        updated.append(item.name)
            have = set(s.scalars(select(FieldRow.key)))
            for key, spec in definitions.items():
                if key not in have:
                    s.add(FieldRow(key=key, label=spec["label"], value=None,
                                   fallback=spec.get("fallback") or placeholders.GENERIC_FALLBACK,
                                   updated_at=now, updated_by=SEED_ACTOR))
                    fields_added.append(key)
            entries = []
            if added or updated or fields_added:
                self._bump(s)
                entries.append(self._audit(s, SEED_ACTOR, "kb.seed", "data/answers",
                                           {"added": added, "updated": updated,
                                            "fields_added": fields_added}))
        self._publish(entries)
        if kept:
            logger.info("Default answers changed for %d edited answers; staff's texts kept: %s",
                        len(kept), ", ".join(kept))
        return SeedReport(tuple(added), tuple(updated), tuple(kept), tuple(fields_added))

    def export(self, out_dir: Path, template_dir: Path | None) -> list[Path]:
        """Write the current answers as data/answers files into `out_dir`, over the
        layout of `template_dir` (see `knowledge.files`)."""
        with self._sessions() as s:
            rows = s.scalars(select(AnswerRow)).all()
        items = [files.FileResponse(r.name, r.source_file, r.position, list(r.variations))
                 for r in rows]
        return files.write_dir(items, out_dir, template_dir)

    # -- answers ------------------------------------------------------------------------

    def answers(self) -> list[Answer]:
        with self._sessions() as s:
            rows = s.scalars(select(AnswerRow).order_by(AnswerRow.source_file, AnswerRow.position))
            return [answer_of(r) for r in rows]

    def list_answers(self, topic: str | None = None) -> list[TopicAnswers]:
        """Answers grouped by topic, in the order of core/topics.yml (others last)."""
        groups: dict[str | None, list[Answer]] = {}
        for answer in self.answers():
            if topic is None or answer.topic == topic:
                groups.setdefault(answer.topic, []).append(answer)
        order = list(contract())
        keys = sorted(groups, key=lambda k: order.index(k) if k in order else len(order))
        return [TopicAnswers(k, contract()[k].zh if k in contract() else OTHER_TOPIC,
                             tuple(groups[k])) for k in keys]

    def get(self, name: str) -> Answer:
        with self._sessions() as s:
            return answer_of(self._answer_row(s, name))

    def history(self, name: str) -> list[Version]:
        """Every version of an answer, newest first."""
        with self._sessions() as s:
            row = self._answer_row(s, name)
            rows = s.scalars(select(VersionRow).where(VersionRow.answer_id == row.id)
                             .order_by(VersionRow.number.desc()))
            return [version_of(v) for v in rows]

    def edit(self, name: str, texts: Sequence[str], actor: str, note: str = "",
             expected_version: int | None = None) -> Answer:
        """Replace the texts of an answer's variations (one text per variation; other
        keys of a variation are kept). Refused: an empty text, an unknown `[[field]]`,
        a brace that is not a `{slot}`; with `expected_version`, an answer someone else
        changed since. An edit that changes nothing makes no version."""
        with self._sessions.begin() as s:
            answer, entries = self._edit(s, name, texts, actor, note, expected_version)
        self._publish(entries)
        return answer

    def rollback(self, name: str, number: int, actor: str, note: str = "") -> Answer:
        """Restore the texts of version `number` as a new version."""
        actor = _actor(actor)
        with self._sessions.begin() as s:
            row = self._answer_row(s, name, lock=True)
            target = s.scalars(select(VersionRow).where(VersionRow.answer_id == row.id,
                                                        VersionRow.number == number)).first()
            if target is None:
                raise VersionNotFound(name, number)
            entries = []
            if target.new_variations != row.variations:
                old = texts_of(row.variations)
                self._new_version(s, row, list(target.new_variations), "rollback", actor,
                                  note or f"恢复到第 {number} 版")
                entries.append(self._audit(s, actor, "answer.rollback", name,
                                           {"to": number, "version": row.version,
                                            "old": list(old), "new": list(texts_of(row.variations))}))
            answer = answer_of(row)
        self._publish(entries)
        return answer

    def preview(self, texts: Sequence[str]) -> list[str]:
        """How texts read to a worker with the current fields (before saving them)."""
        fields = {f.key: f for f in self.fields()}
        return [placeholders.render(_clean(t), fields, "preview") for t in texts]

    # -- fields -------------------------------------------------------------------------

    def fields(self) -> list[Field]:
        with self._sessions() as s:
            return [field_of(r) for r in s.scalars(select(FieldRow).order_by(FieldRow.key))]

    def field(self, key: str) -> Field:
        with self._sessions() as s:
            row = s.get(FieldRow, key)
            if row is None:
                raise UnknownField(key)
            return field_of(row)

    def set_field(self, key: str, value: str | None, actor: str, *, label: str | None = None,
                  fallback: str | None = None) -> Field:
        """Fill in (or clear, with an empty value) a field; a new field needs a label."""
        actor = _actor(actor)
        if not placeholders.KEY.fullmatch(key):
            raise InvalidField(f"字段名 {key!r} 不合规：请用小写英文字母开头，只含小写字母、数字和下划线，"
                               "最长 48 个字符")
        cleaned = _field_text(value, "字段内容")
        now = self._clock()
        with self._sessions.begin() as s:
            row = s.get(FieldRow, key)
            if row is None:
                if not (label and label.strip()):
                    raise UnknownField(key)
                row = FieldRow(key=key, label="", value=None,
                               fallback=placeholders.GENERIC_FALLBACK, updated_at=now,
                               updated_by=actor)
                s.add(row)
            old = {"value": row.value, "label": row.label, "fallback": row.fallback}
            row.value = cleaned
            if label is not None and label.strip():
                row.label = label.strip()[:64]
            if fallback is not None:
                row.fallback = _field_text(fallback, "未填写时的说法") or placeholders.GENERIC_FALLBACK
            row.updated_at, row.updated_by = now, actor
            new = {"value": row.value, "label": row.label, "fallback": row.fallback}
            entries = []
            if new != old or old["label"] == "":
                self._bump(s)
                entries.append(self._audit(s, actor, "field.set", key, {"old": old, "new": new}))
            result = field_of(row)
        self._publish(entries)
        return result

    # -- the queue: examples, improvements, dismissals -----------------------------------

    def add_example(self, text: str, topic: str, actor: str,
                    source: QueueItem | None = None) -> Example:
        """Add a question as a training example of `topic` (phone and ID numbers masked);
        the next `cloud-doctor train` uses it. With `source`, the queue item is handled."""
        actor = _actor(actor)
        masked = mask(" ".join(text.split()))
        if not masked:
            raise InvalidExample("问法是空的")
        if len(masked) > MAX_EXAMPLE:
            raise InvalidExample(f"问法太长了（{len(masked)} 个字，最多 {MAX_EXAMPLE} 个字）")
        if topic not in contract():
            raise InvalidExample(f"没有这个话题：{topic}")
        now = self._clock()
        with self._sessions.begin() as s:
            key = _example_key(masked)
            same = next((r for r in s.scalars(select(ExampleRow).order_by(ExampleRow.id))
                         if _example_key(r.text) == key), None)
            if same is not None:
                raise InvalidExample(f"这个问法已经是「{contract()[same.topic].zh}」的训练问法"
                                     f"（第 {same.id} 条）")
            row = ExampleRow(text=masked, topic=topic, status=ExampleStatus.PENDING.value,
                             actor=actor, at=now, trained_at=None,
                             source_kind=source.kind.value if source else None,
                             source_id=source.id if source else None)
            s.add(row)
            s.flush()
            if source is not None:
                s.add(TriageRow(source_kind=source.kind.value, source_id=source.id,
                                action=TriageAction.ADDED.value, actor=actor, at=now,
                                example_id=row.id))
            entries = [self._audit(s, actor, "example.add", str(row.id),
                                   {"text": masked, "topic": topic, "source": _source(source)})]
            example = example_of(row)
        self._publish(entries)
        return example

    def improve(self, source: QueueItem, name: str, texts: Sequence[str], actor: str,
                note: str = "", expected_version: int | None = None) -> Answer:
        """Edit an answer from a queue item, and mark the item handled (one transaction)."""
        with self._sessions.begin() as s:
            answer, entries = self._edit(s, name, texts, actor,
                                         note or f"据{_source(source)}改进", expected_version)
            s.add(TriageRow(source_kind=source.kind.value, source_id=source.id,
                            action=TriageAction.IMPROVED.value, actor=_actor(actor),
                            at=self._clock(), response=name))
        self._publish(entries)
        return answer

    def dismiss(self, source: QueueItem, actor: str, reason: str = "") -> Triage:
        actor = _actor(actor)
        with self._sessions.begin() as s:
            row = TriageRow(source_kind=source.kind.value, source_id=source.id,
                            action=TriageAction.DISMISSED.value, actor=actor, at=self._clock())
            s.add(row)
            entries = [self._audit(s, actor, "queue.dismiss", _source(source),
                                   {"reason": reason.strip()[:500]})]
            triage = triage_of(row)
        self._publish(entries)
        return triage

    def triage(self, items: Iterable[QueueItem]) -> dict[QueueItem, Triage]:
        """The latest decision about each of `items` that has one (the console hides them)."""
        wanted = list(items)
        found: dict[QueueItem, Triage] = {}
        with self._sessions() as s:
            for kind in {i.kind for i in wanted}:
                ids = [i.id for i in wanted if i.kind == kind]
                for start in range(0, len(ids), 500):
                    rows = s.scalars(select(TriageRow).where(
                        TriageRow.source_kind == kind.value,
                        TriageRow.source_id.in_(ids[start:start + 500])).order_by(TriageRow.id))
                    for row in rows:
                        decision = triage_of(row)
                        found[decision.source] = decision
        return found

    def handled_ids(self, kind: SourceKind) -> set[str]:
        with self._sessions() as s:
            return set(s.scalars(select(TriageRow.source_id).where(TriageRow.source_kind == kind.value)))

    # -- training -----------------------------------------------------------------------

    def examples(self, status: ExampleStatus | None = None) -> list[Example]:
        """Examples, oldest first (all of them train every model, `pending` ones are
        not in the current model yet)."""
        query = select(ExampleRow).order_by(ExampleRow.id)
        if status is not None:
            query = query.where(ExampleRow.status == status.value)
        with self._sessions() as s:
            return [example_of(r) for r in s.scalars(query)]

    def pending_examples_count(self) -> int:
        with self._sessions() as s:
            return int(s.scalar(select(func.count()).select_from(ExampleRow)
                                .where(ExampleRow.status == ExampleStatus.PENDING.value)) or 0)

    def mark_trained(self, example_ids: Collection[int], model: str,
                     actor: str = "cloud-doctor train") -> int:
        """Record a successful training on `model` with these examples; returns how many
        were pending."""
        now = self._clock()
        with self._sessions.begin() as s:
            ids = sorted(example_ids)
            changed = 0
            for start in range(0, len(ids), 500):
                result = s.execute(update(ExampleRow).where(
                    ExampleRow.id.in_(ids[start:start + 500]),
                    ExampleRow.status == ExampleStatus.PENDING.value)
                    .values(status=ExampleStatus.TRAINED.value, trained_at=now))
                changed += int(result.rowcount or 0)
            s.execute(update(StateRow).where(StateRow.id == 1)
                      .values(trained_at=now, trained_model=model[:160]))
            entries = [self._audit(s, _actor(actor), "model.train", model[:160],
                                   {"examples": len(ids), "newly_trained": changed})]
        self._publish(entries)
        return changed

    def training_state(self) -> TrainingState:
        with self._sessions() as s:
            state = s.get(StateRow, 1)
            pending = s.scalar(select(func.count()).select_from(ExampleRow)
                               .where(ExampleRow.status == ExampleStatus.PENDING.value))
            at = state.trained_at if state is not None else None
            return TrainingState(int(pending or 0), when(at) if at else None,
                                 state.trained_model if state is not None else None)

    # -- what the NLG reads -------------------------------------------------------------

    def revision(self) -> int:
        """One indexed read: changes of answers and fields bump it."""
        with self._engine.connect() as connection:
            value = connection.execute(select(StateRow.revision).where(StateRow.id == 1)).scalar()
            return int(value or 0)

    def snapshot(self) -> Snapshot:
        """Every answer and field with the revision they are at least as new as."""
        with self._sessions() as s:
            revision = int(s.scalar(select(StateRow.revision).where(StateRow.id == 1)) or 0)
            responses = {r.name: [dict(v) for v in r.variations]
                         for r in s.scalars(select(AnswerRow))}
            fields = {r.key: field_of(r) for r in s.scalars(select(FieldRow))}
        return Snapshot(revision, responses, fields)

    # -- audit --------------------------------------------------------------------------

    def audit_log(self, limit: int = 100, before_id: int | None = None) -> list[AuditEntry]:
        query = select(AuditRow).order_by(AuditRow.id.desc()).limit(max(1, min(limit, 1000)))
        if before_id is not None:
            query = query.where(AuditRow.id < before_id)
        with self._sessions() as s:
            return [audit_of(r) for r in s.scalars(query)]

    # -- internals ----------------------------------------------------------------------

    def _edit(self, s: Session, name: str, texts: Sequence[str], actor: str, note: str,
              expected_version: int | None) -> tuple[Answer, list[AuditEntry]]:
        actor = _actor(actor)
        cleaned = [_clean(t) for t in texts]
        if not cleaned:
            raise InvalidAnswer("答复至少要有一条说法")
        for number, text in enumerate(cleaned, start=1):
            if len(text) > MAX_TEXT:
                raise InvalidAnswer(f"第 {number} 条说法太长了（{len(text)} 个字，最多 {MAX_TEXT} 个字）")
        placeholders.check(cleaned, set(s.scalars(select(FieldRow.key))), self._slots)
        row = self._answer_row(s, name, lock=True)
        if expected_version is not None and row.version != expected_version:
            raise EditConflict(name, expected_version, row.version)
        old_variations = list(row.variations)
        new = [{**(old_variations[i] if i < len(old_variations) else {}), "text": t}
               for i, t in enumerate(cleaned)]
        if new == old_variations:
            return answer_of(row), []
        self._new_version(s, row, new, "edit", actor, note)
        entry = self._audit(s, actor, "answer.edit", name,
                            {"version": row.version, "note": note,
                             "old": list(texts_of(old_variations)), "new": cleaned})
        return answer_of(row), [entry]

    def _new_version(self, s: Session, row: AnswerRow, new: list[dict[str, Any]], kind: str,
                     actor: str, note: str) -> None:
        number = row.version + 1
        s.add(VersionRow(answer_id=row.id, number=number, kind=kind,
                         old_variations=list(row.variations), new_variations=new, actor=actor,
                         at=self._clock(), note=note.strip()[:500]))
        row.variations = new
        row.version = number
        row.updated_at, row.updated_by = self._clock(), actor
        if kind in ("edit", "rollback"):
            row.edited = 1
        self._bump(s)

    @staticmethod
    def _answer_row(s: Session, name: str, lock: bool = False) -> AnswerRow:
        query = select(AnswerRow).where(AnswerRow.name == name)
        if lock:
            query = query.with_for_update()
        row = s.scalars(query).first()
        if row is None:
            raise AnswerNotFound(name)
        return row

    @staticmethod
    def _bump(s: Session) -> None:
        s.execute(update(StateRow).where(StateRow.id == 1)
                  .values(revision=StateRow.revision + 1))

    def _audit(self, s: Session, actor: str, action: str, subject: str,
               detail: dict[str, Any]) -> AuditEntry:
        row = AuditRow(at=self._clock(), actor=actor, action=action, subject=subject[:160],
                       detail=detail)
        s.add(row)
        s.flush()
        return audit_of(row)

    def _publish(self, entries: list[AuditEntry]) -> None:
        if self._on_audit is None:
            return
        for entry in entries:
            try:
                self._on_audit(entry)
            except Exception:  # the change is committed; the other log is best effort
                logger.exception("Forwarding knowledge-base audit record %d failed", entry.id)


def _actor(actor: str) -> str:
    actor = " ".join((actor or "").split())
    if not actor:
        raise KnowledgeError("请写明是谁做的修改（actor 不能为空）")
    return actor[:160]


def _clean(text: str) -> str:
    lines = str(text).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip()


def _field_text(value: str | None, what: str) -> str | None:
    cleaned = _clean(value or "")
    if len(cleaned) > MAX_FIELD_VALUE:
        raise InvalidField(f"{what}太长了（{len(cleaned)} 个字，最多 {MAX_FIELD_VALUE} 个字）")
    if "[[" in cleaned or "]]" in cleaned:
        raise InvalidField(f"{what}里不能再有 [[ ]]")
    return cleaned or None


def _example_key(text: str) -> str:
    """Two questions that differ only in spaces or letter case are one example."""
    return "".join(text.split()).casefold()


def _source(source: QueueItem | None) -> str:
    return f"{source.kind.value}:{source.id}" if source else ""


def _field_definitions(path: Path | None) -> dict[str, dict[str, str]]:
    if path is None:
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out = {}
    for key, spec in (data.get("fields") or {}).items():
        if not placeholders.KEY.fullmatch(str(key)) or not isinstance(spec, dict) or not spec.get("label"):
            raise ValueError(f"{path}: field {key!r} needs a lower-case key and a label")
        out[str(key)] = {"label": str(spec["label"]), "fallback": str(spec.get("fallback") or "")}
    return out


def default_fields(path: Path = DEFAULT_FIELDS_FILE) -> dict[str, Field]:
    """The shipped field definitions, unfilled (what answers show without a database)."""
    from datetime import datetime

    from core.clock import SHANGHAI

    epoch = datetime.fromtimestamp(0, SHANGHAI)
    return {key: Field(key, spec["label"], None,
                       spec["fallback"] or placeholders.GENERIC_FALLBACK, epoch, SEED_ACTOR)
            for key, spec in _field_definitions(path).items()}

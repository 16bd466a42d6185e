"""What the knowledge base hands out (frozen values, times in the union's time zone)
and its errors. Error messages are Chinese: staff read them in the console and CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

OTHER_TOPIC = "其他"


class ExampleStatus(str, Enum):
    PENDING = "pending"    # waits for the next `cloud-doctor train`
    TRAINED = "trained"    # in the current model (and in every later one)


class TriageAction(str, Enum):
    ADDED = "added"          # the question became a training example
    IMPROVED = "improved"    # a topic's answer was improved from it
    DISMISSED = "dismissed"


class SourceKind(str, Enum):
    FALLBACK = "fallback"
    HANDOFF = "handoff"
    TICKET = "ticket"


@dataclass(frozen=True)
class QueueItem:
    """An item of the "could not answer" queue, named by its kind and the id its
    source gives it (a ticket's number, a conversation event's id)."""

    kind: SourceKind
    id: str


@dataclass(frozen=True)
class Answer:
    name: str                       # the Rasa response, e.g. utter_faq/join_union
    topic: str | None               # a core/topics.yml key, None for other responses
    texts: tuple[str, ...]          # one per variation, in order
    version: int
    edited: bool                    # staff changed it (re-seeding keeps it then)
    updated_at: datetime
    updated_by: str
    source_file: str                # data/answers/<file>.yml it comes from
    variations: tuple[dict[str, Any], ...] = field(repr=False, default=())


@dataclass(frozen=True)
class TopicAnswers:
    topic: str | None
    zh: str
    answers: tuple[Answer, ...]


@dataclass(frozen=True)
class Version:
    number: int
    kind: str                       # seed, edit, rollback, default
    old_texts: tuple[str, ...] | None
    new_texts: tuple[str, ...]
    actor: str
    at: datetime
    note: str


@dataclass(frozen=True)
class Field:
    key: str
    label: str                      # Chinese, shown to staff
    value: str | None               # None: not filled in yet
    fallback: str                   # what answers show while it is not filled in
    updated_at: datetime
    updated_by: str

    @property
    def filled(self) -> bool:
        return bool(self.value)


@dataclass(frozen=True)
class Example:
    id: int
    text: str                       # masked
    topic: str
    intent: str                     # the NLU intent it trains (faq/<topic> or the topic)
    status: ExampleStatus
    actor: str
    at: datetime
    trained_at: datetime | None
    source: QueueItem | None


@dataclass(frozen=True)
class Triage:
    source: QueueItem
    action: TriageAction
    actor: str
    at: datetime
    example_id: int | None
    response: str | None


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str        # answer.edit, answer.rollback, field.set, example.add, queue.dismiss, …
    subject: str       # the response name, field key, example id, queue item
    detail: dict[str, Any]


@dataclass(frozen=True)
class TrainingState:
    pending: int
    last_trained_at: datetime | None
    last_model: str | None


@dataclass(frozen=True)
class SeedReport:
    added: tuple[str, ...]          # new responses from data/answers
    updated: tuple[str, ...]        # unedited answers that took a new default text
    kept: tuple[str, ...]           # edited answers whose default changed: staff's text kept
    fields_added: tuple[str, ...]


@dataclass(frozen=True)
class Snapshot:
    """Everything the NLG needs, read in one transaction."""

    revision: int
    responses: dict[str, list[dict[str, Any]]]
    fields: dict[str, Field]


class KnowledgeError(Exception):
    """Base of the knowledge base's errors; str() is a Chinese sentence for staff."""


class AnswerNotFound(KnowledgeError):
    def __init__(self, name: str) -> None:
        super().__init__(f"没有这个答复：{name}")
        self.name = name


class VersionNotFound(KnowledgeError):
    def __init__(self, name: str, number: int) -> None:
        super().__init__(f"答复 {name} 没有第 {number} 版")


class EditConflict(KnowledgeError):
    def __init__(self, name: str, expected: int, current: int) -> None:
        super().__init__(f"答复 {name} 刚被别人改过（现在是第 {current} 版，您改的是第 {expected} 版），"
                         "请刷新后再改")
        self.current = current


class InvalidAnswer(KnowledgeError):
    """An edit that cannot be saved (empty text, unknown field, stray brace …)."""


class UnknownField(KnowledgeError):
    def __init__(self, key: str) -> None:
        super().__init__(f"没有这个字段：{key}（新字段请同时填写中文名称）")
        self.key = key


class InvalidField(KnowledgeError):
    pass


class InvalidExample(KnowledgeError):
    pass

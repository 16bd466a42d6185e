"""Scoring the assistant on a labelled question file (shared/eval format)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.topics import OUT_OF_SCOPE, TopicResult, contract


class InvalidEvalFile(ValueError):
    """The evaluation file does not follow the questions format."""


@dataclass(frozen=True)
class Question:
    text: str
    topic: str
    also: tuple[str, ...] = ()


@dataclass
class Report:
    total: int = 0
    correct: int = 0
    per_topic: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    confusions: list[dict[str, Any]] = field(default_factory=list)
    oos_total: int = 0
    oos_declined: int = 0

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def oos_decline_rate(self) -> float:
        return self.oos_declined / self.oos_total if self.oos_total else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "correct": self.correct,
            "accuracy": round(self.accuracy, 4),
            "out_of_scope_declined": round(self.oos_decline_rate, 4),
            "per_topic": {
                k: {"correct": c, "total": t, "accuracy": round(c / t, 4)}
                for k, (c, t) in sorted(self.per_topic.items())
            },
            "confusions": self.confusions,
        }


def load_questions(path: Path) -> list[Question]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InvalidEvalFile(f"{path}: not valid YAML: {exc}") from exc
    items = doc.get("questions") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise InvalidEvalFile(f"{path}: expected a list under 'questions:'")
    known = contract()
    questions = []
    for i, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise InvalidEvalFile(f"{path}: question {i}: needs a 'text' string")
        topic, also = item.get("topic"), item.get("also") or []
        for key in [topic, *also]:
            if key not in known:
                raise InvalidEvalFile(f"{path}: question {i}: unknown topic key {key!r}")
        questions.append(Question(item["text"], str(topic), tuple(also)))
    return questions


def declined(result: TopicResult) -> bool:
    """Not answered as a union topic: declined, small talk, or a rephrase request."""
    return result.fallback or contract()[result.topic].kind in {"reject", "chitchat"}


async def evaluate(questions: list[Question],
                   classify: Callable[[str], Awaitable[TopicResult]]) -> Report:
    report = Report()
    for q in questions:
        result = await classify(q.text)
        ok = result.topic == q.topic or result.topic in q.also
        report.total += 1
        report.correct += ok
        report.per_topic[q.topic][0] += ok
        report.per_topic[q.topic][1] += 1
        if q.topic == OUT_OF_SCOPE:
            report.oos_total += 1
            report.oos_declined += declined(result)
        if not ok:
            report.confusions.append({"text": q.text, "expected": q.topic, "got": result.topic,
                                      "confidence": round(result.confidence, 3)})
    return report


def format_report(report: Report) -> str:
    lines = [f"{'topic':<20} {'acc':>6}  n"]
    for key, (c, t) in sorted(report.per_topic.items(), key=lambda kv: kv[1][0] / kv[1][1]):
        lines.append(f"{key:<20} {c / t:>6.2f}  {t}")
    if report.confusions:
        lines.append("")
        lines.append("confusions (expected → got):")
        pairs = Counter((c["expected"], c["got"]) for c in report.confusions)
        for row in report.confusions:
            lines.append(f"  {row['expected']} → {row['got']} ({row['confidence']}): {row['text']}")
        lines.append("most frequent: " + ", ".join(f"{a}→{b}×{n}" for (a, b), n in pairs.most_common(5)))
    lines.append("")
    lines.append(f"overall accuracy: {report.accuracy:.4f} ({report.correct}/{report.total})")
    if report.oos_total:
        lines.append(f"out_of_scope not answered as a union topic: {report.oos_decline_rate:.4f}")
    return "\n".join(lines)

"""Scoring the assistant on a labelled question file (shared/eval format).

Besides top-1 accuracy the report counts what a group of neighbours feels: answers on
the wrong topic given without asking back (confidently wrong), right answers held back
by a question back (needless fallbacks), out-of-scope chatter answered as a union
topic, non-labour legal questions answered as a union service, and labour disputes
that reach a labour topic. `sweep` replays the fallback decision at other thresholds
on the same predictions, which is how the thresholds in config.yml are chosen (on the
calibration set, never on the held-out set)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.topics import OUT_OF_SCOPE, TopicResult, contract, unsure

LEGAL_REFERRAL = "legal_referral"
LABOUR_TOPICS = frozenset({"labor_contract", "wage_arrears", "work_injury", "legal_aid",
                           "complaint_report", "women_workers"})
UNION_SERVICE_KINDS = frozenset({"faq", "lookup", "workflow"})


class InvalidEvalFile(ValueError):
    """The evaluation file does not follow the questions format."""


@dataclass(frozen=True)
class Question:
    text: str
    topic: str
    also: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    question: Question
    topic: str
    confidence: float
    margin: float
    fallback: bool

    @property
    def right(self) -> bool:
        return self.topic == self.question.topic or self.topic in self.question.also


def declined(topic: str, fallback: bool) -> bool:
    """Not answered as a union topic: declined, small talk, or a rephrase request."""
    return fallback or contract()[topic].kind in {"reject", "chitchat"}


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def _count(self, keep: Callable[[Outcome], bool],
               among: Callable[[Outcome], bool] = lambda o: True) -> tuple[int, int]:
        pool = [o for o in self.outcomes if among(o)]
        return sum(1 for o in pool if keep(o)), len(pool)

    @property
    def total(self) -> int:
        return len(self.outcomes)

    @property
    def correct(self) -> int:
        return sum(o.right for o in self.outcomes)

    @property
    def accuracy(self) -> float:
        return _rate(self.correct, self.total)

    @property
    def confidently_wrong_rate(self) -> float:
        """Wrong topic, answered without asking back, over all questions."""
        return _rate(*self._count(lambda o: not o.right and not o.fallback))

    @property
    def needless_fallback_rate(self) -> float:
        """Right topic, but asked back, over all questions."""
        return _rate(*self._count(lambda o: o.right and o.fallback))

    @property
    def oos_decline_rate(self) -> float:
        return _rate(*self._count(lambda o: declined(o.topic, o.fallback),
                                  lambda o: o.question.topic == OUT_OF_SCOPE))

    @property
    def legal_kept_out_rate(self) -> float:
        """Non-labour legal questions referred, kept out of scope or asked back: never
        answered as a union service."""
        return _rate(*self._count(
            lambda o: o.fallback or contract()[o.topic].kind not in UNION_SERVICE_KINDS,
            lambda o: o.question.topic == LEGAL_REFERRAL))

    @property
    def labour_to_labour_rate(self) -> float:
        return _rate(*self._count(lambda o: o.topic in LABOUR_TOPICS,
                                  lambda o: o.question.topic in LABOUR_TOPICS))

    def per_topic(self) -> dict[str, tuple[int, int]]:
        counts: dict[str, list[int]] = {}
        for o in self.outcomes:
            row = counts.setdefault(o.question.topic, [0, 0])
            row[0] += o.right
            row[1] += 1
        return {k: (c, t) for k, (c, t) in sorted(counts.items())}

    def confusions(self) -> list[dict[str, Any]]:
        return [{"text": o.question.text, "expected": o.question.topic, "got": o.topic,
                 "confidence": round(o.confidence, 3), "margin": round(o.margin, 3),
                 "fallback": o.fallback}
                for o in self.outcomes if not o.right]

    def figures(self) -> dict[str, float]:
        return {
            "accuracy": round(self.accuracy, 4),
            "confidently_wrong": round(self.confidently_wrong_rate, 4),
            "needless_fallback": round(self.needless_fallback_rate, 4),
            "out_of_scope_declined": round(self.oos_decline_rate, 4),
            "legal_kept_out": round(self.legal_kept_out_rate, 4),
            "labour_to_labour": round(self.labour_to_labour_rate, 4),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "correct": self.correct,
            **self.figures(),
            "per_topic": {k: {"correct": c, "total": t, "accuracy": round(c / t, 4)}
                          for k, (c, t) in self.per_topic().items()},
            "confusions": self.confusions(),
        }

    def replayed(self, threshold: float, ambiguity: float) -> Report:
        """The same predictions with the fallback decided at other thresholds."""
        return Report([Outcome(o.question, o.topic, o.confidence, o.margin,
                               unsure(o.confidence, o.margin, threshold, ambiguity))
                       for o in self.outcomes])


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


async def evaluate(questions: list[Question],
                   classify: Callable[[str], Awaitable[TopicResult]]) -> Report:
    report = Report()
    for q in questions:
        result = await classify(q.text)
        margin = result.confidence if result.margin is None else result.margin
        report.outcomes.append(Outcome(q, result.topic, result.confidence, margin,
                                       result.fallback))
    return report


@dataclass(frozen=True)
class SweepRow:
    threshold: float
    ambiguity: float
    figures: dict[str, float]
    total: int = 0   # questions the figures are over

    @property
    def wrong_bound(self) -> float:
        """The confidently-wrong rate one standard error above the observed one (Wilson
        score bound): on a few hundred questions the observed rate is off by about ±0.6
        points, so a threshold chosen right at the target misses it on new messages
        about half the time."""
        return wilson_upper(self.figures["confidently_wrong"], self.total)

    @property
    def cost(self) -> float:
        """A wrong answer in front of the whole group costs three questions back."""
        return 3 * self.figures["confidently_wrong"] + self.figures["needless_fallback"]


def sweep(report: Report, thresholds: Iterable[float] = (), ambiguities: Iterable[float] = (),
          ) -> list[SweepRow]:
    ts = list(thresholds) or [round(0.05 * i, 2) for i in range(1, 17)]
    ams = list(ambiguities) or [0.0, 0.02, 0.05, 0.1, 0.15, 0.2]
    return [SweepRow(t, a, report.replayed(t, a).figures(), report.total)
            for t in ts for a in ams]


ONE_SE = 1.0   # the bound lies one standard error above the observed rate


def wilson_upper(rate: float, n: int, z: float = ONE_SE) -> float:
    """Upper Wilson score bound of a proportion observed as `rate` over `n` trials."""
    if n <= 0:
        return rate
    centre = rate + z * z / (2 * n)
    spread = z * math.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n))
    return (centre + spread) / (1 + z * z / n)


def best(rows: list[SweepRow], max_wrong: float = 0.02) -> SweepRow:
    """The cheapest row whose confidently-wrong rate stays within `max_wrong` on unseen
    messages (one standard error above it, `SweepRow.wrong_bound`; the observed rate when the
    row does not say over how many questions); the cheapest row at all if none does."""
    within = [r for r in rows if r.wrong_bound <= max_wrong] or rows
    # equal figures: the more cautious row (the higher ambiguity threshold)
    return min(within, key=lambda r: (r.cost, -r.figures["accuracy"], r.threshold, -r.ambiguity))


def format_figures(report: Report) -> list[str]:
    f = report.figures()
    return [
        f"overall accuracy: {report.accuracy:.4f} ({report.correct}/{report.total})",
        f"confidently wrong (wrong topic, not asked back): {f['confidently_wrong']:.4f}",
        f"needless fallbacks (right topic, asked back): {f['needless_fallback']:.4f}",
        f"out_of_scope not answered as a union topic: {f['out_of_scope_declined']:.4f}",
        f"non-labour legal questions not answered as a union service: {f['legal_kept_out']:.4f}",
        f"labour disputes to a labour topic: {f['labour_to_labour']:.4f}",
    ]


def format_report(report: Report) -> str:
    lines = [f"{'topic':<20} {'acc':>6}  n"]
    for key, (c, t) in sorted(report.per_topic().items(), key=lambda kv: kv[1][0] / kv[1][1]):
        lines.append(f"{key:<20} {c / t:>6.2f}  {t}")
    confusions = report.confusions()
    if confusions:
        lines.append("")
        lines.append("confusions (expected → got, confidence, asked back?):")
        for row in confusions:
            ask = "asked back" if row["fallback"] else "ANSWERED"
            lines.append(f"  {row['expected']} → {row['got']} ({row['confidence']}, {ask}): "
                         f"{row['text']}")
        pairs = Counter((c["expected"], c["got"]) for c in confusions)
        lines.append("most frequent: " + ", ".join(f"{a}→{b}×{n}" for (a, b), n in pairs.most_common(5)))
    lines.append("")
    lines.extend(format_figures(report))
    return "\n".join(lines)


def format_sweep(rows: list[SweepRow], chosen: SweepRow) -> str:
    lines = [f"{'threshold':>9} {'ambig':>6} {'wrong':>7} {'bound':>7} {'needless':>8} {'cost':>6}"]
    for r in rows:
        mark = "  <- chosen" if r is chosen else ""
        lines.append(f"{r.threshold:>9.2f} {r.ambiguity:>6.2f} {r.figures['confidently_wrong']:>7.3f}"
                     f" {r.wrong_bound:>7.3f} {r.figures['needless_fallback']:>8.3f}"
                     f" {r.cost:>6.3f}{mark}")
    return "\n".join(lines)

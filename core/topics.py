"""The topic contract (`core/topics.yml`, a copy of shared/spec/topics.yml) and the
mapping from a Rasa parse result to exactly one topic key.

FAQ topics are the retrieval intent `faq/<key>`; every other topic is a plain
intent named like its key. A fallback reports the key it fell back from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

RETRIEVAL_INTENT = "faq"
FALLBACK_INTENT = "nlu_fallback"
OUT_OF_SCOPE = "out_of_scope"
# A short follow-up ("那要带啥材料？") is about the topic the same asker was answered on
# within this many seconds (actions.answers answers it; insight counts it under it).
FOLLOW_UP_INTENT = "follow_up"
FOLLOW_UP_WINDOW = 10 * 60.0
ANSWERABLE_KINDS = frozenset({"faq", "referral", "lookup"})   # what a follow-up can be about


@dataclass(frozen=True)
class Topic:
    key: str
    kind: str
    zh: str
    about: str


@dataclass(frozen=True)
class TopicResult:
    topic: str
    confidence: float
    fallback: bool  # True when NLU was not confident enough to answer directly
    margin: float | None = None  # lead over the runner-up topic, where the model reports it


@lru_cache(maxsize=1)
def contract() -> dict[str, Topic]:
    text = resources.files("core").joinpath("topics.yml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)["topics"]
    return {key: Topic(key=key, **value) for key, value in raw.items()}


def answerable(topic: str) -> bool:
    """Whether a follow-up can be about the topic (an answer, a referral or a lookup)."""
    known = contract().get(topic)
    return known is not None and known.kind in ANSWERABLE_KINDS


def intent_for(topic: str) -> str:
    """The Rasa intent that carries a topic (FAQ topics are retrieval sub-intents)."""
    t = contract()[topic]
    return f"{RETRIEVAL_INTENT}/{topic}" if t.kind == "faq" else topic


def topic_from_intent(intent: str | None) -> str:
    """Map an intent or a full retrieval intent (faq/join_union) to a contract key."""
    if not intent:
        return OUT_OF_SCOPE
    key = intent.split("/", 1)[1] if intent.startswith(RETRIEVAL_INTENT + "/") else intent
    return key if key in contract() else OUT_OF_SCOPE


def _selected(parse: Mapping[str, Any]) -> tuple[str | None, float]:
    selector = (parse.get("response_selector") or {}).get(RETRIEVAL_INTENT) or {}
    response = selector.get("response") or {}
    return response.get("intent_response_key"), float(response.get("confidence") or 0.0)


def topic_of(parse: Mapping[str, Any]) -> TopicResult:
    """One topic for a parse result (`Agent.parse_message` / tracker latest_message)."""
    intent = parse.get("intent") or {}
    name = intent.get("name")
    confidence = float(intent.get("confidence") or 0.0)
    fallback = name == FALLBACK_INTENT
    if fallback:
        ranking = [r for r in parse.get("intent_ranking") or [] if r.get("name") != FALLBACK_INTENT]
        if not ranking:
            return TopicResult(OUT_OF_SCOPE, 0.0, True)
        name, confidence = ranking[0]["name"], float(ranking[0].get("confidence") or 0.0)
    if name == RETRIEVAL_INTENT:
        key, selector_confidence = _selected(parse)
        name, confidence = key, confidence * selector_confidence
    calibrated = parse.get("calibration") or {}
    if "confidence" in calibrated:  # the figures the decision to answer was taken on
        # On a fallback the ranking holds the model's own intents; the calibrated topic
        # is what both classifiers together rank first, the best guess to report.
        topic = calibrated.get("topic")
        return TopicResult(topic if topic in contract() else topic_from_intent(name),
                           float(calibrated["confidence"]), fallback,
                           float(calibrated.get("margin", 0.0)))
    return TopicResult(topic_from_intent(name), confidence, fallback)


def ranked_topics(parse: Mapping[str, Any]) -> list[tuple[str, float]]:
    """Every candidate topic with the confidence of what would be answered, best first:
    a plain intent's confidence, or for FAQ topics the `faq` intent's confidence times
    the response selector's confidence in that topic."""
    scored: dict[str, float] = {}
    faq_confidence = 0.0
    for item in parse.get("intent_ranking") or []:
        name = item.get("name")
        if name == RETRIEVAL_INTENT:
            faq_confidence = float(item.get("confidence") or 0.0)
        elif name != FALLBACK_INTENT:
            key = topic_from_intent(name)
            scored[key] = max(scored.get(key, 0.0), float(item.get("confidence") or 0.0))
    selector = (parse.get("response_selector") or {}).get(RETRIEVAL_INTENT) or {}
    for item in selector.get("ranking") or []:
        key = topic_from_intent(item.get("intent_response_key"))
        scored[key] = max(scored.get(key, 0.0), faq_confidence * float(item.get("confidence") or 0.0))
    return sorted(scored.items(), key=lambda kv: kv[1], reverse=True)


RANKED = 5  # candidates kept in the calibration's ranking (choices asked back come from it)


@dataclass(frozen=True)
class Calibration:
    """The answer NLU would give (its topic and combined confidence), how far ahead of
    the runner-up it is, and whether that is too unsure to answer."""
    topic: str
    confidence: float
    margin: float
    fallback: bool
    ranking: tuple[tuple[str, float], ...] = ()  # the best few candidates, best first

    def as_dict(self) -> dict[str, Any]:
        return {"topic": self.topic, "confidence": round(self.confidence, 4),
                "margin": round(self.margin, 4), "fallback": self.fallback,
                "ranking": [[k, round(v, 4)] for k, v in self.ranking]}


def unsure(confidence: float, margin: float, threshold: float, ambiguity: float) -> bool:
    return confidence < threshold or margin < ambiguity


def calibrate(parse: Mapping[str, Any], threshold: float, ambiguity: float,
              second: Mapping[str, float] | None = None) -> Calibration:
    """Decide on the confidence of what would actually be answered (`topic_of`: for FAQ
    topics the intent's confidence times the selector's), and on its lead over the best
    other candidate (`ranked_topics`): `faq` at 0.95 with the selector split 0.4/0.4
    between two topics is unsure, and so is an answer another topic outscores.

    `second` is a second opinion (topic → probability from independent classifiers):
    each topic's score is then `combined_scores`, so an answer they disagree on loses
    its lead however sure the model is."""
    answered = topic_of(parse)
    scores = dict(ranked_topics(parse))
    scores.setdefault(answered.topic, answered.confidence)
    if second is not None:
        scores = combined_scores(parse, second)
        scores.setdefault(answered.topic, 0.0)
    confidence = scores[answered.topic] if second is not None else answered.confidence
    others = [v for k, v in scores.items() if k != answered.topic]
    margin = confidence - max(others, default=0.0)
    best = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)[:RANKED]
    return Calibration(answered.topic, confidence, margin,
                       unsure(confidence, margin, threshold, ambiguity), tuple(best))


def combined_scores(parse: Mapping[str, Any], second: Mapping[str, float]) -> dict[str, float]:
    """Each topic's score: the model's (`ranked_topics`) and the second opinion's, which
    is itself the mean of two classifiers (bot.nlu.SecondOpinion), so that each of the
    three counts a third."""
    scores = dict(ranked_topics(parse))
    return {k: (scores.get(k, 0.0) + 2 * float(second.get(k, 0.0))) / 3
            for k in set(scores) | set(second)}


def answer_with(parse: Mapping[str, Any], topic: str) -> dict[str, Any]:
    """The parse result changed to answer `topic`: its intent (with the confidence the
    model gave it) and, for FAQ topics, the selector's response for it."""
    result = dict(parse)
    confidences = {r.get("name"): float(r.get("confidence") or 0.0)
                   for r in parse.get("intent_ranking") or []}
    intent = intent_for(topic)
    if not intent.startswith(RETRIEVAL_INTENT + "/"):
        result["intent"] = {"name": intent, "confidence": confidences.get(intent, 0.0)}
        return result
    result["intent"] = {"name": RETRIEVAL_INTENT,
                        "confidence": confidences.get(RETRIEVAL_INTENT, 0.0)}
    selectors = dict(parse.get("response_selector") or {})
    selector = dict(selectors.get(RETRIEVAL_INTENT) or {})
    ranking = {r.get("intent_response_key"): float(r.get("confidence") or 0.0)
               for r in selector.get("ranking") or []}
    selector["response"] = {**(selector.get("response") or {}), "intent_response_key": intent,
                            "utter_action": f"utter_{intent}",
                            "confidence": ranking.get(intent, 0.0)}
    selectors[RETRIEVAL_INTENT] = selector
    result["response_selector"] = selectors
    return result


def suggestions(parse: Mapping[str, Any], limit: int = 3) -> list[str]:
    """Closest contract topics (excluding chit-chat and out_of_scope), best first: in
    the order the calibrated fallback ranked them (both classifiers), else the model's."""
    ranked = (parse.get("calibration") or {}).get("ranking") or ranked_topics(parse)
    useful = [k for k, _ in ranked
              if k in contract() and contract()[k].kind in {"faq", "lookup", "workflow", "referral"}]
    return useful[:limit]

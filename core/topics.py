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


@lru_cache(maxsize=1)
def contract() -> dict[str, Topic]:
    text = resources.files("core").joinpath("topics.yml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)["topics"]
    return {key: Topic(key=key, **value) for key, value in raw.items()}


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
        return TopicResult(topic_from_intent(key), confidence * selector_confidence, fallback)
    return TopicResult(topic_from_intent(name), confidence, fallback)


def suggestions(parse: Mapping[str, Any], limit: int = 3) -> list[str]:
    """Closest contract topics (excluding chit-chat and out_of_scope), best first."""
    scored: dict[str, float] = {}
    faq_confidence = 0.0
    for item in parse.get("intent_ranking") or []:
        if item.get("name") == RETRIEVAL_INTENT:
            faq_confidence = float(item.get("confidence") or 0.0)
        elif item.get("name") != FALLBACK_INTENT:
            scored[topic_from_intent(item.get("name"))] = float(item.get("confidence") or 0.0)
    selector = (parse.get("response_selector") or {}).get(RETRIEVAL_INTENT) or {}
    for item in selector.get("ranking") or []:
        key = topic_from_intent(item.get("intent_response_key"))
        scored[key] = max(scored.get(key, 0.0), faq_confidence * float(item.get("confidence") or 0.0))
    useful = [
        k for k, _ in sorted(scored.items(), key=lambda kv: kv[1], reverse=True)
        if contract()[k].kind in {"faq", "lookup", "workflow", "referral"}
    ]
    return useful[:limit]

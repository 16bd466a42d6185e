"""The training data and answer texts honour the topic contract and the rules
for what users may read (Simplified Chinese, only the public hotlines)."""

import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

import pytest
import yaml
from opencc import OpenCC

from core.topics import contract, intent_for

ROOT = Path(__file__).resolve().parents[2]
ALLOWED_NUMBERS = {"12351", "12333", "12348", "12345"}
CRISIS_LINES = {"12356"}  # only in the counselling answers (knowledge facts)


def _examples() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
            if "intent" in block:
                lines = [x.strip()[2:].strip() for x in block["examples"].splitlines()
                         if x.strip().startswith("- ")]
                found.setdefault(block["intent"], []).extend(lines)
    return found


def _responses() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in [*sorted((ROOT / "data").rglob("*.yml")), ROOT / "domain.yml"]:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for name, variants in (doc.get("responses") or {}).items():
            found.setdefault(name, []).extend(v["text"] for v in variants if "text" in v)
    return found


def test_every_topic_has_at_least_30_distinct_examples() -> None:
    examples = _examples()
    for key in contract():
        texts = examples.get(intent_for(key), [])
        assert len(set(texts)) >= 30, f"{key}: only {len(set(texts))} examples"


def test_no_example_is_labelled_twice() -> None:
    owner: dict[str, str] = {}
    for intent, texts in _examples().items():
        for t in texts:
            assert owner.setdefault(t, intent) == intent, f"{t!r} in {owner[t]} and {intent}"


# Intents that are not topics: a follow-up ("那要带啥材料？") reports the topic it
# follows up (actions/answers.py).
INTERNAL_INTENTS = {"follow_up"}


def test_no_intent_outside_the_contract() -> None:
    allowed = {intent_for(k) for k in contract()} | INTERNAL_INTENTS
    assert set(_examples()) <= allowed


EVALUATION_SETS = ["dev_questions.yml", "heldout_questions.yml", "calibration_questions.yml",
                   "calibration2_questions.yml"]


def _same_text(text: str) -> str:
    """What the model sees of a text, without spaces and punctuation: "@云博士 你好！" and
    "你好" are the same example."""
    from core.normalize import normalize

    return re.sub(r"[\s\W_]+", "", normalize(text))


@lru_cache(maxsize=1)
def _training_texts() -> tuple[tuple[str, str], ...]:
    """Every training example with its `_same_text`, computed once for all the sets."""
    return tuple((t, _same_text(t)) for texts in _examples().values() for t in texts)


@pytest.mark.parametrize("name", EVALUATION_SETS)
def test_training_data_does_not_copy_an_evaluation_set(name: str) -> None:
    # The held-out and calibration sets measure unseen messages: a training example that
    # is one of them (even with another mention, spacing or punctuation) would not be.
    doc = yaml.safe_load((ROOT / "tests" / "data" / name).read_text(encoding="utf-8"))
    held = {_same_text(q["text"]) for q in doc["questions"]}
    copied = [t for t, same in _training_texts() if same in held]
    assert not copied, f"{len(copied)} training examples copy {name}: {copied[:5]}"


def test_some_examples_are_traditional_chinese() -> None:
    t2s = OpenCC("t2s")
    texts = [t for texts in _examples().values() for t in texts]
    traditional = sum(t2s.convert(t) != t for t in texts)
    assert traditional / len(texts) > 0.03


def test_every_faq_and_referral_topic_has_an_answer() -> None:
    responses = _responses()
    for key, topic in contract().items():
        if topic.kind in {"faq", "referral", "chitchat"}:
            assert responses.get(f"utter_{intent_for(key)}"), f"no answer for {key}"
    assert responses.get("utter_out_of_scope")


def test_answers_name_only_public_hotlines_and_fit_a_phone_screen() -> None:
    t2s = OpenCC("t2s")
    for name, texts in _responses().items():
        for text in texts:
            numbers = set(re.findall(r"\d{5,}", text))
            allowed = ALLOWED_NUMBERS | (CRISIS_LINES if "psych_counseling" in name else set())
            assert numbers <= allowed, f"{name}: {numbers - allowed}"
            assert len(text) <= 400, f"{name}: {len(text)} characters"
            assert t2s.convert(text) == text, f"{name}: not Simplified Chinese"


def test_examples_are_varied_in_length() -> None:
    lengths = Counter()
    for texts in _examples().values():
        for t in texts:
            lengths["short" if len(t) <= 6 else "long" if len(t) >= 30 else "normal"] += 1
    total = sum(lengths.values())
    assert lengths["short"] / total > 0.05
    assert lengths["long"] / total > 0.10

"""Custom Rasa NLU components.

`TextNormalizer` runs first in the pipeline (see config.yml) and rewrites the
message text with `core.normalize.Normalizer`, in training and at inference. The
raw text is kept under `original_text`. The corrections file (common typos such
as 公会→工会) is copied into the model so a trained model is self-contained.

`AddressGazetteer` fills the `address` entity from the live grid directory (not
from training data: importing a new directory takes effect without retraining).
Its entity carries the resolution (`grids.lookup.Resolution.as_json`) so that the
grid actions reuse it instead of resolving the address again.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import RESPONSE_SELECTOR_PROPERTY_NAME
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from core.normalize import DEFAULT_BOT_NAMES, Normalizer, load_corrections
from grids.directory import DirectoryError
from grids.lookup import NOT_FOUND, Resolution

logger = logging.getLogger(__name__)

ORIGINAL_TEXT = "original_text"
ENTITY = "address"
RESOLUTION = "resolution"   # key of the entity that carries the resolution
_CORRECTIONS_FILE = "corrections.txt"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class TextNormalizer(GraphComponent):
    """Traditional→Simplified, full→half width, strip @bot, emoji, repeated punctuation."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"bot_names": list(DEFAULT_BOT_NAMES), "corrections_path": None}

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage,
                 resource: Resource, corrections: dict[str, str]) -> None:
        self._config = config
        self._storage = model_storage
        self._resource = resource
        self._corrections = corrections
        self._normalizer = Normalizer(tuple(config["bot_names"]), corrections)

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage,
               resource: Resource, execution_context: ExecutionContext) -> TextNormalizer:
        corrections: dict[str, str] = {}
        path = config.get("corrections_path")
        if path:
            corrections = load_corrections(Path(path).read_text(encoding="utf-8").splitlines())
        return cls(config, model_storage, resource, corrections)

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> TextNormalizer:
        corrections: dict[str, str] = {}
        try:
            with model_storage.read_from(resource) as directory:
                lines = (directory / _CORRECTIONS_FILE).read_text(encoding="utf-8").splitlines()
                corrections = load_corrections(lines)
        except (ValueError, FileNotFoundError):
            logger.debug("No corrections stored with the model; normalising without them.")
        return cls(config, model_storage, resource, corrections)

    def train(self, training_data: TrainingData) -> Resource:
        with self._storage.write_to(self._resource) as directory:
            text = "".join(f"{wrong}\t{right}\n" for wrong, right in self._corrections.items())
            (directory / _CORRECTIONS_FILE).write_text(text, encoding="utf-8")
        return self._resource

    def _apply(self, message: Message) -> None:
        text = message.get(TEXT)
        if not isinstance(text, str) or text.startswith("/"):
            return
        if message.get(ORIGINAL_TEXT) is None:
            message.set(ORIGINAL_TEXT, text, add_to_output=True)
        message.set(TEXT, self._normalizer.normalize(text))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            self._apply(example)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._apply(message)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class AddressGazetteer(GraphComponent):
    """Finds estate (and street/community) names with building numbers in a message."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"database_url": None, "min_confidence": 0.3, "refresh_seconds": 30}

    def __init__(self, config: dict[str, Any]) -> None:
        self._config = config
        self._service: Any = None
        self._warned = False

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> AddressGazetteer:
        return cls(config)

    def _get_service(self) -> Any:
        if self._service is None:
            from grids.service import service_for

            url = self._config.get("database_url")
            if not url:
                from core.settings import Settings

                url = Settings.current().database_url
            self._service = service_for(url)
            self._service.refresh_seconds = float(self._config.get("refresh_seconds", 30))
        return self._service

    def _resolve(self, text: str) -> Resolution | None:
        try:
            return self._get_service().resolve(text)
        except DirectoryError as exc:
            if not self._warned:
                logger.warning("AddressGazetteer: no directory, no address entities (%s)", exc)
                self._warned = True
            return None

    def entity_for(self, text: str) -> dict[str, Any] | None:
        """The `address` entity of `text`, or None."""
        if not text or text.startswith("/"):
            return None
        resolution = self._resolve(text)
        if resolution is None or resolution.status == NOT_FOUND or resolution.span is None:
            return None
        if not any(c.estate_code or c.community_code or c.street_code
                   for c in resolution.candidates):
            return None
        confidence = sum(c.confidence for c in resolution.candidates)
        if confidence < float(self._config.get("min_confidence", 0.3)):
            return None
        start, end = resolution.span
        return {"entity": ENTITY, "start": start, "end": end, "value": text[start:end],
                "confidence_entity": round(min(confidence, 1.0), 4),
                "extractor": self.__class__.__name__,
                # The grid actions answer from this instead of resolving again.
                RESOLUTION: resolution.as_dict()}

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str):
                continue
            entity = self.entity_for(text)
            if entity is not None:
                entities = [e for e in message.get(ENTITIES, []) if e.get("entity") != ENTITY]
                message.set(ENTITIES, [*entities, entity], add_to_output=True)
        return messages


CALIBRATION = "calibration"   # parse key: the answer's topic, confidence, margin, fallback


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class CalibratedFallback(GraphComponent):
    """Rasa's FallbackClassifier, deciding on what is actually answered: placed after
    the ResponseSelector and `SecondOpinion`, it predicts `nlu_fallback` when the
    combined confidence of the answer (intent × response selector for FAQ topics,
    averaged with the second opinion: `core.topics.calibrate`) is below `threshold` or
    leads the runner-up by less than `ambiguity_threshold`. The rules
    then ask back with the closest topics, as with the FallbackClassifier. The figures
    go to the parse result under `calibration` (for `cloud-doctor eval`)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"threshold": 0.4, "ambiguity_threshold": 0.2}

    def __init__(self, config: dict[str, Any]) -> None:
        self._threshold = float(config["threshold"])
        self._ambiguity = float(config["ambiguity_threshold"])

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> CalibratedFallback:
        return cls(config)

    def process(self, messages: list[Message]) -> list[Message]:
        from core.topics import (
            FALLBACK_INTENT,
            RETRIEVAL_INTENT,
            answer_with,
            calibrate,
            combined_scores,
            topic_of,
        )

        for message in messages:
            intent = message.get(INTENT)
            if not intent or message.get(TEXT, "").startswith("/"):
                continue  # no classifier ran, or an explicit /intent payload
            ranking = list(message.get(INTENT_RANKING_KEY) or [])
            parse = {"intent": intent, "intent_ranking": ranking,
                     "response_selector": message.get(RESPONSE_SELECTOR_PROPERTY_NAME) or {}}
            second = message.get(SECOND_OPINION)
            second = second if isinstance(second, dict) and second else None
            if second is not None and not message.get(QUESTIONS):
                # Answer what both classifiers together rank first.
                scores = combined_scores(parse, second)
                choice = max(scores, key=lambda k: scores[k])
                if choice != topic_of(parse).topic:
                    parse = answer_with(parse, choice)
                    message.set(INTENT, parse["intent"], add_to_output=True)
                    message.set(RESPONSE_SELECTOR_PROPERTY_NAME, parse["response_selector"],
                                add_to_output=True)
            result = calibrate(parse, self._threshold, self._ambiguity, second)
            if message.get(QUESTIONS):  # several clear questions: each is answered
                faq = {"name": RETRIEVAL_INTENT, "confidence": intent.get("confidence", 0.0)}
                message.set(INTENT, faq, add_to_output=True)
                result = replace(result, fallback=False)
            message.set(CALIBRATION, result.as_dict(), add_to_output=True)
            if result.fallback:
                fallback = {"name": FALLBACK_INTENT, "confidence": round(result.confidence, 4)}
                message.set(INTENT, fallback, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [fallback, *ranking], add_to_output=True)
        return messages


def _words(text: str) -> list[str]:
    """jieba's words (a module-level function, so the trained pipeline pickles)."""
    import jieba

    return jieba.lcut(text)


class _Pair:
    """Two classifiers of the same labels whose probabilities are averaged: character
    n-grams (robust to typos) and jieba words with bigrams (robust to word order)."""

    def __init__(self, chars: Any, words: Any) -> None:
        self.chars, self.words = chars, words
        self.classes_ = chars.classes_
        assert list(words.classes_) == list(self.classes_)

    def predict_proba(self, texts: list[str]) -> Any:
        return (_probabilities(self.chars, texts) + _probabilities(self.words, texts)) / 2


def _probabilities(pipeline: Any, texts: list[str]) -> Any:
    """A TF-IDF + multinomial logistic regression pipeline's `predict_proba`, without its
    per-call cost: sklearn multiplies the sparse features by `coef_.T`, which numpy copies
    into a contiguous array (30 topics × 30,000 n-grams) on every call, 2-3 ms of each
    parse. The transposed weights are made contiguous once and kept with the model."""
    import numpy as np

    if not hasattr(pipeline, "steps"):  # another fitted classifier
        return pipeline.predict_proba(texts)
    vectorizer, model = pipeline[0], pipeline[-1]
    weights = getattr(model, "cloud_doctor_weights_", None)
    if weights is None:
        weights = np.ascontiguousarray(model.coef_.T)
        model.cloud_doctor_weights_ = weights
    scores = np.asarray(vectorizer.transform(texts) @ weights) + model.intercept_
    scores -= scores.max(axis=1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=1, keepdims=True)
    return scores


QUESTIONS = "questions"   # parse key: the topics of a message that asks several
SECOND_OPINION = "second_opinion"   # parse key: topic → probability, the second classifier
_CLAUSE_END = "？?。！!；;\n"
_CLAUSE_BREAKS = ("另外", "还有就是", "还有", "顺便问下", "顺便问一下", "再问一下", "再问下")


def clauses(text: str, min_chars: int = 3) -> list[str]:
    """The question-sized parts of a message: split at sentence ends and at words that
    start another question ("另外", "还有"), parts shorter than `min_chars` dropped."""
    for word in _CLAUSE_BREAKS:
        text = text.replace(word, "\n")
    parts, current = [], []
    for char in text:
        current.append(char)
        if char in _CLAUSE_END:
            parts.append("".join(current))
            current = []
    parts.append("".join(current))
    cleaned = [p.strip(" ，," + _CLAUSE_END) for p in parts]
    return [p for p in cleaned if len(p) >= min_chars]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class SecondOpinion(GraphComponent):
    """A second opinion on the topic, independent of DIET: two logistic regressions on
    TF-IDF (character 1-3-grams; jieba words and bigrams) trained on the same data in
    seconds, their probabilities averaged (well spread, unlike DIET's).

    - On the whole message it gives `second_opinion` (topic → probability, best few),
      which `CalibratedFallback` averages with DIET's and the response selector's
      scores: where the two disagree the answer loses its lead and the assistant asks
      back instead of answering the wrong topic with confidence.
    - On each clause of a message that asks several union questions ("会费交多少？
      怎么入会？") it sets `questions` to the distinct FAQ or referral topics the clauses
      are confidently about, in the order asked, so `action_answer_faq` answers each."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"min_probability": 0.55, "max_questions": 2, "opinions": 5}

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage,
                 resource: Resource, model: Any = None) -> None:
        self._config = config
        self._storage = model_storage
        self._resource = resource
        self._model = model

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> SecondOpinion:
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> SecondOpinion:
        import joblib

        model = None
        try:
            with model_storage.read_from(resource) as directory:
                model = joblib.load(directory / "second_opinion.joblib")
        except (ValueError, FileNotFoundError):
            logger.warning("SecondOpinion: no classifier stored with the model; "
                           "every message is taken as one question.")
        return cls(config, model_storage, resource, model)

    def train(self, training_data: TrainingData) -> Resource:
        import joblib
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        from core.topics import topic_from_intent

        texts, labels = [], []
        for example in training_data.intent_examples:
            intent = example.get("intent_response_key") or example.get(INTENT)
            text = example.get(TEXT)
            if isinstance(text, str) and intent:
                texts.append(text)
                labels.append(topic_from_intent(str(intent)))
        chars = make_pipeline(
            TfidfVectorizer(analyzer="char", ngram_range=(1, 3), min_df=2, sublinear_tf=True),
            LogisticRegression(max_iter=2000, C=10.0),
        )
        words = make_pipeline(
            TfidfVectorizer(tokenizer=_words, token_pattern=None, ngram_range=(1, 2),
                            sublinear_tf=True),
            LogisticRegression(max_iter=2000, C=10.0),
        )
        # The two fits side by side (about 10 s of a training run saved on 2 cores).
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=2) as pool:
            for fitted in [pool.submit(m.fit, texts, labels) for m in (chars, words)]:
                fitted.result()
        self._model = model = _Pair(chars, words)
        with self._storage.write_to(self._resource) as directory:
            joblib.dump(model, directory / "second_opinion.joblib")
        return self._resource

    def topics(self, text: str) -> list[str]:
        """The distinct answerable topics asked clause by clause, or [] for one question."""
        from core.topics import contract

        parts = clauses(text)
        if self._model is None or len(parts) < 2:
            return []
        found: list[str] = []
        floor = float(self._config["min_probability"])
        for probabilities in self._model.predict_proba(parts):
            best = int(probabilities.argmax())
            topic = str(self._model.classes_[best])
            if (probabilities[best] >= floor and topic not in found
                    and contract()[topic].kind in {"faq", "referral"}):
                found.append(topic)
        return found[: int(self._config["max_questions"])] if len(found) >= 2 else []

    def opinion(self, text: str) -> dict[str, float]:
        """The best few topics of the whole message with their probabilities."""
        if self._model is None:
            return {}
        probabilities = self._model.predict_proba([text])[0]
        best = probabilities.argsort()[::-1][: int(self._config["opinions"])]
        return {str(self._model.classes_[i]): round(float(probabilities[i]), 4) for i in best}

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str) or text.startswith("/") or self._model is None:
                continue
            message.set(SECOND_OPINION, self.opinion(text), add_to_output=True)
            topics = self.topics(text)
            if topics:
                message.set(QUESTIONS, topics, add_to_output=True)
        return messages

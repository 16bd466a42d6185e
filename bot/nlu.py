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
from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, TEXT
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

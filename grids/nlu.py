"""`AddressGazetteer`: a Rasa NLU entity extractor for addresses (`address` entity).

Not trainable, by design: the gazetteer comes from the live grid directory, not
from the training data, so importing a new directory takes effect without
retraining (the service reloads when the directory's revision changes, checked
every `refresh_seconds`). The directory is read on the first message, not when
the model loads, and a missing or empty directory only means no entity.

Put it after `bot.nlu.TextNormalizer` (it reads the normalised text):

    - name: grids.nlu.AddressGazetteer
      # database_url: defaults to Settings.from_env().database_url (DATABASE_URL)
      # min_confidence: 0.3
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from grids.directory import DirectoryError
from grids.lookup import NOT_FOUND, Resolution

logger = logging.getLogger(__name__)

ENTITY = "address"


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
                from bot.settings import Settings

                url = Settings.from_env().database_url
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
                "extractor": self.__class__.__name__}

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

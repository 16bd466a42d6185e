"""Custom Rasa NLU components.

`TextNormalizer` runs first in the pipeline (see config.yml) and rewrites the
message text with `bot.normalize.Normalizer`, in training and at inference. The
raw text is kept under `original_text`. The corrections file (common typos such
as 公会→工会) is copied into the model so a trained model is self-contained.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.normalize import DEFAULT_BOT_NAMES, Normalizer, load_corrections

logger = logging.getLogger(__name__)

ORIGINAL_TEXT = "original_text"
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

"""Training-data importer (config.yml `importers:`).

Rasa adds retrieval intents (faq/<topic>) to the domain from the NLU data, so
`faq` must not be listed in domain.yml (that triggers a duplicate-intent
warning). Plain RasaFileImporter, however, reads stories and rules against the
bare domain and warns that `faq` is unknown. This importer reads them against
the domain plus the retrieval intents, so validation and training are warning-free.

It also adds the training examples staff added in the knowledge base (from the
"could not answer" queue): FAQ topics as `faq/<topic>` retrieval examples, the
others under their intent (`core.topics.intent_for`). `bot.training.train` pins the
examples it fingerprinted (`pinned_examples`), so the model is named after exactly
the data it was trained on; otherwise (`rasa data validate`, a bare `rasa train`)
they are read from `DATABASE_URL`. Without a database the data is exactly data/.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Sequence

from rasa.shared.core.domain import Domain
from rasa.shared.core.training_data.structures import StoryGraph
from rasa.shared.importers import utils
from rasa.shared.importers.rasa import RasaFileImporter
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from knowledge.model import Example

logger = logging.getLogger(__name__)
_pinned: tuple[Example, ...] | None = None
_pin_lock = threading.Lock()


@contextlib.contextmanager
def pinned_examples(examples: Sequence[Example]) -> Iterator[None]:
    """Within the block every CloudDoctorImporter uses `examples` (not the database)."""
    global _pinned
    with _pin_lock:
        previous, _pinned = _pinned, tuple(examples)
    try:
        yield
    finally:
        with _pin_lock:
            _pinned = previous


def _knowledge_examples() -> tuple[Example, ...]:
    if _pinned is not None:
        return _pinned
    from bot.kb import training_examples
    from core.settings import Settings

    return tuple(training_examples(Settings.current().database_url))


class CloudDoctorImporter(RasaFileImporter):
    _nlu_cache: dict[str | None, TrainingData]

    def _story_domain(self) -> Domain:
        domain = self.get_domain()
        missing = sorted(set(self.get_nlu_data().retrieval_intents) - set(domain.intents))
        if not missing:
            return domain
        return domain.merge(Domain.from_dict({"intents": missing}))

    def get_nlu_data(self, language: str | None = "en") -> TrainingData:
        cache = self.__dict__.setdefault("_nlu_cache", {})
        if language not in cache:
            cache[language] = with_examples(super().get_nlu_data(language),
                                            _knowledge_examples())
        return cache[language]

    def get_stories(self, exclusion_percentage: int | None = None) -> StoryGraph:
        return utils.story_graph_from_paths(
            self._story_files, self._story_domain(), exclusion_percentage
        )

    def get_conversation_tests(self) -> StoryGraph:
        return utils.story_graph_from_paths(self._conversation_test_files, self._story_domain())


def with_examples(data: TrainingData, examples: Sequence[Example]) -> TrainingData:
    """`data` plus the knowledge base's examples (a text data/ already has is skipped)."""
    if not examples:
        return data
    known = {m.get(TEXT) for m in data.training_examples}
    added = [Message.build(text=e.text, intent=e.intent) for e in examples if e.text not in known]
    if len(added) < len(examples):
        logger.info("%d knowledge-base examples are already in data/nlu",
                    len(examples) - len(added))
    return data.merge(TrainingData(training_examples=added))

"""Training-data importer (config.yml `importers:`).

Rasa adds retrieval intents (faq/<topic>) to the domain from the NLU data, so
`faq` must not be listed in domain.yml (that triggers a duplicate-intent
warning). Plain RasaFileImporter, however, reads stories and rules against the
bare domain and warns that `faq` is unknown. This importer reads them against
the domain plus the retrieval intents, so validation and training are warning-free.
"""

from __future__ import annotations

from rasa.shared.core.domain import Domain
from rasa.shared.core.training_data.structures import StoryGraph
from rasa.shared.importers import utils
from rasa.shared.importers.rasa import RasaFileImporter


class CloudDoctorImporter(RasaFileImporter):
    def _story_domain(self) -> Domain:
        domain = self.get_domain()
        missing = sorted(set(self.get_nlu_data().retrieval_intents) - set(domain.intents))
        if not missing:
            return domain
        return domain.merge(Domain.from_dict({"intents": missing}))

    def get_stories(self, exclusion_percentage: int | None = None) -> StoryGraph:
        return utils.story_graph_from_paths(
            self._story_files, self._story_domain(), exclusion_percentage
        )

    def get_conversation_tests(self) -> StoryGraph:
        return utils.story_graph_from_paths(self._conversation_test_files, self._story_domain())

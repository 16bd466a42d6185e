"""Rasa's responses from the knowledge base: a custom NaturalLanguageGenerator,
configured in the endpoints file as

    nlg:
      type: bot.nlg.KnowledgeBaseNLG
      url: <DATABASE_URL>

Rasa builds it in-process (`rasa.core.nlg.generator`: `type` is a class path, called
with `endpoint_config=` and `domain=`), so the Rasa server answers without the staff
process. Every response goes through `generate()`: the rules' `utter_*`, the
ResponseSelector's `utter_faq/<topic>` (ActionRetrieveResponse sets the full name,
then ActionBotResponse asks the NLG) and `dispatcher.utter_message(response=…)` of
custom actions (RemoteAction._utter_responses).

The answers are cached: at most once a second (`check_every`) one indexed read of
the revision in `kb_state`, in a worker thread; only when it changed are all answers
and fields read again. Variations, channels, conditions and `{slot}` filling are
Rasa's own (TemplatedNaturalLanguageGenerator); `[[field]]`s are filled after that.
When the database is unreachable (or not created yet) the last answers read are
used, or, before any, the domain's template texts; this is logged once per outage,
and retried every `retry_after` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rasa.core.nlg import NaturalLanguageGenerator, TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy.engine import make_url

from bot.kb import existing_knowledge_base
from core.settings import Settings
from knowledge import files, placeholders
from knowledge.model import Field
from knowledge.service import KnowledgeBase, default_fields

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Answers:
    revision: int
    generator: TemplatedNaturalLanguageGenerator
    fields: dict[str, Field]


class KnowledgeBaseNLG(NaturalLanguageGenerator):
    def __init__(self, endpoint_config: EndpointConfig | None = None,
                 domain: Domain | None = None, *, url: str | None = None,
                 check_every: float = 1.0, retry_after: float = 5.0, wait: float = 1.5,
                 clock: Callable[[], float] = time.monotonic) -> None:
        configured = url or (endpoint_config.url if endpoint_config is not None else None)
        self._url = configured or Settings.current().database_url
        self._check_every, self._retry_after, self._wait = check_every, retry_after, wait
        self._clock = clock
        self._templates = TemplatedNaturalLanguageGenerator(
            dict(domain.responses) if domain is not None and domain.responses else {})
        self._default_fields = default_fields()
        self._answers: _Answers | None = None
        self._kb: KnowledgeBase | None = None
        self._next_check = float("-inf")
        self._refresh: asyncio.Future[None] | None = None
        self._down = False

    @property
    def revision(self) -> int | None:
        """The knowledge base's revision the answers are from (None: template texts)."""
        return self._answers.revision if self._answers is not None else None

    async def generate(self, utter_action: str, tracker: DialogueStateTracker,
                       output_channel: str, **kwargs: Any) -> dict[str, Any] | None:
        domain_responses = kwargs.get("domain_responses")
        if domain_responses and domain_responses is not self._templates.responses:
            self._templates.responses = domain_responses   # the model's domain (ActionBotResponse)
        await self._fresh()
        answers = self._answers
        message = None
        if answers is not None:
            message = await answers.generator.generate(utter_action, tracker, output_channel,
                                                       **kwargs)
        if message is None:
            message = await self._templates.generate(utter_action, tracker, output_channel,
                                                     **kwargs)
        if message is None and not self._templates.responses:
            self._templates.responses = _answers_files()   # nothing else known yet
            message = await self._templates.generate(utter_action, tracker, output_channel,
                                                     **kwargs)
        if message is not None and isinstance(message.get("text"), str):
            fields = answers.fields if answers is not None else self._default_fields
            message["text"] = placeholders.render(message["text"], fields, utter_action)
        return message

    async def _fresh(self) -> None:
        """Refresh the cache when a check is due, waiting at most `wait` seconds."""
        now = self._clock()
        if now < self._next_check:
            return
        self._next_check = now + self._check_every
        if self._refresh is None or self._refresh.done():
            self._refresh = asyncio.ensure_future(asyncio.to_thread(self._load))
            # a refresh that outlives its wait still has its error read (and logged below)
            self._refresh.add_done_callback(lambda f: f.cancelled() or f.exception())
        try:
            await asyncio.wait_for(asyncio.shield(self._refresh), self._wait)
        except asyncio.TimeoutError:
            logger.warning("Knowledge base at %s did not answer within %.1f s: "
                           "answering from the cached texts", self._safe_url(), self._wait)
        except Exception as exc:  # unreachable, not migrated, …: the texts stay as they were
            self._next_check = now + self._retry_after
            if not self._down:
                self._down = True
                source = "the last answers read" if self._answers else "the domain's templates"
                logger.warning("Knowledge base at %s is unavailable (%s: %s): answering from %s "
                               "until it is back", self._safe_url(), exc.__class__.__name__,
                               exc, source)
            return
        if self._down and self._answers is not None:
            self._down = False
            logger.warning("Knowledge base at %s is available again", self._safe_url())

    def _load(self) -> None:
        """In a worker thread: one revision read; everything only when it changed."""
        kb = self._knowledge()
        current = self._answers
        if current is not None and kb.revision() == current.revision:
            return
        snapshot = kb.snapshot()
        self._answers = _Answers(snapshot.revision,
                                 TemplatedNaturalLanguageGenerator(snapshot.responses),
                                 {**self._default_fields, **snapshot.fields})
        logger.info("Answers loaded from the knowledge base (revision %d, %d responses)",
                    snapshot.revision, len(snapshot.responses))

    def _knowledge(self) -> KnowledgeBase:
        if self._kb is None:
            self._kb = existing_knowledge_base(self._url)
        return self._kb

    def _safe_url(self) -> str:
        return make_url(self._url).render_as_string(hide_password=True)


def _answers_files() -> dict[str, list[dict[str, Any]]]:
    directory = Settings.current().project_dir / "data" / "answers"
    try:
        return {r.name: r.variations for r in files.read_dir(directory)}
    except (OSError, ValueError) as exc:
        logger.error("No answers available: the knowledge base is down and %s unreadable: %s",
                     directory, exc)
        return {}


def endpoint_config(database_url: str) -> EndpointConfig:
    """The `nlg:` endpoint for `Agent.load(generator=…)` / `Assistant.load`."""
    return EndpointConfig(url=database_url, type=f"{__name__}.KnowledgeBaseNLG")


def endpoint_entry(database_url: str) -> dict[str, str]:
    """The `nlg:` entry of an endpoints file."""
    return {"type": f"{__name__}.KnowledgeBaseNLG", "url": database_url}

"""bot.nlg.KnowledgeBaseNLG without a trained model: Rasa's own actions call its
generate() (the rules' utter_*, the ResponseSelector's utter_faq/<topic>, a custom
action's `response=`), on a real database seeded from data/answers."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa.core.actions.action import ActionBotResponse, ActionRetrieveResponse, RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import NaturalLanguageGenerator, TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.nlg import KnowledgeBaseNLG, endpoint_config
from core.db import create, dispose_all
from knowledge import db as knowledge_db
from knowledge import placeholders
from knowledge.service import KnowledgeBase
from tests.pg import PostgresSchemas, schemas_or_skip

ROOT = Path(__file__).resolve().parents[3]
FAQ = "utter_faq/join_union"


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load([str(ROOT / "domain.yml"), str(ROOT / "data" / "answers")])


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'kb.db'}"
    else:
        schemas: Iterator[PostgresSchemas] = schemas_or_skip()
        pg = next(schemas)
        yield pg.new_url()
        next(schemas, None)
    dispose_all()


@pytest.fixture
def kb(url: str) -> KnowledgeBase:
    engine = create(url)
    knowledge_db.upgrade(engine)
    base = KnowledgeBase(engine, slots={"address"})
    base.seed(ROOT / "data" / "answers")
    return base


def tracker(domain: Domain, parse: dict[str, Any] | None = None) -> DialogueStateTracker:
    events = [UserUttered("我住联盟小区，怎么入会", parse_data=parse or {}), SlotSet("address", "联盟小区")]
    return DialogueStateTracker.from_events("t", events, slots=domain.slots)


def selected(response: str) -> dict[str, Any]:
    return {"intent": {"name": "faq", "confidence": 0.9},
            "response_selector": {"faq": {"response": {"utter_action": response,
                                                      "intent_response_key": "faq/join_union",
                                                      "confidence": 0.9}, "ranking": []}}}


async def text_of(nlg: NaturalLanguageGenerator, name: str, domain: Domain) -> str:
    message = await nlg.generate(name, tracker(domain), "cli", domain_responses=domain.responses)
    assert message is not None
    return str(message["text"])


def test_rasa_builds_it_from_the_endpoint_entry(domain: Domain, url: str) -> None:
    nlg = NaturalLanguageGenerator.create(endpoint_config(url), domain)
    assert isinstance(nlg, KnowledgeBaseNLG)


async def test_answers_come_from_the_database_with_slots_and_fields(kb: KnowledgeBase, url: str,
                                                                    domain: Domain) -> None:
    kb.edit(FAQ, ["{address}的职工请到服务站入会，热线时间：[[hotline_hours]]"], "李干事")
    kb.set_field("hotline_hours", "每天 8:30-20:00", "李干事")
    nlg = KnowledgeBaseNLG(EndpointConfig(url=url), domain)
    assert await text_of(nlg, FAQ, domain) == "联盟小区的职工请到服务站入会，热线时间：每天 8:30-20:00"
    template = await text_of(TemplatedNaturalLanguageGenerator(domain.responses), "utter_greet", domain)
    assert template in [v["text"] for v in kb.snapshot().responses["utter_greet"]]


async def test_an_unfilled_field_shows_its_fallback(kb: KnowledgeBase, url: str, domain: Domain,
                                                    caplog: pytest.LogCaptureFixture,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(placeholders, "_warned", {})   # warnings are once per 10 minutes
    kb.edit("utter_thanks", ["不客气！热线时间：[[service_station_hours]]"], "李干事")
    nlg = KnowledgeBaseNLG(url=url, domain=domain)
    with caplog.at_level(logging.WARNING):
        text = await text_of(nlg, "utter_thanks", domain)
    assert "[[" not in text and text == "不客气！热线时间：" + kb.field("service_station_hours").fallback
    assert any("service_station_hours" in r.getMessage() for r in caplog.records)


async def test_retrieval_rule_and_custom_action_responses_go_through_it(
        kb: KnowledgeBase, url: str, domain: Domain) -> None:
    kb.edit(FAQ, ["知识库里的入会答复"], "李干事")
    kb.edit("utter_gov_referral", ["知识库里的转介答复"], "李干事")
    kb.edit("utter_greet", ["知识库里的问候"], "李干事")
    nlg = KnowledgeBaseNLG(url=url, domain=domain)
    channel = CollectingOutputChannel()

    events = await ActionRetrieveResponse("utter_faq").run(
        channel, nlg, tracker(domain, selected(FAQ)), domain)
    assert [e.text for e in events if isinstance(e, BotUttered)] == ["知识库里的入会答复"]
    events = await ActionBotResponse("utter_gov_referral").run(channel, nlg, tracker(domain), domain)
    assert [e.text for e in events if isinstance(e, BotUttered)] == ["知识库里的转介答复"]
    # what rasa-sdk's dispatcher.utter_message(response="utter_greet") sends back
    uttered = await RemoteAction._utter_responses(
        [{"response": "utter_greet", "text": None, "buttons": [], "elements": [], "custom": {},
          "template": None, "image": None, "attachment": None}], channel, nlg, tracker(domain))
    assert [e.text for e in uttered] == ["知识库里的问候"]


async def test_an_edit_is_seen_within_two_seconds_without_a_restart(
        kb: KnowledgeBase, url: str, domain: Domain) -> None:
    nlg = KnowledgeBaseNLG(url=url, domain=domain)
    before = await text_of(nlg, FAQ, domain)
    kb.edit(FAQ, ["刚刚改好的入会答复"], "李干事")
    edited_at = time.monotonic()
    seen = before
    while seen != "刚刚改好的入会答复" and time.monotonic() - edited_at < 5:
        await asyncio.sleep(0.05)
        seen = await text_of(nlg, FAQ, domain)
    assert seen == "刚刚改好的入会答复"
    assert time.monotonic() - edited_at < 2.0


async def test_answers_are_read_once_per_revision(kb: KnowledgeBase, url: str, domain: Domain,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    nlg = KnowledgeBaseNLG(url=url, domain=domain, check_every=0.0)
    reads: list[int] = []
    original = KnowledgeBase.snapshot

    def counting(self: KnowledgeBase) -> Any:
        reads.append(1)
        return original(self)

    monkeypatch.setattr(KnowledgeBase, "snapshot", counting)
    for _ in range(20):
        await text_of(nlg, FAQ, domain)
    assert len(reads) == 1
    kb.set_field("hotline_hours", "全天", "李干事")
    await text_of(nlg, FAQ, domain)
    assert len(reads) == 2 and nlg.revision == kb.revision()


async def test_without_a_database_the_domain_templates_answer(
        tmp_path: Path, domain: Domain, caplog: pytest.LogCaptureFixture) -> None:
    missing = tmp_path / "absent.db"
    for url in (f"sqlite:///{missing}", "postgresql+psycopg2://postgres@127.0.0.1:1/none"):
        nlg = KnowledgeBaseNLG(url=url, domain=Domain.empty())   # as `rasa run` builds it
        with caplog.at_level(logging.WARNING, logger="bot.nlg"):
            text = await text_of(nlg, FAQ, domain)
        assert text == domain.responses[FAQ][0]["text"]
        assert any("unavailable" in r.getMessage() for r in caplog.records)
        caplog.clear()
    assert not missing.exists(), "the NLG never creates a database"


async def test_it_keeps_the_last_answers_while_the_database_is_down(
        kb: KnowledgeBase, url: str, domain: Domain, monkeypatch: pytest.MonkeyPatch) -> None:
    kb.edit(FAQ, ["断线前读到的答复"], "李干事")
    nlg = KnowledgeBaseNLG(url=url, domain=domain, check_every=0.0)
    assert await text_of(nlg, FAQ, domain) == "断线前读到的答复"

    def down(self: KnowledgeBase) -> int:
        raise OSError("connection refused")

    monkeypatch.setattr(KnowledgeBase, "revision", down)
    assert await text_of(nlg, FAQ, domain) == "断线前读到的答复"


async def test_the_runtime_endpoints_file_makes_rasa_answer_from_the_database(
        tmp_path: Path, domain: Domain) -> None:
    from rasa.core.utils import AvailableEndpoints

    from bot.serve import runtime_endpoints
    from core.settings import Settings

    url = f"sqlite:///{tmp_path / 'kb.db'}"
    settings = Settings.from_env(env={"DATA_DIR": str(tmp_path / "var"), "DATABASE_URL": url},
                                 project_dir=ROOT)
    endpoints = AvailableEndpoints.read_endpoints(str(runtime_endpoints(settings)))
    engine = create(url)
    knowledge_db.upgrade(engine)
    kb = KnowledgeBase(engine)
    kb.seed(ROOT / "data" / "answers")
    kb.edit(FAQ, ["经 endpoints 文件读到的答复"], "李干事")
    nlg = NaturalLanguageGenerator.create(endpoints.nlg, None)   # what `rasa run` does
    assert isinstance(nlg, KnowledgeBaseNLG)
    assert await text_of(nlg, FAQ, domain) == "经 endpoints 文件读到的答复"

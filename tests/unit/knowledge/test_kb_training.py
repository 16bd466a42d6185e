"""Training uses the knowledge base's examples: the importer adds them (FAQ topics as
faq/<topic> retrieval examples), the model's fingerprint covers them, and without a
database the training data is exactly data/. No model is trained here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_RESPONSE_KEY, TEXT

from bot.importer import CloudDoctorImporter, pinned_examples
from bot.kb import record_training, training_examples
from bot.training import current_model_path
from core.db import create, dispose_all
from core.settings import Settings
from knowledge import db as knowledge_db
from knowledge.model import ExampleStatus
from knowledge.service import KnowledgeBase

ROOT = Path(__file__).resolve().parents[3]
FAQ_QUESTION = "送外卖的电话13812345678能不能入工会"
GREET_QUESTION = "云博士早上好呀"


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    Settings.forget_current()
    yield url
    Settings.forget_current()
    dispose_all()


def importer() -> CloudDoctorImporter:
    return CloudDoctorImporter(config_file=str(ROOT / "config.yml"),
                               domain_path=str(ROOT / "domain.yml"),
                               training_data_paths=[str(ROOT / "data")])


def seeded(url: str) -> KnowledgeBase:
    engine = create(url)
    knowledge_db.upgrade(engine)
    kb = KnowledgeBase(engine)
    kb.seed(ROOT / "data" / "answers")
    return kb


def by_text(data: object) -> dict[str, object]:
    return {m.get(TEXT): m for m in data.training_examples}  # type: ignore[attr-defined]


def test_the_importer_adds_the_examples_staff_added(database: str) -> None:
    plain = importer().get_nlu_data("zh")
    kb = seeded(database)
    kb.add_example(FAQ_QUESTION, "join_union", "李干事")
    kb.add_example(GREET_QUESTION, "greet", "李干事")
    data = importer().get_nlu_data("zh")
    examples = by_text(data)
    faq = examples["送外卖的电话138****5678能不能入工会"]
    assert faq.get(INTENT) == "faq" and faq.get(INTENT_RESPONSE_KEY) == "faq/join_union"  # type: ignore[attr-defined]
    assert examples[GREET_QUESTION].get(INTENT) == "greet"  # type: ignore[attr-defined]
    assert len(data.training_examples) == len(plain.training_examples) + 2
    assert FAQ_QUESTION not in examples, "masked, as stored"


def test_without_a_database_the_data_is_exactly_data(database: str, tmp_path: Path) -> None:
    assert training_examples(database) == []
    data = importer().get_nlu_data("zh")
    texts = sorted(m.get(TEXT) for m in data.training_examples)
    from rasa.shared.importers.rasa import RasaFileImporter

    plain = RasaFileImporter(str(ROOT / "config.yml"), str(ROOT / "domain.yml"), [str(ROOT / "data")])
    assert texts == sorted(m.get(TEXT) for m in plain.get_nlu_data("zh").training_examples)
    assert not (tmp_path / "kb.db").exists(), "reading examples creates no database"


def test_pinned_examples_win_over_the_database(database: str) -> None:
    kb = seeded(database)
    kb.add_example(GREET_QUESTION, "greet", "李干事")
    with pinned_examples([]):
        assert GREET_QUESTION not in by_text(importer().get_nlu_data("zh"))
    assert GREET_QUESTION in by_text(importer().get_nlu_data("zh"))


def test_waiting_examples_change_the_model_and_training_marks_them(database: str) -> None:
    kb = seeded(database)
    without = current_model_path(ROOT, ROOT / "models", examples=training_examples(database))
    example = kb.add_example(GREET_QUESTION, "greet", "李干事")
    waiting = training_examples(database)
    with_one = current_model_path(ROOT, ROOT / "models", examples=waiting)
    assert with_one != without, "`cloud-doctor train` retrains when examples wait"
    record_training(database, waiting, with_one.name)
    assert kb.pending_examples_count() == 0
    state = kb.training_state()
    assert state.last_model == with_one.name and state.last_trained_at is not None
    assert kb.examples()[0].status is ExampleStatus.TRAINED
    assert current_model_path(ROOT, ROOT / "models", examples=training_examples(database)) == with_one, \
        "marking them trained does not make the model stale"
    assert example.id == waiting[0].id

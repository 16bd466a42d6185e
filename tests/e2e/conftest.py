"""The real assistant (`rasa run` + the action server) started once per session,
with every connector pointed at the fake platforms, the current model (trained
if missing) and a grid directory seeded with the fictitious sample."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes import FAKES
from tests.fakes.base import free_port
from tests.fakes.stack import RasaStack


@pytest.fixture(scope="session")
def fake_ports() -> dict[str, int]:
    """Fixed ports for every fake, so the credentials file can name them up front."""
    return {name: free_port() for name in FAKES}


@pytest.fixture(scope="session")
def grid_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A SQLite grid directory with the sample data, visible to the stack's processes."""
    from grids import db
    from grids.generator import SAMPLE_DIR
    from grids.importer import import_path

    url = f"sqlite:///{tmp_path_factory.mktemp('e2e-db') / 'cloud_doctor.db'}"
    engine = db.create(url)
    db.upgrade(engine)
    import_path(engine, SAMPLE_DIR)
    engine.dispose()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", url)
        from bot.kb import open_knowledge_base
        from core.settings import Settings

        Settings.forget_current()
        open_knowledge_base(Settings.current())   # seeded from data/answers, as make run does
        yield url
    Settings.forget_current()


@pytest.fixture(scope="session")
def rasa_stack(fake_ports: dict[str, int], full_model: Path, grid_database: str,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[RasaStack]:
    model = full_model
    channels = {name: fake(port=fake_ports[name]).credentials() for name, fake in FAKES.items()}
    # Answers from the knowledge base, as `cloud-doctor run` serves them (bot/nlg.py).
    nlg = {"nlg": {"type": "bot.nlg.KnowledgeBaseNLG", "url": grid_database}}
    stack = RasaStack(model, channels, tmp_path_factory.mktemp("rasa-stack"), endpoints=nlg)
    stack.start(timeout=150)
    try:
        yield stack
    finally:
        stack.stop()

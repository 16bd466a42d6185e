"""Shared fixtures. The full model is trained once (cached in models/ by a
fingerprint of its inputs, so reruns cost nothing); a tiny model for fast tests
is trained once per machine under .pytest_cache-independent var/test-models/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def full_model() -> Path:
    """The real model (what `make run` serves), trained if missing or stale."""
    from bot.training import train

    os.chdir(ROOT)
    return train(ROOT, ROOT / "models")


@pytest.fixture(scope="session")
def small_model() -> Path:
    from bot.training import train

    os.chdir(ROOT)
    return train(ROOT, ROOT / "var" / "test-models", config=ROOT / "tests" / "data" / "config_small.yml")

"""Training and locating models. A model is named after a fingerprint of every
input that shapes it (config, domain, data, the normaliser's code, the training
examples staff added in the knowledge base), so "train if missing or stale" is a
file-exists check and never retrains needlessly."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from knowledge.model import Example

logger = logging.getLogger(__name__)

MODEL_PREFIX = "cloud-doctor-"
_CODE_INPUTS = ("bot/nlu.py", "core/normalize.py")
# Data under data/ that is not training data: staff edit it without retraining.
_NOT_TRAINING = ("calendar",)


def training_inputs(project: Path, config: Path | None = None) -> list[Path]:
    files = [config or project / "config.yml", project / "domain.yml"]
    data = project / "data"
    files += sorted(p for p in data.rglob("*")
                    if p.is_file() and p.relative_to(data).parts[0] not in _NOT_TRAINING)
    files += [project / rel for rel in _CODE_INPUTS]
    return files


def fingerprint(project: Path, files: Iterable[Path], examples: Sequence[Example] = ()) -> str:
    """Of the files, and of the knowledge base's examples when there are any (without
    them the fingerprint is that of the files alone, as before examples existed)."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(project) if path.is_relative_to(project) else path).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    for example in sorted(examples, key=lambda e: e.id):
        digest.update(f"example\0{example.id}\0{example.intent}\0{example.text}\0".encode())
    return digest.hexdigest()[:12]


def current_model_path(project: Path, model_dir: Path, config: Path | None = None,
                       examples: Sequence[Example] = ()) -> Path:
    fp = fingerprint(project, training_inputs(project, config), examples)
    return model_dir / f"{MODEL_PREFIX}{fp}.tar.gz"


def latest_model(model_dir: Path) -> Path | None:
    models = sorted(model_dir.glob(f"{MODEL_PREFIX}*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


@contextmanager
def _without_rasa_cache() -> Iterator[None]:
    """Rasa's training cache fingerprints the input and the output of every component
    (the whole training data with its features, twice per component) so that a later
    training can reuse them: a third of a full training run here (about 80 of 290 s
    with 6,700 examples, measured from Rasa's debug log). `train` always trains afresh
    under its own fingerprint and never reads that cache, so for its training Rasa's
    caching hook does nothing. (`RASA_MAX_CACHE_SIZE=0` stops only the writing, not
    the fingerprints.)"""
    from rasa.engine.training.hooks import TrainingHook

    before, after = TrainingHook.on_before_node, TrainingHook.on_after_node

    def no_fingerprint(self: TrainingHook, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {}

    def no_caching(self: TrainingHook, *args: Any, **kwargs: Any) -> None:
        return None

    TrainingHook.on_before_node = no_fingerprint
    TrainingHook.on_after_node = no_caching
    try:
        yield
    finally:
        TrainingHook.on_before_node = before
        TrainingHook.on_after_node = after


def train(project: Path, model_dir: Path, *, config: Path | None = None,
          force: bool = False, database_url: str | None = None) -> Path:
    """Train unless a model for exactly these inputs exists; return its path.

    With `database_url`, the knowledge base's training examples are inputs too (read
    once here, fingerprinted and pinned for the importer); after a successful training
    the pending ones are marked trained and the training's time recorded. Without
    it (or without a database there) the training data is exactly data/."""
    from bot.kb import record_training, training_examples

    examples = training_examples(database_url)
    target = current_model_path(project, model_dir, config, examples)
    if target.exists() and not force:
        logger.info("Model is up to date: %s", target)
        if any(e.status.value == "pending" for e in examples):   # trained, not recorded
            record_training(database_url, examples, target.name)
        return target
    from rasa.api import train as rasa_train  # heavy import, only when training

    from bot.importer import pinned_examples

    model_dir.mkdir(parents=True, exist_ok=True)
    with pinned_examples(examples), _without_rasa_cache():
        result = rasa_train(
            domain=str(project / "domain.yml"),
            config=str(config or project / "config.yml"),
            training_files=[str(project / "data")],
            output=str(model_dir),
            fixed_model_name=target.name.removesuffix(".tar.gz"),
            # Rasa's cache does not see jieba dictionaries or corrections; our fingerprint does.
            force_training=True,
        )
    if result.code != 0 or not result.model:
        raise RuntimeError(f"Rasa training failed with code {result.code}")
    record_training(database_url, examples, target.name)
    return Path(result.model)

"""NLU benchmark: training time, parse latency p50/p95 and throughput of the
Rasa model, next to a plain jieba + TF-IDF + logistic-regression baseline trained
on the same data and scored on the same dev set, in the same run.

    .venv/bin/python bench/nlu.py                 # trains the full config afresh (timed)
    .venv/bin/python bench/nlu.py --reuse-model   # uses the current model, no training
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from bot.evaluate import Question  # noqa: E402


def training_examples() -> tuple[list[str], list[str]]:
    import yaml

    from core.topics import topic_from_intent

    texts, labels = [], []
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
            if "intent" not in block:
                continue
            for line in block["examples"].splitlines():
                if line.strip().startswith("- "):
                    texts.append(line.strip()[2:].strip())
                    labels.append(topic_from_intent(block["intent"]))
    return texts, labels


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def baseline(dev: list[Question]) -> tuple[float, float, float]:
    """Returns (accuracy, train seconds, p50 predict ms) of jieba + TF-IDF + LR."""
    import jieba
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from core.normalize import normalize

    texts, labels = training_examples()
    start = time.perf_counter()
    model = make_pipeline(
        TfidfVectorizer(tokenizer=jieba.lcut, token_pattern=None, ngram_range=(1, 2)),
        LogisticRegression(max_iter=3000, C=10.0),
    )
    model.fit([normalize(t) for t in texts], labels)
    seconds = time.perf_counter() - start
    latencies, correct = [], 0
    for q in dev:
        t0 = time.perf_counter()
        got = model.predict([normalize(q.text)])[0]
        latencies.append((time.perf_counter() - t0) * 1000)
        correct += got == q.topic or got in q.also
    return correct / len(dev), seconds, statistics.median(latencies)


async def rasa_figures(model_path: Path, dev: list[Question]) -> dict[str, float]:
    from bot.assistant import Assistant
    from bot.evaluate import evaluate

    assistant = await Assistant.load(model_path)
    report = await evaluate(dev, assistant.classify)
    texts = [q.text for q in dev] * 3
    await assistant.parse("预热")
    latencies = []
    start = time.perf_counter()
    for text in texts:
        t0 = time.perf_counter()
        await assistant.parse(text)
        latencies.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - start
    return {
        "accuracy": report.accuracy,
        "oos": report.oos_decline_rate,
        "p50": percentile(latencies, 0.5),
        "p95": percentile(latencies, 0.95),
        "mps": len(texts) / elapsed,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reuse-model", action="store_true")
    parser.add_argument("--dev", default=str(ROOT / "tests" / "data" / "dev_questions.yml"))
    args = parser.parse_args()
    os.chdir(ROOT)

    from bot.cli import _quiet
    from bot.evaluate import load_questions
    from bot.training import current_model_path, train

    _quiet()
    dev = load_questions(Path(args.dev))
    train_seconds = float("nan")
    if args.reuse_model:
        model_path = current_model_path(ROOT, ROOT / "models")
        if not model_path.exists():
            print("no current model; run without --reuse-model or `cloud-doctor train`")
            return 1
    else:
        out = Path(tempfile.mkdtemp(prefix="bench-nlu-"))
        start = time.perf_counter()
        model_path = train(ROOT, out, force=True)
        train_seconds = time.perf_counter() - start

    rasa = asyncio.run(rasa_figures(model_path, dev))
    base_acc, base_train, base_p50 = baseline(dev)
    print(f"machine: {os.cpu_count()} cores; dev set: {len(dev)} questions; model: {model_path.name}")
    print(f"rasa training time:          {train_seconds:8.1f} s (target <= 300 s on 2 cores)")
    print(f"rasa parse latency p50/p95:  {rasa['p50']:8.1f} / {rasa['p95']:.1f} ms")
    print(f"rasa parse throughput:       {rasa['mps']:8.1f} messages/s (sequential)")
    print(f"{'':29}{'rasa':>8} {'tfidf+lr':>9}")
    print(f"{'dev accuracy:':29}{rasa['accuracy']:8.3f} {base_acc:9.3f}")
    print(f"{'accuracy ratio rasa/baseline:':29}{rasa['accuracy'] / base_acc:8.3f}")
    print(f"{'error ratio rasa/baseline:':29}{(1 - rasa['accuracy']) / max(1e-9, 1 - base_acc):8.3f}")
    print(f"{'train seconds:':29}{train_seconds:8.1f} {base_train:9.1f}")
    print(f"{'predict p50 ms:':29}{rasa['p50']:8.1f} {base_p50:9.2f}")
    print(f"out_of_scope not answered as a union topic (rasa): {rasa['oos']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

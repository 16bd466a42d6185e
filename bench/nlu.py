"""NLU benchmark: training time, parse latency p50/p95 and throughput of the
Rasa model, and on the held-out set (tests/data/heldout_questions.yml, never trained
on): top-1 accuracy, confidently wrong answers, needless fallbacks, out-of-scope and
non-labour legal questions kept out, labour disputes to labour topics — next to a
plain jieba + TF-IDF + logistic-regression baseline trained on the same data, whose
fallback thresholds are chosen on the same calibration set, in the same run.

    .venv/bin/python bench/nlu.py                 # trains the full config afresh (timed)
    .venv/bin/python bench/nlu.py --reuse-model   # uses the current model, no training
    .venv/bin/python bench/nlu.py --reference-model OLD.tar.gz   # p95 as a ratio to OLD
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

from bot.evaluate import Question, Report, SweepRow, best, evaluate, sweep  # noqa: E402
from core.topics import TopicResult  # noqa: E402


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


class Baseline:
    """jieba + TF-IDF + logistic regression on the same training data, with the same
    fallback rule (probability of the top topic and its lead), thresholds chosen on
    the same calibration set."""

    def __init__(self) -> None:
        import jieba
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        from core.normalize import normalize

        self._normalize = normalize
        texts, labels = training_examples()
        start = time.perf_counter()
        self.model = make_pipeline(
            TfidfVectorizer(tokenizer=jieba.lcut, token_pattern=None, ngram_range=(1, 2)),
            LogisticRegression(max_iter=3000, C=10.0),
        )
        self.model.fit([normalize(t) for t in texts], labels)
        self.train_seconds = time.perf_counter() - start
        self.latencies: list[float] = []

    async def classify(self, text: str) -> TopicResult:
        t0 = time.perf_counter()
        probabilities = self.model.predict_proba([self._normalize(text)])[0]
        self.latencies.append((time.perf_counter() - t0) * 1000)
        order = probabilities.argsort()[::-1]
        best, second = float(probabilities[order[0]]), float(probabilities[order[1]])
        return TopicResult(str(self.model.classes_[order[0]]), best, False, best - second)


def choose(report: Report) -> SweepRow:
    return best(sweep(report), max_wrong=0.02)


async def parse_speed(assistant, texts: list[str]) -> dict[str, float]:
    await assistant.parse("预热")
    latencies = []
    start = time.perf_counter()
    for text in texts:
        t0 = time.perf_counter()
        await assistant.parse(text)
        latencies.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - start
    return {"p50": percentile(latencies, 0.5), "p95": percentile(latencies, 0.95),
            "mps": len(texts) / elapsed}


async def rasa_reports(model_path: Path, calibration: list[Question], heldout: list[Question],
                       ) -> tuple[Report, Report, dict[str, float]]:
    from bot.assistant import Assistant

    assistant = await Assistant.load(model_path)
    cal = await evaluate(calibration, assistant.classify)
    test = await evaluate(heldout, assistant.classify)
    return cal, test, await parse_speed(assistant, [q.text for q in heldout] * 2)


async def reference_speed(model_path: Path, heldout: list[Question]) -> dict[str, float]:
    """Parse latency of another model (e.g. the release before) on the same texts, in the
    same run: the p95 target is a ratio to it."""
    from bot.assistant import Assistant

    assistant = await Assistant.load(model_path)
    return await parse_speed(assistant, [q.text for q in heldout] * 2)


def configured_thresholds() -> tuple[float, float]:
    import yaml

    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    for component in config["pipeline"]:
        if component["name"].endswith("CalibratedFallback"):
            return float(component["threshold"]), float(component["ambiguity_threshold"])
    raise SystemExit("config.yml has no CalibratedFallback")


def row(name: str, figures: dict[str, float]) -> str:
    keys = ("accuracy", "confidently_wrong", "needless_fallback", "out_of_scope_declined",
            "legal_kept_out", "labour_to_labour")
    return f"{name:<34}" + "".join(f"{figures[k]:>10.3f}" for k in keys)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reuse-model", action="store_true")
    parser.add_argument("--heldout", default=str(ROOT / "tests" / "data" / "heldout_questions.yml"))
    parser.add_argument("--calibration", nargs="+",
                        default=[str(ROOT / "tests" / "data" / "calibration2_questions.yml"),
                                 str(ROOT / "tests" / "data" / "dev_questions.yml")],
                        help="where thresholds are chosen (never the held-out set)")
    parser.add_argument("--reference-model", type=Path,
                        help="a model to compare parse latency with (e.g. the release before)")
    args = parser.parse_args()
    os.chdir(ROOT)

    from bot.cli import _quiet
    from bot.evaluate import load_questions
    from bot.training import current_model_path, train

    _quiet()
    heldout = load_questions(Path(args.heldout))
    calibration = [q for path in args.calibration for q in load_questions(Path(path))]
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

    cal, test, speed = asyncio.run(rasa_reports(model_path, calibration, heldout))
    base = Baseline()
    base_cal = asyncio.run(evaluate(calibration, base.classify))
    base.latencies.clear()
    base_test = asyncio.run(evaluate(heldout, base.classify))
    threshold, ambiguity = configured_thresholds()
    chosen, base_chosen = choose(cal), choose(base_cal)

    print(f"machine: {os.cpu_count()} cores; held-out set: {len(heldout)} questions; "
          f"calibration set: {len(calibration)}; model: {model_path.name}")
    print(f"rasa training time:          {train_seconds:8.1f} s (target <= 300 s on 2 cores)")
    print(f"rasa parse latency p50/p95:  {speed['p50']:8.1f} / {speed['p95']:.1f} ms "
          f"(baseline predict p50 {statistics.median(base.latencies):.2f} ms)")
    print(f"rasa parse throughput:       {speed['mps']:8.1f} messages/s (sequential)")
    if args.reference_model:
        ref = asyncio.run(reference_speed(args.reference_model, heldout))
        print(f"reference {args.reference_model.name}: p50/p95 {ref['p50']:.1f} / "
              f"{ref['p95']:.1f} ms; p95 ratio this/reference {speed['p95'] / ref['p95']:.2f} "
              f"(target <= 1.5)")
    print()
    print(f"thresholds in config.yml: {threshold:.2f} / {ambiguity:.2f}; "
          f"chosen on the calibration set: {chosen.threshold:.2f} / {chosen.ambiguity:.2f} "
          f"(cheapest with wrong + 1 s.e. <= 2%: {100 * chosen.figures['confidently_wrong']:.1f}% "
          f"+ {100 * (chosen.wrong_bound - chosen.figures['confidently_wrong']):.1f})")
    print(f"{'held-out figures':<34}{'top-1':>10}{'wrong':>10}{'needless':>10}"
          f"{'oos out':>10}{'legal out':>10}{'labour':>10}")
    print(row("rasa, thresholds of config.yml", test.replayed(threshold, ambiguity).figures()))
    print(row("rasa, no fallback at all", test.replayed(0.0, -1.0).figures()))
    print(row(f"baseline at its own {base_chosen.threshold:.2f}/{base_chosen.ambiguity:.2f}",
              base_test.replayed(base_chosen.threshold, base_chosen.ambiguity).figures()))
    print(row("baseline, no fallback at all", base_test.replayed(0.0, -1.0).figures()))
    print(f"top-1 margin over the baseline: {100 * (test.accuracy - base_test.accuracy):+.1f} points; "
          f"error ratio rasa/baseline {(1 - test.accuracy) / max(1e-9, 1 - base_test.accuracy):.2f}")
    print(f"calibration set: rasa top-1 {cal.accuracy:.3f}, baseline {base_cal.accuracy:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

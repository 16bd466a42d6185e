"""Benchmark of the grid lookup: latency p50/p95 and memory at 805 and 80,500 grids.

    .venv/bin/python bench/grids.py [--queries 2000] [--districts 100]

The directories come from the same generator as the committed sample (one
district = 805 grids; 100 districts = a province of 80,500 grids). Queries are
the noisy ones of the accuracy test (tests/unit/grids/grid_noise.py), made from
the first district, so at province scale many names exist in several districts
and the answer is more often a question. Memory is the growth of the process's
resident set while building each piece (spaCy and TensorFlow are imported first,
so their fixed cost is reported on its own line).
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def noise_module() -> Any:
    path = ROOT / "tests" / "unit" / "grids" / "grid_noise.py"
    spec = importlib.util.spec_from_file_location("grid_noise", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["grid_noise"] = module  # dataclasses look their module up while defining
    spec.loader.exec_module(module)
    return module


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(label: str, districts: int, texts: list[str], noise: Any, sample: Any) -> None:
    from grids.generator import generate
    from grids.lookup import Resolver

    gc.collect()
    before = rss_mb()
    started = time.perf_counter()
    directory = generate(districts=districts)
    generated = time.perf_counter() - started
    after_directory = rss_mb()
    started = time.perf_counter()
    resolver = Resolver(directory)
    built = time.perf_counter() - started
    after_resolver = rss_mb()
    for text in texts[:50]:  # warm caches
        resolver.resolve(text)
    counts = directory.counts()
    print(f"\n== {label}: {counts['grids']:,} grids, {counts['estates']:,} estates, "
          f"{len(resolver.gazetteer.terms):,} gazetteer terms")
    print(f"generate {generated:.1f}s, build resolver {built:.1f}s")
    variants = [("queries", texts)]
    if districts > 1:  # the same queries naming their district, as people in a province would
        variants.append(("queries prefixed with the district name", ["云溪区" + t for t in texts]))
    for name, batch in variants:
        timings, statuses = [], []
        for text in batch:
            t0 = time.perf_counter()
            result = resolver.resolve(text)
            timings.append((time.perf_counter() - t0) * 1000)
            statuses.append(result.status)
        print(f"lookup over {len(batch)} {name}: p50 {statistics.median(timings):.2f} ms, "
              f"p95 {percentile(timings, 0.95):.2f} ms, max {max(timings):.2f} ms")
        share = {s: statuses.count(s) / len(statuses) for s in sorted(set(statuses))}
        print("  answers: " + ", ".join(f"{s} {v:.1%}" for s, v in share.items()))
    if districts == 1:
        queries = noise.QueryMaker(sample, seed=2024).queries(len(texts))
        correct = sum(noise.is_correct(q, resolver.resolve(q.text)) for q in queries)
        print(f"accuracy on the noisy queries: {correct / len(queries):.2%}")
    print(f"memory: directory {after_directory - before:.0f} MB, "
          f"resolver (gazetteer, spaCy matcher, jieba names) {after_resolver - after_directory:.0f} MB, "
          f"process RSS {after_resolver:.0f} MB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--districts", type=int, default=100)
    args = parser.parse_args()
    import jieba

    jieba.setLogLevel(logging.WARNING)
    start = rss_mb()
    import spacy  # noqa: F401  (imports thinc, which loads TensorFlow when installed)

    from grids.generator import generate

    print(f"fixed cost: importing spaCy (and through thinc, TensorFlow) {rss_mb() - start:.0f} MB")
    noise = noise_module()
    sample = generate()
    texts = [q.text for q in noise.QueryMaker(sample, seed=7).queries(args.queries)]
    run("district (seed deployment)", 1, texts, noise, sample)
    run(f"province ({args.districts} districts)", args.districts, texts, noise, sample)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Cost of the term bridge (index/crosslingual.py): its build without the embedding cache, and the cross-lingual
step of every English eval question, the first time its words are met and repeated.

    python -m bench.crosslingual_cost
"""

from __future__ import annotations

import statistics
import time

from briefsearch.eval.evaluate import load_questions
from briefsearch.index.crosslingual import TermBridge
from briefsearch.index.search import open_searcher
from briefsearch.index.settings import get_settings


def _median_p90(values: list[float]) -> str:
    ordered = sorted(values)
    return f"median {statistics.median(ordered):.1f} ms, p90 {ordered[int(0.9 * len(ordered))]:.1f} ms"


def main() -> None:
    settings = get_settings()
    searcher = open_searcher(settings, build=False, progress=False)
    started = time.perf_counter()
    bridge = TermBridge.build(searcher.index.chunks.values(), searcher.korean, searcher.encoder, None,
                              settings.crosslingual_bridge_terms)
    print(f"bridge build without the cache: {len(bridge.terms)} nouns in {time.perf_counter() - started:.1f} s")
    questions = [q.question for q in load_questions() if q.type == "english"]
    for label, weight in (("bridge off", 0.0), ("bridge on", settings.crosslingual_bridge_weight)):
        searcher.settings = settings.model_copy(update={"crosslingual_bridge_weight": weight})
        first = [searcher.search(q) for q in questions]
        again = [searcher.search(q) for _ in range(3) for q in questions]
        print(f"{label}: {len(questions)} English questions; first time: search "
              f"{_median_p90([r.took_ms for r in first])}, cross-lingual step "
              f"{_median_p90([r.timings.get('crosslingual_ms', 0.0) for r in first])}; repeated x3: search "
              f"{_median_p90([r.took_ms for r in again])}, cross-lingual step "
              f"{_median_p90([r.timings.get('crosslingual_ms', 0.0) for r in again])}")


if __name__ == "__main__":
    main()

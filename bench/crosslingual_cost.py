"""Cost of the term bridge (retrieval/crosslingual.py): its build without the embedding cache, the cross-lingual
step of every English eval question, the first time its words are met and repeated, an English /ask (warm),
and the bridge a new index version needs after an add or remove (from nothing, and on the last version's).

    python -m bench.crosslingual_cost             # everything (the cache-less build takes 14-60 s)
    python -m bench.crosslingual_cost --ask-only  # English /ask alone (public calls only: runs on older code too)
"""

from __future__ import annotations

import argparse
import statistics
import time

from briefsearch.answer.answerer import Answerer
from briefsearch.config import get_settings
from briefsearch.embedding.cache import EmbeddingCache
from briefsearch.evaluation.evaluate import QUESTIONS, load_questions
from briefsearch.retrieval.crosslingual import TermBridge
from briefsearch.retrieval.searcher import Searcher
from briefsearch.runtime.engine import open_searcher


def _median_p90(values: list[float]) -> str:
    ordered = sorted(values)
    return f"median {statistics.median(ordered):.1f} ms, p90 {ordered[int(0.9 * len(ordered))]:.1f} ms"


def english_ask(searcher: Searcher, questions: list[str], rounds: int = 7) -> str:
    """/ask on every English question, in-process and warm (each asked once first: its vectors are in the query
    cache, so this is the work around the forward pass); per question the median of ``rounds`` runs."""
    answerer = Answerer(searcher)
    for question in questions:
        answerer.ask(question)
    runs: dict[str, list[float]] = {q: [] for q in questions}
    for _ in range(rounds):
        for question in questions:
            started = time.perf_counter()
            answerer.ask(question)
            runs[question].append((time.perf_counter() - started) * 1000)
    medians = [statistics.median(times) for times in runs.values()]
    return (f"English /ask, warm: {len(questions)} questions x {rounds} runs, per-question medians: "
            f"{_median_p90(medians)}, mean {statistics.mean(medians):.2f} ms")


def bridge_rebuild(searcher: Searcher) -> str:
    """The term bridge of the corpus without one of its documents (what a remove, or an add, changes), built from
    nothing (nouns read by Kiwi, vectors from the embedding cache) and built on the whole corpus's bridge
    (``Searcher.with_index``'s way); per document removed."""
    settings = searcher.settings
    chunks = list(searcher.index.chunks.values())
    cache = EmbeddingCache(settings.data_dir / "cache", searcher.encoder.identity)
    last = searcher.term_bridge
    scratch, built_on = [], []
    for doc in sorted({c.doc_id for c in chunks}):
        fewer = [c for c in chunks if c.doc_id != doc]
        for previous, times in ((None, scratch), (last, built_on)):
            started = time.perf_counter()
            TermBridge.build(fewer, searcher.korean, searcher.encoder, cache, settings.crosslingual.bridge_terms,
                             previous)
            times.append((time.perf_counter() - started) * 1000)
    return (f"term bridge after removing one of {len(scratch)} documents: from nothing {_median_p90(scratch)}; "
            f"on the last version's bridge {_median_p90(built_on)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ask-only", action="store_true", help="time English /ask alone")
    args = parser.parse_args()
    settings = get_settings()
    searcher = open_searcher(settings, build=False, progress=False)
    english = [q.question for q in load_questions(QUESTIONS) if q.type == "english"]
    print(english_ask(searcher, english))
    if args.ask_only:
        return
    print(bridge_rebuild(searcher))
    started = time.perf_counter()
    bridge = TermBridge.build(searcher.index.chunks.values(), searcher.korean, searcher.encoder, None,
                              settings.crosslingual.bridge_terms)
    print(f"bridge build without the cache: {len(bridge.terms)} nouns in {time.perf_counter() - started:.1f} s")
    questions = [q.question for q in load_questions() if q.type == "english"]
    for label, weight in (("bridge off", 0.0), ("bridge on", settings.crosslingual.bridge_weight)):
        searcher.settings = settings.tuned(crosslingual={"bridge_weight": weight})
        first = [searcher.search(q) for q in questions]
        again = [searcher.search(q) for _ in range(3) for q in questions]
        print(f"{label}: {len(questions)} English questions; first time: search "
              f"{_median_p90([r.took_ms for r in first])}, cross-lingual step "
              f"{_median_p90([r.timings.get('crosslingual_ms', 0.0) for r in first])}; repeated x3: search "
              f"{_median_p90([r.took_ms for r in again])}, cross-lingual step "
              f"{_median_p90([r.timings.get('crosslingual_ms', 0.0) for r in again])}")


if __name__ == "__main__":
    main()

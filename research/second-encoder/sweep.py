"""Second encoder (EmbeddingGemma-300M) fused with e5-small: sweep its share on dev, report test.

Opens an index built with ``BRIEFSEARCH_SECOND_MODEL=embeddinggemma-300m`` and scores one question set
at each ``ranking.second_weight`` (0 = e5-small alone, exactly the shipped ranking: a z-score is an
affine map of the cosines, so the min-max fusion with BM25 sees the same numbers; 1 = EmbeddingGemma
alone on the dense side). Each question's two query vectors are computed once (the encoders' query
caches), so the sweep costs one pass of EmbeddingGemma per question. Writes the figures per split and
the per-question runs (for the pooled paired test of issue 26's decision rule) to ``--out``.

    BRIEFSEARCH_SECOND_MODEL=embeddinggemma-300m python research/second-encoder/sweep.py \\
        --data-dir D --set briefings --out research/second-encoder/briefings.json
    ... --set laws --data-dir G   # G: a generalization scratch dir (python -m briefsearch.evaluation.generalization)
    ... --set korquad --articles 40 --data-dir D   # builds D/korquad: 40 of KorQuAD's 140 articles
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from briefsearch.config import Settings
from briefsearch.evaluation.evaluate import load_questions, run_eval
from briefsearch.runtime.engine import open_searcher

WEIGHTS = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0)


def questions_for(name: str) -> list:
    if name == "briefings":
        return load_questions()
    if name == "laws":
        from briefsearch.evaluation.generalization import QUESTIONS

        return load_questions(QUESTIONS)
    raise SystemExit(f"unknown set {name}")


def korquad(settings: Settings, articles: int) -> tuple[Settings, list]:
    """A deterministic subset of KorQuAD's articles (half dev, half test), built into ``<data_dir>/korquad``
    with these settings (both encoders), and its questions."""
    from briefsearch.evaluation.korquad import build, korquad_settings, load_articles, subset

    chosen = subset(load_articles(), articles)
    scratch = korquad_settings(settings, settings.data_dir / "korquad")
    print(build(scratch, chosen), flush=True)
    return scratch, [q for a in chosen for q in a.questions]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--set", required=True, choices=("briefings", "laws", "korquad"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--weights", type=float, nargs="*", default=WEIGHTS)
    parser.add_argument("--modes", nargs="*", default=["hybrid", "dense"])
    parser.add_argument("--articles", type=int, default=40, help="KorQuAD: the subset's size (of 140)")
    args = parser.parse_args()
    settings = Settings(data_dir=args.data_dir, query_cache_size=100_000)
    assert settings.second_model, "set BRIEFSEARCH_SECOND_MODEL"
    if args.set == "korquad":
        settings, questions = korquad(settings, args.articles)
    else:
        questions = questions_for(args.set)
    searcher = open_searcher(settings, build=False, progress=False)
    results: dict = {"set": args.set, "n": len(questions), "index": searcher.index.manifest.model, "rows": []}
    for mode in args.modes:
        for weight in args.weights:
            searcher.settings = settings.tuned(ranking={"second_weight": weight})
            started = time.perf_counter()
            report = run_eval(searcher, questions, mode=mode)
            row = {"mode": mode, "second_weight": weight, "per_split": report.per_split,
                   "overall": report.overall, "seconds": round(time.perf_counter() - started, 1),
                   "median_latency_ms": report.median_latency_ms, "run": report.run, "qrels": report.qrels,
                   "splits": {q.id: q.split for q in questions}}
            results["rows"].append(row)
            dev, test = report.per_split.get("dev", {}), report.per_split.get("test", {})
            print(f"{args.set} {mode} w={weight}: dev MRR {dev.get('mrr@10', 0):.3f} R@1 "
                  f"{dev.get('hit_rate@1', 0):.3f} | test MRR {test.get('mrr@10', 0):.3f} R@1 "
                  f"{test.get('hit_rate@1', 0):.3f} R@5 {test.get('hit_rate@5', 0):.3f} ({row['seconds']} s)",
                  flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()

"""Pick the fusion setting on the eval set (run once; the winner is fixed in index/settings.py).

    python -m briefsearch.eval.tune_fusion            # prints MRR@10 / Recall@5 per setting, best first

Only general knobs are searched (RRF constant and side weights, or a weighted
score fusion), on the dev split only (eval/split.py); eval/ablate_ranking.py
re-sweeps the weight together with the newer signals.
"""

from __future__ import annotations

import itertools

from briefsearch.eval.evaluate import load_questions, run_eval
from briefsearch.index.search import open_searcher
from briefsearch.index.settings import get_settings


def main() -> None:
    searcher = open_searcher(get_settings(), build=False, progress=False)
    questions = [q for q in load_questions() if q.split == "dev"]
    rows = []
    grid = [("rrf", k, w) for k, w in itertools.product((10, 30, 60, 100), (0.3, 0.4, 0.5, 0.6, 0.7))]
    grid += [("weighted", 0, w) for w in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)]
    for fusion, rrf_k, weight in grid:
        searcher.settings = searcher.settings.model_copy(update={"fusion": fusion, "rrf_k": rrf_k or 60,
                                                                 "dense_weight": weight})
        report = run_eval(searcher, questions, mode="hybrid")
        rows.append((report.overall["mrr@10"], report.overall["hit_rate@5"], fusion, rrf_k, weight))
        print(f"{fusion:9s} k={rrf_k:<4} w_dense={weight:.1f}  MRR@10={rows[-1][0]:.4f}  R@5={rows[-1][1]:.4f}",
              flush=True)
    print("\nbest first:")
    for mrr, r5, fusion, rrf_k, weight in sorted(rows, reverse=True)[:8]:
        print(f"{fusion:9s} k={rrf_k:<4} w_dense={weight:.1f}  MRR@10={mrr:.4f}  R@5={r5:.4f}")


if __name__ == "__main__":
    main()

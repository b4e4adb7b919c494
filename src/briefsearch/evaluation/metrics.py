"""Recall@k, MRR@10 and nDCG@10 of a run, exactly as ranx defines them, without ranx's start-up cost.

ranx builds numba typed dictionaries and compiles its metrics at every process
start: 5-9 s per ``briefsearch eval`` here, about 30 s on the first run after an
install (its on-disk cache is cold), against ~20 s for searching 317 questions.
These are the same definitions for binary relevance (every qrel grade is 1):

- Recall@k is ranx's ``hit_rate@k``: 1 when a relevant passage is in the top k;
- MRR@10: 1 / the rank of the first relevant passage within the top 10, else 0;
- nDCG@10 (ranx's default, Järvelin): the sum of grade / log2(rank + 1) over the
  top 10, divided by the same sum over the best possible order of the qrels.

Each is averaged over the questions and rounded to 4 places. A run ranks by score,
highest first; ``run_eval`` gives distinct scores (depth - rank), so order is never
a tie. ``research/evaluation/metrics-vs-ranx.md`` checks every eval set against ranx.
ranx stays for paired significance tests (``compare``), where its cost is paid once.
"""

from __future__ import annotations

import math

import numpy as np

CUTOFFS = (1, 3, 5, 10)
METRICS = [f"hit_rate@{k}" for k in CUTOFFS] + ["mrr@10", "ndcg@10"]
DEPTH = 10  # MRR and nDCG cut-off


def _dcg(gains: list[float]) -> float:
    return sum(g / math.log2(rank + 2) for rank, g in enumerate(gains[:DEPTH]))


def question_scores(relevant: dict[str, float], ranked: dict[str, float]) -> dict[str, float]:
    """One question's metrics: ``relevant`` maps a passage to its grade, ``ranked`` a passage to its score."""
    order = sorted(ranked, key=ranked.__getitem__, reverse=True)
    gains = [float(relevant.get(doc, 0)) for doc in order]
    first = next((rank for rank, g in enumerate(gains[:DEPTH]) if g > 0), None)
    ideal = _dcg(sorted((float(g) for g in relevant.values() if g > 0), reverse=True))
    return {
        **{f"hit_rate@{k}": float(any(g > 0 for g in gains[:k])) for k in CUTOFFS},
        "mrr@10": 0.0 if first is None else 1.0 / (first + 1),
        "ndcg@10": _dcg(gains) / ideal if ideal else 0.0,
    }


def mean_scores(qrels: dict[str, dict[str, float]], run: dict[str, dict[str, float]],
                ids: list[str]) -> dict[str, float]:
    """The questions ``ids``' mean metrics (a question missing from ``run`` retrieved nothing), with their count."""
    per_question = [question_scores(qrels[i], run.get(i, {})) for i in ids]
    means = {m: round(float(np.mean([s[m] for s in per_question])), 4) if per_question else 0.0 for m in METRICS}
    return {"n": float(len(ids)), **means}

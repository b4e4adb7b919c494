"""Rank fusion: pure functions over ranked lists of (id, score), best first."""

from __future__ import annotations

from collections.abc import Sequence

Ranking = Sequence[tuple[int, float]]


def reciprocal_rank_fusion(
    rankings: Sequence[Ranking], weights: Sequence[float], k: int = 60
) -> list[tuple[int, float]]:
    """Weighted reciprocal rank fusion.

    score(d) = sum_i w_i / (k + rank_i(d)), over the rankings that contain d.
    Cormack, Clarke and Buettcher, "Reciprocal Rank Fusion outperforms Condorcet and
    individual Rank Learning Methods", SIGIR 2009 (k = 60 there).

    >>> reciprocal_rank_fusion([[(1, .9), (2, .8)], [(2, 7.0), (3, 5.0)]], [1, 1], k=60)[0][0]
    2
    """
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, (item, _score) in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))


def weighted_score_fusion(rankings: Sequence[Ranking], weights: Sequence[float]) -> list[tuple[int, float]]:
    """Convex combination of min-max normalized scores (CombSUM with normalization).

    Fox and Shaw, "Combination of Multiple Searches", TREC-2 (1994); Lee, SIGIR 1997
    for min-max normalization. An item missing from a ranking gets 0 from it.

    >>> weighted_score_fusion([[(1, .9), (2, .8), (4, .1)], [(2, 7.0), (3, 5.0)]], [.5, .5])[0][0]
    2
    """
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        if not ranking:
            continue
        scores = [s for _, s in ranking]
        low, high = min(scores), max(scores)
        span = high - low or 1.0
        for item, score in ranking:
            fused[item] = fused.get(item, 0.0) + weight * (score - low) / span
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))


def coverage_weights(dense_weight: float, coverage: float) -> tuple[float, float]:
    """(dense, lexical) weights when the lexical side knows only part of the query.

    BM25 can match only query terms in its vocabulary; an English query over a
    Korean corpus matches a few loan words and drags in passages through them.
    The lexical weight shrinks with the share of query terms it knows, the
    dense weight stays: a fully covered query fuses as before.

    >>> coverage_weights(0.6, 1.0), coverage_weights(0.6, 0.0)
    ((0.6, 0.4), (0.6, 0.0))
    """
    coverage = min(1.0, max(0.0, coverage))
    return dense_weight, (1 - dense_weight) * coverage


def agreement_weights(dense_weight: float, dense: Ranking, lexical: Ranking, depth: int,
                      floor: float) -> tuple[float, float]:
    """(dense, lexical) weights with the lexical weight scaled by how much the two sides' tops agree.

    A paraphrased question shares few words with its answer, so BM25's top
    passages are lexical noise that the dense side does not confirm. The
    lexical weight keeps ``floor`` of itself and gains the rest in proportion
    to the overlap of the two top-``depth`` lists (floor 1: unchanged).

    >>> agreement_weights(0.6, [(1, .9), (2, .8)], [(2, 5.0), (3, 4.0)], 2, 0.5)
    (0.6, 0.30000000000000004)
    """
    if floor >= 1 or not dense or not lexical:
        return dense_weight, 1 - dense_weight
    top_dense = {i for i, _ in dense[:depth]}
    top_lexical = {i for i, _ in lexical[:depth]}
    agreement = len(top_dense & top_lexical) / max(1, min(depth, len(top_dense), len(top_lexical)))
    return dense_weight, (1 - dense_weight) * (floor + (1 - floor) * agreement)


def latin_weights(dense_weight: float, latin: float, slope: float) -> tuple[float, float]:
    """(dense, lexical) weights with the lexical weight shrinking with the query's share of Latin letters.

    BM25 over Korean morphemes matches an English question only through loan
    words and names; the more of the question is Latin script, the less its
    lexical ranking says. ``slope`` 0 leaves the weights alone; 1 makes an
    all-Latin question dense-only, a smooth form of the dense-only switch.

    >>> latin_weights(0.6, 1.0, 0.5), latin_weights(0.6, 0.0, 1.0)
    ((0.6, 0.2), (0.6, 0.4))
    """
    latin = min(1.0, max(0.0, latin))
    return dense_weight, (1 - dense_weight) * max(0.0, 1 - slope * latin)

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


def zscore_fusion(rankings: Sequence[Ranking], weights: Sequence[float]) -> list[tuple[int, float]]:
    """Weighted sum of z-scored scores: each ranking's scores minus their mean, over their standard deviation.

    For rankings of one kind on different scales, such as the cosines of two encoders (e5's sit in a narrow
    band, EmbeddingGemma's spread wider): z-scores compare how far above its own crowd each encoder puts an
    item, which min-max scaling lets the one outlier at the top decide. An item missing from a ranking gets
    that ranking's lowest z-score (it ranked below everything the ranking kept).

    >>> zscore_fusion([[(1, .9), (2, .8), (3, .7)], [(2, .5), (3, .4), (1, .1)]], [.5, .5])[0][0]
    2
    """
    fused: dict[int, float] = {}
    floors: list[float] = []
    zs: list[dict[int, float]] = []
    for ranking in rankings:
        scores = [s for _, s in ranking]
        if not scores:
            zs.append({})
            floors.append(0.0)
            continue
        mean = sum(scores) / len(scores)
        spread = (sum((s - mean) ** 2 for s in scores) / len(scores)) ** 0.5 or 1.0
        z = {item: (score - mean) / spread for item, score in ranking}
        zs.append(z)
        floors.append(min(z.values()))
    items = {item for z in zs for item in z}
    for item in items:
        fused[item] = sum(w * z.get(item, floor) for z, floor, w in zip(zs, floors, weights, strict=True))
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))

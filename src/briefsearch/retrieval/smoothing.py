"""Structure-aware score smoothing (the cluster hypothesis) over a fused ranking.

Passages that answer the same question tend to sit together: a section whose
other passages also score high is more likely the one asked about than a lone
passage that matched by chance elsewhere (van Rijsbergen's cluster hypothesis;
Kurland and Lee, "Corpus structure, language models, and ad hoc information
retrieval", SIGIR 2004, for smoothing a document's score with its cluster's).
Here the clusters are the document's own structure: the section a passage is
under, and the document. Pure functions over (id, score) lists.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence


def smooth_by_group(ranking: Sequence[tuple[int, float]], group_of: Callable[[int], Hashable],
                    weight: float) -> list[tuple[int, float]]:
    """Each score plus ``weight`` × the best score of another candidate of its group.

    A passage alone in its group gets nothing added: only agreement between
    neighbours lifts a passage. Re-sorted best first (ties: id).

    >>> ranked = smooth_by_group([(1, 1.0), (2, 0.9), (3, 0.8)], {1: "a", 2: "b", 3: "b"}.get, 0.5)
    >>> [(i, round(s, 2)) for i, s in ranked]
    [(2, 1.3), (3, 1.25), (1, 1.0)]
    """
    if weight <= 0 or not ranking:
        return list(ranking)
    best: dict[Hashable, list[tuple[int, float]]] = {}  # per group: its two best (id, score), best first
    for item, score in ranking:
        top = best.setdefault(group_of(item), [])
        if len(top) < 2:
            top.append((item, score))
    out = []
    for item, score in ranking:
        top = best[group_of(item)]
        others = [s for i, s in top if i != item]
        out.append((item, score + weight * others[0] if others else score))
    return sorted(out, key=lambda kv: (-kv[1], kv[0]))

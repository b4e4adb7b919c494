"""Sentence-level dense signal: a passage's best sentence cosine to the query (max-sim).

A passage vector averages all its sentences, so the one sentence that answers
is diluted by its neighbours. Every sentence was embedded at build time (for
/ask), so the best sentence's cosine costs one matrix-vector product over the
candidates' sentence vectors and a segmented maximum. Only the candidates' rows
are multiplied: the whole matrix grows ~5x faster than the passages
(bench/growth.md measured it as the main search cost at 100k passages).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from briefsearch.types import Chunk


class SentenceMaxSim:
    """Per passage: the maximum cosine between the query and any of its sentence vectors."""

    def __init__(self, chunks: Mapping[int, Chunk], matrix: np.ndarray) -> None:
        self.matrix = matrix
        ids, rows, starts = [], [], []
        for chunk_id, chunk in chunks.items():
            good = [r for r in chunk.sentence_rows if 0 <= r < len(matrix)]
            if good:
                ids.append(chunk_id)
                starts.append(len(rows))
                rows.extend(good)
        self.chunk_ids = np.array(ids, dtype=np.int64)
        self.rows = np.array(rows, dtype=np.int64)
        self.starts = np.array(starts, dtype=np.int64)
        self.position = {int(c): i for i, c in enumerate(ids)}

    def scores(self, vector: np.ndarray, chunk_ids: Iterable[int]) -> dict[int, float]:
        """Max-sim of the given passages (those without sentence vectors are left out)."""
        wanted = [cid for cid in dict.fromkeys(chunk_ids) if cid in self.position]
        if not wanted:
            return {}
        ends = np.append(self.starts[1:], len(self.rows))
        spans = [(self.starts[self.position[cid]], ends[self.position[cid]]) for cid in wanted]
        rows = np.concatenate([self.rows[a:b] for a, b in spans])
        starts = np.cumsum([0] + [b - a for a, b in spans[:-1]])
        best = np.maximum.reduceat(self.matrix[rows] @ vector, starts)
        return {cid: float(score) for cid, score in zip(wanted, best, strict=True)}

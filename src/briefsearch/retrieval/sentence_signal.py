"""Sentence-level dense signal: a passage's best sentence cosine to the query (max-sim).

A passage vector averages all its sentences, so the one sentence that answers
is diluted by its neighbours. Every sentence was embedded at build time (for
/ask), so the best sentence's cosine costs one matrix-vector product over the
candidates' sentence vectors and a segmented maximum. Only the candidates' rows
are multiplied: the whole matrix grows ~5x faster than the passages
(bench/growth.md measured it as the main search cost at 100k passages).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping

import numpy as np

from briefsearch.types import Chunk


class SentenceMaxSim:
    """Per passage: the maximum cosine between the query and any of its sentence vectors."""

    def __init__(self, chunks: Mapping[int, Chunk], matrix: np.ndarray) -> None:
        # float32 in memory: a float16 matrix (the default on disk) is converted element by element on every
        # product, ~0.45 ms of a search at 500 candidate rows; converted once here the product is ~0.05 ms
        # (the same float32 values, so the same scores), for 4 more bytes per stored number
        self.matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        self._rows: dict[int, list[int]] = {}  # per passage with sentence vectors, its rows of the matrix
        for chunk_id, chunk in chunks.items():
            good = [r for r in chunk.sentence_rows if 0 <= r < len(matrix)]
            if good:
                self._rows[chunk_id] = good

    def scores(self, vector: np.ndarray, chunk_ids: Iterable[int]) -> dict[int, float]:
        """Max-sim of the given passages (those without sentence vectors are left out)."""
        wanted = [cid for cid in dict.fromkeys(chunk_ids) if cid in self._rows]
        if not wanted:
            return {}
        per_chunk = [self._rows[cid] for cid in wanted]
        rows = np.fromiter(itertools.chain.from_iterable(per_chunk), dtype=np.int64)
        starts = np.cumsum([0] + [len(r) for r in per_chunk[:-1]])
        best = np.maximum.reduceat(self.matrix[rows] @ vector, starts)
        return dict(zip(wanted, best.tolist(), strict=True))

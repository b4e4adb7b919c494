"""Sentence-window dense signal: a passage's best cosine over windows of w consecutive sentences.

A single sentence is often too little context for e5 (a 개조식 bullet "ㅇ 2025년까지 …"
whose subject is the line before), a whole passage too much. A window's vector is
the normalized mean of its sentences' stored vectors: no forward pass, no rebuild.
Windows never cross a passage; a passage with fewer than w sentences is one window
of all of them. Scoring is SentenceMaxSim's, over the window matrix.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

import numpy as np

from briefsearch.retrieval.sentence_signal import SentenceMaxSim
from briefsearch.types import Chunk


def window_vectors(chunks: Mapping[int, Chunk], sentence_vectors: np.ndarray,
                   size: int) -> tuple[np.ndarray, dict[int, list[int]]]:
    """The distinct windows' vectors (float32, unit length) and, per passage, its windows' rows.

    Overlapping passages share sentences, so a window (a tuple of sentence rows)
    is computed once and its row shared.
    """
    row_of: dict[tuple[int, ...], int] = {}
    groups: dict[int, list[int]] = {}
    for chunk_id, chunk in chunks.items():
        rows = [r for r in chunk.sentence_rows if 0 <= r < len(sentence_vectors)]
        spans = [tuple(rows[i:i + size]) for i in range(max(1, len(rows) - size + 1))] if rows else []
        groups[chunk_id] = [row_of.setdefault(span, len(row_of)) for span in spans]
    if not row_of:
        return np.zeros((0, sentence_vectors.shape[1]), dtype=np.float32), groups
    spans = list(row_of)  # insertion order = row order
    flat = np.fromiter((r for span in spans for r in span), dtype=np.int64)
    starts = np.cumsum([0] + [len(span) for span in spans[:-1]])
    sums = np.add.reduceat(sentence_vectors[flat].astype(np.float32), starts, axis=0)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return sums / np.maximum(norms, 1e-12), groups


class SentenceWindows:
    """Window max-sim per window size, each size's matrix built on first use (settings may change per search)."""

    def __init__(self, chunks: Mapping[int, Chunk], sentence_vectors: np.ndarray) -> None:
        self.chunks = chunks
        self.sentence_vectors = sentence_vectors
        self._by_size: dict[int, SentenceMaxSim] = {}
        self._lock = threading.Lock()

    def scorer(self, size: int) -> SentenceMaxSim:
        """The max-sim scorer over windows of ``size`` sentences."""
        with self._lock:
            if size not in self._by_size:
                matrix, groups = window_vectors(self.chunks, self.sentence_vectors, size)
                self._by_size[size] = SentenceMaxSim.from_groups(groups, matrix)
            return self._by_size[size]

    def scores(self, vector: np.ndarray, chunk_ids: Iterable[int], size: int) -> dict[int, float]:
        """Best window cosine of the given passages (those without sentence vectors are left out)."""
        return self.scorer(size).scores(vector, chunk_ids)

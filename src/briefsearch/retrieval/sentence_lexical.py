"""Sentence-level lexical signal: a passage's best sentence BM25 (the lexical twin of sentence max-sim).

BM25 over a whole passage rewards a passage that names the question's words
anywhere, spread over several bullets; the passage that answers usually holds
them in one sentence. Each sentence's BM25 terms were stored at build time (for
/ask), so a BM25 index over sentences is built in memory when the index loads
(a fraction of a second for ~9k sentences) and a passage's score is its best
sentence's.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from briefsearch.store.lexical import LexicalIndex
from briefsearch.types import Chunk


class SentenceLexical:
    """Per passage: the maximum BM25 score of any of its sentences for the query's terms."""

    def __init__(self, chunks: Mapping[int, Chunk], k1: float, b: float) -> None:
        rows: list[list[str]] = []
        owners: list[int] = []
        for chunk_id, chunk in chunks.items():
            for terms in chunk.sentence_terms:
                rows.append(terms)
                owners.append(chunk_id)
        self.owner = np.array(owners, dtype=np.int64)
        self.index = LexicalIndex.build(rows, list(range(len(rows))), k1, b) if rows else None

    def search(self, terms: list[str], k: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        """(chunk id, best sentence BM25) best first, the top ``k`` passages; zero scores dropped."""
        if self.index is None:
            return []
        best: dict[int, float] = {}
        for row, score in self.index.search(terms, len(self.owner)):
            chunk_id = int(self.owner[row])
            if chunk_id not in best and (allowed is None or chunk_id in allowed):
                best[chunk_id] = score  # rows come best first: the first of a passage is its best
        return sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))[:k]

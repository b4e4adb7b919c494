"""Zero-shot late interaction over e5 token states: a second ranking stage (ColBERT-style MaxSim).

The passage vector is a mean of its token states, so a query whose words each
match one token of a passage (a name, a figure) scores no better than a
passage that is vaguely about the same topic. MaxSim keeps the tokens apart:
for every query token the most similar passage token, averaged over the query
(Khattab and Zaharia, "ColBERT", SIGIR 2020), here from the same e5 model
without training. Token states are the last hidden layer the encoder graph
computes before pooling (``briefsearch.embedding.onnx_backend.token_graph``); the passages'
are stored at build (float16), the query's come from one more forward pass.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TOKENS_FILE = "tokens.npy"
TOKEN_INDEX_FILE = "token_index.npy"


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32), so a dot product is a cosine."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.ascontiguousarray(matrix / np.maximum(norms, 1e-9), dtype=np.float32)


@dataclass(frozen=True, slots=True)
class PassageTokens:
    """Every passage's token states, packed: one float16 matrix and each passage's row range."""

    chunk_ids: np.ndarray  # int64, one per passage
    offsets: np.ndarray  # int64, len(chunk_ids) + 1: rows offsets[i]:offsets[i+1] belong to chunk_ids[i]
    matrix: np.ndarray  # float16, (total tokens x dim)

    @classmethod
    def pack(cls, chunk_ids: Sequence[int], states: Sequence[np.ndarray], dim: int) -> PassageTokens:
        offsets = np.zeros(len(states) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(s) for s in states])
        matrix = np.concatenate(states).astype(np.float16) if states else np.zeros((0, dim), dtype=np.float16)
        return cls(np.asarray(chunk_ids, dtype=np.int64), offsets, matrix)

    def lookup(self) -> dict[int, np.ndarray]:
        """Chunk id -> its token states as float32, converted once here.

        Converting float16 per candidate at query time (or reading a memory-mapped
        file) made MaxSim cost 0.1 s a passage on this loaded machine; float32 in
        memory costs twice the file size (about 100 MB for 295 passages).
        """
        full = np.asarray(self.matrix, dtype=np.float32)
        return {int(c): full[a:b] for c, a, b in
                zip(self.chunk_ids.tolist(), self.offsets[:-1].tolist(), self.offsets[1:].tolist(), strict=True)}

    def save(self, folder: Path) -> None:
        """Both files fsynced (the caller renames the finished version directory into place)."""
        for name, array in ((TOKENS_FILE, self.matrix),
                            (TOKEN_INDEX_FILE, np.stack([self.chunk_ids, self.offsets[:-1], self.offsets[1:]]))):
            with (folder / name).open("wb") as fh:
                np.save(fh, np.ascontiguousarray(array))
                fh.flush()
                os.fsync(fh.fileno())

    @classmethod
    def load(cls, folder: Path) -> PassageTokens | None:
        """The stored token states, or None for an index built without them."""
        if not (folder / TOKENS_FILE).is_file() or not (folder / TOKEN_INDEX_FILE).is_file():
            return None
        ids, starts, ends = np.load(folder / TOKEN_INDEX_FILE)
        offsets = np.append(starts, ends[-1] if len(ends) else 0).astype(np.int64)
        return cls(ids.astype(np.int64), offsets, np.load(folder / TOKENS_FILE))


def maxsim(query: np.ndarray, passage: np.ndarray) -> float:
    """Mean over query tokens of the best cosine with any passage token (rows of unit length)."""
    if not len(query) or not len(passage):
        return 0.0
    return float((query @ passage.T).max(axis=1).mean())


def _unit(x: np.ndarray) -> np.ndarray:
    span = x.max() - x.min()
    return (x - x.min()) / span if span > 0 else np.zeros_like(x)


def rerank(fused: Sequence[tuple[int, float]], query: np.ndarray, passages: dict[int, np.ndarray],
           depth: int, weight: float) -> list[tuple[int, float]]:
    """Reorder the top ``depth`` of a fused ranking by ``(1-weight)·first stage + weight·MaxSim``.

    Both scores are min-max normalized over those candidates (as the first
    fusion does) and the blend is mapped back onto the candidates' first-stage
    score range, so the rest of the ranking follows unchanged, below them. A
    candidate without token states gets the lowest MaxSim of the others.

    >>> q = np.eye(2, dtype=np.float32)
    >>> rerank([(1, 1.0), (2, 0.9)], q, {1: q[:1], 2: q}, depth=2, weight=0.6)[0][0]
    2
    """
    head, tail = list(fused[:depth]), list(fused[depth:])
    if weight <= 0 or len(head) < 2:
        return [*head, *tail]
    first = np.array([s for _, s in head], dtype=np.float64)
    late = np.array([maxsim(query, passages[c]) if c in passages else np.nan for c, _ in head])
    known = late[~np.isnan(late)]
    late = np.where(np.isnan(late), known.min() if len(known) else 0.0, late)
    blend = (1 - weight) * _unit(first) + weight * _unit(late)
    scores = first.min() + (first.max() - first.min()) * blend
    ranked = sorted(zip((c for c, _ in head), scores.tolist(), strict=True), key=lambda kv: (-kv[1], kv[0]))
    return [*ranked, *tail]

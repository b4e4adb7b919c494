"""Answer-sentence vectors pooled from the passage pass's own token states: no second forward pass.

The passage vector is the mean of the last hidden layer over all its tokens.
A sentence of that passage gets the mean over the tokens of its own character
span instead (found through the tokenizer's offset mapping), L2-normalised,
so one forward pass gives the passage vector and all its sentence vectors.
The sentence's tokens have seen the whole passage (its document name, section
and neighbours), unlike a sentence embedded on its own: the vectors differ,
and the build records which kind it stored (``Settings.sentence_vectors``).
Measured against the second pass in bench/build_throughput.md.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def token_ranges(offsets: np.ndarray, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Per character span [a, b), the range [i, j) of tokens overlapping it; (0, 0) when none does.

    ``offsets`` are one text's token spans, (0, 0) for special tokens and padding;
    a token is in a span when their characters overlap (a piece that starts with
    the word-boundary mark may begin one character early).
    """
    starts, ends = offsets[:, 0], offsets[:, 1]
    real = ends > starts
    out = []
    for a, b in spans:
        hits = np.flatnonzero(real & (starts < b) & (ends > a))
        out.append((int(hits[0]), int(hits[-1]) + 1) if len(hits) else (0, 0))
    return out


def pool_spans(states: np.ndarray, ranges: Sequence[tuple[int, int]], dim: int) -> np.ndarray:
    """Unit-length means of ``states`` rows over each token range; a zero row for an empty range."""
    out = np.zeros((len(ranges), dim), dtype=np.float32)
    for k, (i, j) in enumerate(ranges):
        if j > i:
            mean = states[i:j].astype(np.float32).mean(axis=0)
            out[k] = mean / max(float(np.linalg.norm(mean)), 1e-9)
    return out

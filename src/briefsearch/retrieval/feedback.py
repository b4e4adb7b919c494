"""Dense pseudo-relevance feedback: Rocchio on the query vector.

A paraphrased question shares few words with its passage and sits a little off
it in the embedding space; the top passages of a first search usually share the
topic, so moving the query towards their centroid and searching again pulls in
passages that say the same thing in the corpus's words (Rocchio, "Relevance
feedback in information retrieval", 1971; Li et al., "Pseudo relevance
feedback with deep language models and dense retrievers", 2022, for its use on
dense vectors). Pure functions; the searcher supplies the feedback vectors.
"""

from __future__ import annotations

import numpy as np


def rocchio(query: np.ndarray, feedback: np.ndarray, weight: float) -> np.ndarray:
    """``norm(q + weight * mean(feedback))``: the query moved towards the feedback passages' centroid.

    >>> q = np.array([1.0, 0.0], dtype=np.float32); fb = np.array([[0.0, 1.0]], dtype=np.float32)
    >>> [round(float(x), 3) for x in rocchio(q, fb, 1.0)]
    [0.707, 0.707]
    """
    if weight <= 0 or not len(feedback):
        return query
    moved = query.astype(np.float32) + weight * feedback.astype(np.float32).mean(axis=0)
    norm = float(np.linalg.norm(moved))
    return (moved / norm).astype(np.float32) if norm else query

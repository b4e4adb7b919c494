"""The sentence-window signal on the real model and index: windows, their fusion, and their settings."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from briefsearch.config import Settings
from briefsearch.evaluation.evaluate import load_questions, normalize_evidence
from briefsearch.retrieval.sentence_window import window_vectors


def _two_sentence_answer(searcher, question_id: str) -> tuple[str, int, int]:
    """The question, and the passage and sentence index where its first two evidence phrases sit in two
    consecutive sentences (each phrase in one of them only)."""
    question = next(q for q in load_questions() if q.id == question_id)
    first, second = (normalize_evidence(e) for e in question.evidence[:2])
    for chunk in searcher.index.chunks.values():
        if chunk.doc_id != question.doc_id:
            continue
        sentences = [normalize_evidence(chunk.text[s[0]:s[1]]) for s in chunk.sentences]
        for i in range(len(sentences) - 1):
            here, after = sentences[i], sentences[i + 1]
            if first in here and second in after and second not in here and first not in after:
                return question.question, chunk.chunk_id, i
    raise AssertionError(f"{question_id}: no passage holds its evidence in two consecutive sentences")


def test_a_window_is_the_normalized_mean_of_its_sentences(searcher) -> None:
    """Every passage gets max(1, n - w + 1) windows; a window's vector is the unit mean of its rows."""
    vectors = searcher.index.sentence_vectors
    matrix, groups = window_vectors(searcher.index.chunks, vectors, 2)
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-5)
    chunk = next(c for c in searcher.index.chunks.values() if len(c.sentence_rows) >= 4)
    assert len(groups[chunk.chunk_id]) == len(chunk.sentence_rows) - 1
    pair = vectors[chunk.sentence_rows[1:3]].astype(np.float32).sum(axis=0)
    assert np.allclose(matrix[groups[chunk.chunk_id][1]], pair / np.linalg.norm(pair), atol=1e-5)
    short = next(c for c in searcher.index.chunks.values() if len(c.sentence_rows) == 1)
    lone = vectors[short.sentence_rows[0]].astype(np.float32)
    assert np.allclose(matrix[groups[short.chunk_id]][0], lone / np.linalg.norm(lone), atol=1e-3)


def test_an_answer_over_two_sentences_scores_its_window_above_each_sentence(searcher) -> None:
    """q118 asks for a patent database's patent AND R&D criteria, stated in two consecutive sentences: the window
    of the two matches the question better than either alone, and the passage's window max-sim reaches it.
    (Not a law: for q019 and q177 the window falls under its better sentence; the sweep measures the whole.)"""
    question, chunk_id, i = _two_sentence_answer(searcher, "q118")
    query = searcher.encoder.encode_queries([question])[0]
    rows = searcher.index.chunks[chunk_id].sentence_rows[i:i + 2]
    alone = [float(searcher.index.sentence_vectors[r].astype(np.float32) @ query) for r in rows]
    pair = searcher.index.sentence_vectors[rows].astype(np.float32).sum(axis=0)
    window = float(pair @ query / np.linalg.norm(pair))
    assert window > max(alone)
    best = searcher.windows.scores(query, [chunk_id], 2)[chunk_id]
    assert best >= window - 1e-5
    assert best >= searcher.sentences.scores(query, [chunk_id])[chunk_id]


def test_the_window_share_enters_the_dense_score(searcher) -> None:
    """With the whole dense score given to windows, every shown dense score is the passage's best window
    cosine (of window_sentences sentences); with window_weight 0 the window is never computed into it."""
    question = "특허 산업화 데이터베이스에 등록하려는 기업이 충족해야 할 특허·R&D 기준은?"
    base = searcher.settings
    try:
        searcher.settings = base.model_copy(update={"sentence_weight": 0.0, "crosslingual_sentence_weight": None,
                                                    "window_weight": 1.0, "window_sentences": 3})
        on = searcher.search(question, k=5)
        searcher.settings = base.model_copy(update={"sentence_weight": 0.0, "crosslingual_sentence_weight": None,
                                                    "window_weight": 0.0})
        off = searcher.search(question, k=5)
    finally:
        searcher.settings = base
    windows = searcher.windows.scores(on.vector, [h.chunk.chunk_id for h in on.hits], 3)
    for hit in on.hits:
        assert abs(hit.dense_score - windows[hit.chunk.chunk_id]) < 1e-4
    vectors = searcher.vectors.index
    for hit in off.hits:  # the passage's own cosine
        own = vectors.reconstruct_batch(np.array([hit.chunk.chunk_id], dtype=np.int64))[0]
        assert abs(float(own @ off.vector) - hit.dense_score) < 1e-4


@pytest.mark.parametrize("update", [{"window_weight": 0.9}, {"window_weight": 0.5},
                                    {"window_weight": 0.3, "sentence_weight": 0.8}, {"window_sentences": 1},
                                    {"window_weight": -0.1}])
def test_window_settings_are_validated(update: dict) -> None:
    """The sentence and window shares together (cross-lingual too: 0.6 by default) cannot exceed the whole."""
    with pytest.raises(ValidationError):
        Settings(**update)


def test_window_settings_within_bounds_are_accepted() -> None:
    assert Settings(window_weight=0.4, window_sentences=3).window_weight == 0.4
    assert Settings(window_weight=0.9, sentence_weight=0.1, crosslingual_sentence_weight=None).window_weight == 0.9

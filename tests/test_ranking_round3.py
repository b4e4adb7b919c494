"""Round-3 ranking mechanisms on the real model and index: each reorders as designed, and its setting turns it off."""

from __future__ import annotations

import numpy as np

from briefsearch.retrieval.feedback import rocchio
from briefsearch.retrieval.fusion import agreement_weights
from briefsearch.retrieval.smoothing import smooth_by_group

QUESTION = "광둥성이 범용 인공지능 산업에서 2025년까지 이루려는 목표는?"


def _ranked(searcher, update: dict, question: str = QUESTION, k: int = 10) -> list:
    base = searcher.settings
    try:
        searcher.settings = base.model_copy(update=update)
        return searcher.search(question, k=k).hits
    finally:
        searcher.settings = base


def test_feedback_moves_the_query_towards_the_first_search_top(searcher) -> None:
    """With feedback the dense side is searched again with norm(q + a * mean(top passages)): every dense
    score shown is the cosine to the moved query, and the fed-back passage's cosine rises."""
    base = searcher.settings
    try:
        searcher.settings = base.model_copy(update={"prf_weight": 0.0, "sentence_weight": 0.0})
        first = searcher.search(QUESTION, k=10)
        searcher.settings = base.model_copy(update={"prf_weight": 0.5, "prf_depth": 1, "sentence_weight": 0.0})
        on = searcher.search(QUESTION, k=10).hits
    finally:
        searcher.settings = base
    top = first.hits[0].chunk.chunk_id
    vectors = searcher.vectors.index
    moved = rocchio(first.vector, vectors.reconstruct_batch(np.array([top], dtype=np.int64)), 0.5)
    assert not np.allclose(moved, first.vector)
    for hit in on[:5]:
        vector = vectors.reconstruct_batch(np.array([hit.chunk.chunk_id], dtype=np.int64))[0]
        assert abs(float(vector @ moved) - hit.dense_score) < 1e-4
    before = next(h.dense_score for h in first.hits if h.chunk.chunk_id == top)
    after = next(h.dense_score for h in on if h.chunk.chunk_id == top)
    assert after > before


def test_smoothing_lifts_a_passage_whose_section_mates_also_score(searcher) -> None:
    """Within the real structure: two passages of one section overtake a lone passage that scored higher."""
    chunks = searcher.index.chunks.values()
    by_section: dict[tuple, list[int]] = {}
    for c in chunks:
        by_section.setdefault((c.doc_id, *c.section_path), []).append(c.chunk_id)
    mates = next(ids for ids in by_section.values() if len(ids) >= 2)[:2]
    lone = next(ids[0] for ids in by_section.values() if mates[0] not in ids)
    base = searcher.settings
    try:
        searcher.settings = base.model_copy(update={"smooth_level": 6})
        ranking = [(lone, 1.0), (mates[0], 0.9), (mates[1], 0.8)]
        assert [i for i, _ in smooth_by_group(ranking, searcher._group_of, 0.3)][:2] == mates
        assert smooth_by_group(ranking, searcher._group_of, 0.0) == ranking
    finally:
        searcher.settings = base


def test_smoothing_raises_the_scores_of_passages_with_neighbours(searcher) -> None:
    off = _ranked(searcher, {"smooth_weight": 0.0})
    on = _ranked(searcher, {"smooth_weight": 0.2, "smooth_level": 0})
    assert on[0].score > off[0].score  # its document has other candidates: it gains a share of theirs


def test_agreement_weighting_lowers_the_lexical_weight_when_the_sides_disagree(searcher) -> None:
    base = searcher.settings
    dense = [(i, 1.0 - i / 100) for i in range(10)]
    assert agreement_weights(0.6, dense, dense, 10, 0.5)[1] == 0.4 * 1.0
    other = [(i + 100, 5.0) for i in range(10)]
    assert abs(agreement_weights(0.6, dense, other, 10, 0.5)[1] - 0.2) < 1e-9
    assert agreement_weights(0.6, dense, other, 10, 1.0) == (0.6, 0.4)  # floor 1: off
    assert base.agreement_floor <= 1.0


def test_sentence_bm25_ranks_a_passage_by_its_best_sentence(searcher) -> None:
    """A query made of one sentence's terms puts that sentence's passage at the top score."""
    chunk = next(c for c in searcher.index.chunks.values()
                 if len(c.sentence_terms) >= 3 and len(set(c.sentence_terms[1])) >= 4)
    ranked = searcher.sentence_bm25.search(chunk.sentence_terms[1], 10)
    scores = dict(ranked)
    assert scores[chunk.chunk_id] == ranked[0][1]
    assert searcher.sentence_bm25.search(chunk.sentence_terms[1], 10, allowed=set()) == []


def test_sentence_bm25_weight_zero_leaves_the_ranking_alone(searcher) -> None:
    off = [h.chunk.chunk_id for h in _ranked(searcher, {"sentence_lexical_weight": 0.0})]
    assert off == [h.chunk.chunk_id for h in _ranked(searcher, {})]
    on = _ranked(searcher, {"sentence_lexical_weight": 1.0})
    assert [h.chunk.chunk_id for h in on] != off or on[0].score != _ranked(searcher, {})[0].score


def test_latin_slope_one_searches_an_english_question_on_the_dense_side(searcher) -> None:
    """Slope 1: an all-Latin question's lexical weight is 0 (ranked as dense ranks it); Korean ones are untouched."""
    english = ("Which Chinese cities have already demonstrated commercial eVTOL flights as part of urban air "
               "mobility?")  # dev question q021: the lexical side moves its answer between ranks 9 and 10
    # the default (on) would search it on the dense side whatever the slope; no cross-lingual extras either
    fused = {"crosslingual_dense_only": False, "crosslingual_sentence_weight": None, "crosslingual_bridge_weight": 0.0}
    on = [h.chunk.chunk_id for h in _ranked(searcher, {**fused, "latin_lexical_slope": 1.0}, english)]
    off = [h.chunk.chunk_id for h in _ranked(searcher, {**fused, "latin_lexical_slope": 0.0}, english)]
    dense = [h.chunk.chunk_id for h in searcher.search(english, k=10, mode="dense").hits]
    assert on == dense != off
    korean = "광둥성의 범용 인공지능 산업 목표는?"
    assert [h.chunk.chunk_id for h in _ranked(searcher, {"latin_lexical_slope": 1.0}, korean)] == \
        [h.chunk.chunk_id for h in _ranked(searcher, {"latin_lexical_slope": 0.0}, korean)]

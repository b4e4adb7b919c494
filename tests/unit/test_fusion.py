"""Fusion formulas pinned on tiny hand-built rankings."""

from __future__ import annotations

import pytest

from briefsearch.retrieval.fusion import reciprocal_rank_fusion, weighted_score_fusion

DENSE = [(1, 0.90), (2, 0.85), (3, 0.80)]
LEXICAL = [(3, 12.0), (4, 6.0)]


def test_rrf_values() -> None:
    fused = dict(reciprocal_rank_fusion([DENSE, LEXICAL], [1.0, 1.0], k=60))
    assert fused[1] == pytest.approx(1 / 61)
    assert fused[3] == pytest.approx(1 / 63 + 1 / 61)
    assert fused[4] == pytest.approx(1 / 62)
    assert reciprocal_rank_fusion([DENSE, LEXICAL], [1.0, 1.0], k=60)[0][0] == 3


def test_rrf_weights_shift_the_winner() -> None:
    assert reciprocal_rank_fusion([DENSE, LEXICAL], [1.0, 0.0], k=60)[0][0] == 1
    assert reciprocal_rank_fusion([DENSE, LEXICAL], [0.0, 1.0], k=60)[0][0] == 3


def test_weighted_fusion_min_max_normalizes_each_side() -> None:
    fused = dict(weighted_score_fusion([DENSE, LEXICAL], [0.6, 0.4]))
    assert fused[1] == pytest.approx(0.6 * 1.0)
    assert fused[2] == pytest.approx(0.6 * 0.5)
    assert fused[3] == pytest.approx(0.6 * 0.0 + 0.4 * 1.0)
    assert fused[4] == pytest.approx(0.4 * 0.0)


def test_fusion_of_empty_sides() -> None:
    assert weighted_score_fusion([[], LEXICAL], [0.5, 0.5])[0] == (3, 0.5)
    assert reciprocal_rank_fusion([[], []], [0.5, 0.5]) == []

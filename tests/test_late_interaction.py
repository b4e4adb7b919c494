"""Late interaction (MaxSim over e5 token states) as the second stage: real model, real index, real HTTP app.

The session index is built without token states; these tests build their own
over one real briefing with ``late_interaction`` on, reusing the session's
embedding cache (only the token states are computed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from briefsearch.config import Settings
from briefsearch.retrieval.late_interaction import maxsim, rerank

DOC = "000_b57bb989019f2633"  # the smallest briefing: 37 passages
QUERY = "강서성 미래산업 발전 투자기금 규모"


@pytest.fixture(scope="module")
def late_settings(settings: Settings, searcher, one_document, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A corpus of one real briefing, with token states stored and the second stage on."""
    return one_document(settings, tmp_path_factory.mktemp("late"), DOC, late_interaction=True,
                        rerank_weight=0.5, rerank_depth=20)


@pytest.fixture(scope="module")
def late_searcher(late_settings: Settings):
    from briefsearch.runtime.engine import open_searcher

    return open_searcher(late_settings, build=True, progress=False)


def test_token_states_are_stored_for_every_passage(late_searcher) -> None:
    """One unit-length row per model token of each passage, equal to encoding the passage again."""
    index = late_searcher.index
    assert index.token_states is not None
    stored = late_searcher.passage_tokens
    assert set(stored) == set(index.chunks)
    chunk = next(iter(index.chunks.values()))
    states = stored[chunk.chunk_id].astype(np.float32)
    n_tokens = late_searcher.encoder.count_tokens([late_searcher.encoder.passage_prefix + chunk.embed_text])[0]
    assert states.shape == (min(n_tokens, late_searcher.encoder.max_seq_length - 2), late_searcher.encoder.dim)
    assert np.allclose(np.linalg.norm(states, axis=1), 1.0, atol=1e-2)  # float16 storage
    again = late_searcher.encoder.passage_token_states([chunk.embed_text], progress=False)[0]
    assert np.abs(again - states).max() < 1e-2


def test_second_stage_orders_the_head_by_maxsim(late_searcher) -> None:
    """With all the weight on MaxSim, the shown hits within the depth come in decreasing MaxSim."""
    base = late_searcher.settings
    try:
        late_searcher.settings = base.model_copy(update={"rerank_weight": 1.0})
        result = late_searcher.search(QUERY, k=10)
    finally:
        late_searcher.settings = base
    assert "rerank_ms" in result.timings
    query = late_searcher.query_tokens(QUERY)
    sims = [maxsim(query, late_searcher.passage_tokens[h.chunk.chunk_id]) for h in result.hits]
    assert sims == sorted(sims, reverse=True), sims


def test_second_stage_changes_the_first_stage_order(late_searcher) -> None:
    """The reranked top 20 is the first stage's top 20 in another order (same passages, none lost)."""
    base = late_searcher.settings
    try:
        late_searcher.settings = base.model_copy(update={"rerank_weight": 0.0})
        first = late_searcher.search(QUERY, k=20)
        late_searcher.settings = base.model_copy(update={"rerank_weight": 1.0})
        second = late_searcher.search(QUERY, k=20)
    finally:
        late_searcher.settings = base
    assert "rerank_ms" not in first.timings
    ids_first = [h.chunk.chunk_id for h in first.hits]
    ids_second = [h.chunk.chunk_id for h in second.hits]
    assert ids_first != ids_second
    assert set(ids_first) == set(ids_second)


def test_rerank_keeps_the_tail_below_the_head() -> None:
    """Candidates past the depth keep their order and scores, below every reordered one."""
    q = np.eye(3, dtype=np.float32)
    passages = {1: q[:1], 2: q, 3: q[:2]}
    fused = [(1, 0.9), (2, 0.8), (3, 0.7), (4, 0.2), (5, 0.1)]
    out = rerank(fused, q, passages, depth=3, weight=1.0)
    assert [c for c, _ in out] == [2, 3, 1, 4, 5]
    assert out[3:] == fused[3:]
    assert min(s for _, s in out[:3]) >= out[3][1]
    assert rerank(fused, q, passages, depth=3, weight=0.0) == fused


def test_disabled_without_token_states(searcher) -> None:
    """An index built without token states (the session index) searches as the first stage alone."""
    assert searcher.passage_tokens == {}  # the session index: late_interaction off
    result = searcher.search(QUERY, k=5)
    assert "rerank_ms" not in result.timings


def test_search_api_serves_the_reranked_order(late_settings: Settings, late_searcher) -> None:
    """/search through the real app returns what the searcher's second stage ranks."""
    from fastapi.testclient import TestClient

    from briefsearch.api.app import create_app

    expected = [h.chunk.chunk_id for h in late_searcher.search(QUERY, k=5).hits]
    with TestClient(create_app(late_settings, searcher=late_searcher)) as client:
        response = client.post("/search", json={"query": QUERY, "k": 5})
    assert response.status_code == 200
    assert [r["chunk_id"] for r in response.json()["results"]] == expected


def test_token_graph_is_written_beside_the_encoder_graph(late_searcher) -> None:
    """The token graph is a small file naming the same weights file: no second copy of the weights."""
    folder = Path(late_searcher.encoder._onnx_folder(late_searcher.encoder.identity["name"],
                                                     late_searcher.encoder.identity["checksum"]))
    tokens = folder / "model.tokens.onnx"
    assert tokens.is_file() and tokens.stat().st_size < 5 * 2**20

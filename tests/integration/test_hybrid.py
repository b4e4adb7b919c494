"""Hybrid retrieval on the real index: analyzer, modes, scores, filters, near-duplicates."""

from __future__ import annotations

import pytest

from briefsearch.answer.answerer import Answerer
from briefsearch.retrieval.crosslingual import is_crosslingual
from briefsearch.types import SearchFilters

D001, D003, D004 = "001_7307f45af5f7b1ae", "003_263747581c6563b7", "004_0772bc47312adfbb"


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_every_mode_answers_through_the_api(client, mode: str) -> None:
    body = client.post("/search", json={"query": "단일 위성 최대 744TOPS", "k": 5, "mode": mode}).json()
    assert body["mode"] == mode
    top = body["results"][0]
    assert any("744TOPS" in r["text"] for r in body["results"])
    if mode != "dense":  # the exact figure is what the lexical side is for; dense alone may rank it lower
        assert top["doc_id"] == D004 and "744TOPS" in top["text"]
    if mode == "dense":
        assert top["score"] == top["dense_score"]
    if mode == "lexical":
        assert top["score"] == top["lexical_score"]


def test_hybrid_results_report_both_sides_and_matched_terms(client) -> None:
    body = client.post("/search", json={"query": "광둥성 범용 인공지능 '25년 목표", "k": 5}).json()
    assert body["mode"] == "hybrid"
    top = body["results"][0]
    assert top["dense_score"] is not None and top["dense_rank"] >= 1
    assert top["lexical_score"] is not None and top["lexical_rank"] >= 1
    assert "광둥성" in top["matched_terms"]
    for term in top["matched_terms"]:
        assert term.lower() in (top["text"] + top["section"] + " ".join(top["footnotes"])).lower()
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)


def test_unknown_mode_is_rejected(client) -> None:
    response = client.post("/search", json={"query": "위성", "mode": "fuzzy"})
    assert response.status_code == 422 and "mode" in response.json()["detail"]
    assert client.get("/search", params={"q": "위성", "mode": "fuzzy"}).status_code == 422


def test_document_filter_is_applied_inside_the_search(client) -> None:
    """A filtered query still returns a full top k from the allowed documents."""
    body = client.post("/search", json={"query": "위성 연산 능력", "k": 10, "doc_ids": [D003]}).json()
    assert len(body["results"]) == 10
    assert {r["doc_id"] for r in body["results"]} == {D003}
    got = client.get("/search", params=[("q", "위성 연산 능력"), ("k", "3"), ("doc_id", D001), ("doc_id", D003)]).json()
    assert {r["doc_id"] for r in got["results"]} <= {D001, D003}
    unknown = client.post("/search", json={"query": "위성", "doc_ids": ["nope"]})
    assert unknown.status_code == 422 and "nope" in unknown.json()["detail"]


def test_date_and_publisher_filters(client, searcher) -> None:
    recent = client.post("/search", json={"query": "인공지능 산업", "k": 10, "date_from": "2026-01-01"}).json()
    assert recent["results"] and {r["doc_id"] for r in recent["results"]} == {D004}
    window = {"query": "인공지능", "k": 20, "date_from": "2023-11", "date_to": "2024-03"}
    span = client.post("/search", json=window).json()
    assert {r["doc_id"] for r in span["results"]} <= {D001, D003, "000_b57bb989019f2633"}
    kostec = client.post("/search", json={"query": "인공지능", "k": 20, "publisher": "kostec"}).json()
    assert {r["doc_id"] for r in kostec["results"]} <= {D001, D003, D004}
    none = client.post("/search", json={"query": "인공지능", "date_to": "2000"}).json()
    assert none["results"] == []
    bad = client.post("/search", json={"query": "인공지능", "date_from": "last week"})
    assert bad.status_code == 422 and "date" in bad.json()["detail"]
    month = client.post("/search", json={"query": "인공지능", "date_to": "2026-13"})  # not wrapped to 2027-01
    assert month.status_code == 422 and "month" in month.json()["detail"]
    direct = searcher.search("인공지능", 5, "lexical", SearchFilters(doc_ids=(D001,)))
    assert {h.chunk.doc_id for h in direct.hits} == {D001}


def test_summary_and_body_do_not_crowd_the_top(searcher) -> None:
    """The 요약 bullet and the body passage restating it: one is shown, the other is cited as its duplicate."""
    result = searcher.search("광둥성 범용 인공지능 산업 혁신거점 스마트 연산력 규모 전국 1위", 5)
    shown = [h.chunk.chunk_id for h in result.hits]
    folded = [d.chunk_id for h in result.hits for d in h.duplicates]
    assert not set(shown) & set(folded)
    # the fold itself: a summary bullet shown with its body passage as a duplicate, or the other way round
    pairs = [(h.chunk.kind, d.kind) for h in result.hits for d in h.duplicates]
    assert any("summary" in pair and pair[0] != pair[1] for pair in pairs), pairs
    kinds = [h.chunk.kind for h in result.hits if h.chunk.doc_id == D001]
    assert kinds.count("summary") <= 1


def test_aliases_are_mined_from_bracketed_originals(searcher) -> None:
    """한글(原文) pairs give Latin and pinyin keys: "Suncatcher" and "Jiuquan" (酒泉) reach the Korean names."""
    from briefsearch.retrieval.aliases import expand_query, mine_aliases

    aliases = mine_aliases(["구글은 선캐처(Suncatcher) 계획을", "주취안(酒泉) 위성발사센터에서"])
    assert aliases == {"suncatcher": "선캐처", "jiuquan": "주취안"}
    assert expand_query("Jiuquan launch", aliases) == "Jiuquan launch 주취안"
    assert searcher.aliases["jiuquan"] == "주취안"  # mined from the indexed corpus itself


def test_an_alias_lets_the_lexical_side_find_the_korean_passage(searcher) -> None:
    """BM25 cannot match "Jiuquan" in Korean text; with the mined alias it finds the 주취안 passages."""
    base = searcher.settings
    try:
        searcher.settings = base.tuned(ranking={"query_aliases": False})
        assert searcher.search("Jiuquan satellite launch", k=3, mode="lexical").hits == []
        searcher.settings = base.tuned(ranking={"query_aliases": True})
        hits = searcher.search("Jiuquan satellite launch", k=3, mode="lexical").hits
        assert hits and all("주취안" in h.chunk.text for h in hits[:2])
    finally:
        searcher.settings = base


@pytest.mark.parametrize(("question", "crosslingual"), [
    ("Which Chinese cities have already demonstrated commercial eVTOL flights?", True),
    ("광둥성의 범용 AI 산업 목표는?", False),
    ("Huawei Ascend 910B 성능은?", True),  # 18 Latin letters against 3 Hangul syllables
])
def test_search_and_ask_take_one_crosslingual_decision(searcher, question: str, crosslingual: bool) -> None:
    """/ask (names not required verbatim) and search (BM25 off) decide "asked in Latin letters" with one function."""
    threshold = searcher.settings.crosslingual.latin_share
    assert is_crosslingual(question, threshold) is crosslingual
    features = Answerer(searcher).features([], searcher.search(question, k=3))
    assert features["crosslingual"] is crosslingual


def test_sentence_max_sim_is_the_best_sentence_cosine(searcher) -> None:
    """A sentence's own vector scores 1 against the passage holding it, and less against others."""
    chunk = next(c for c in searcher.index.chunks.values() if len(c.sentence_rows) >= 3)
    vector = searcher.index.sentence_vectors[chunk.sentence_rows[1]]
    other = next(c for c in searcher.index.chunks.values() if c.doc_id != chunk.doc_id and c.sentence_rows)
    scores = searcher.sentences.scores(vector, [chunk.chunk_id, other.chunk_id])
    assert abs(scores[chunk.chunk_id] - 1.0) < 1e-4
    assert scores[other.chunk_id] < scores[chunk.chunk_id]


def test_an_english_question_is_searched_on_the_dense_side_alone(searcher) -> None:
    """BM25 over Korean morphemes cannot match English words: a mostly-Latin question ranks as dense does
    (without the term bridge and its own sentence weight, tests/integration/test_crosslingual.py)."""
    question = "Which Chinese cities have already demonstrated commercial eVTOL flights?"
    base = searcher.settings
    try:
        searcher.settings = base.tuned(crosslingual={"dense_only": True, "bridge_weight": 0.0, "sentence_weight": None})
        hybrid = [h.chunk.chunk_id for h in searcher.search(question, k=5).hits]
        dense = [h.chunk.chunk_id for h in searcher.search(question, k=5, mode="dense").hits]
        assert hybrid == dense
        assert searcher.search(question, k=5, mode="lexical").hits  # BM25 does match some words: left out
        korean = "광둥성의 범용 AI 산업 목표는?"  # mostly Hangul: both sides fuse, whatever the setting
        searcher.settings = base.tuned(crosslingual={"dense_only": True})
        on = [h.chunk.chunk_id for h in searcher.search(korean, k=5).hits]
        searcher.settings = base.tuned(crosslingual={"dense_only": False})
        assert on == [h.chunk.chunk_id for h in searcher.search(korean, k=5).hits]
    finally:
        searcher.settings = base

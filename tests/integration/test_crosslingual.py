"""The cross-lingual lexical side on the real model, index and corpus: what it maps, and that Korean questions
never take the path."""

from __future__ import annotations

import numpy as np

from briefsearch.embedding.cache import EmbeddingCache
from briefsearch.retrieval.crosslingual import TermBridge, korean_nouns, merged

ENGLISH = "How many satellites does Google's Suncatcher plan put into low orbit?"
KOREAN = "광둥성이 범용 인공지능 산업에서 2025년까지 이루려는 목표는?"
ALL_ON = {"bridge_weight": 0.3, "sentence_weight": 0.8}


def _search(searcher, crosslingual: dict, question: str, k: int = 10):
    """The search with some of the cross-lingual parameters changed (``settings.crosslingual``)."""
    base = searcher.settings
    try:
        searcher.settings = base.tuned(crosslingual=crosslingual)
        return searcher.search(question, k=k)
    finally:
        searcher.settings = base


def test_korean_nouns_are_one_kiwi_noun_each(searcher) -> None:
    nouns = korean_nouns(searcher.index.chunks.values(), searcher.korean, 200)
    assert len(nouns) == 200 and "산업" in nouns
    for term in nouns[:50]:
        tokens = searcher.korean.tokenize(term)
        assert len(tokens) == 1 and tokens[0].tag in {"NNG", "NNP"}, term


def test_the_bridge_maps_english_words_to_their_korean_nouns(searcher) -> None:
    bridge = searcher.term_bridge
    assert 0 < len(bridge.terms) <= searcher.settings.crosslingual.bridge_terms
    floor = searcher.settings.crosslingual.bridge_floor
    mapped = merged(bridge.map_words(searcher.encoder.encode_queries(["robot", "patent"]), floor, 3))
    assert "로봇" in mapped and "특허" in mapped and all(0 < w <= 1 for w in mapped.values())
    assert merged(bridge.map_words(searcher.encoder.encode_queries(["robot"]), 0.999, 3)) == {}  # nothing that close


def test_weighted_bm25_scales_each_term(searcher) -> None:
    plain = searcher.index.lexical.search(["위성"], 10)
    doubled = searcher.index.lexical.search_weighted({"위성": 2.0, "없는낱말": 5.0}, 10)
    assert [c for c, _ in plain] == [c for c, _ in doubled]
    assert all(abs(2 * a - b) < 1e-3 for (_, a), (_, b) in zip(plain, doubled, strict=True))


def test_korean_questions_never_take_the_crosslingual_path(searcher) -> None:
    off, on = _search(searcher, {}, KOREAN), _search(searcher, ALL_ON, KOREAN)
    assert [(h.chunk.chunk_id, h.score) for h in off.hits] == [(h.chunk.chunk_id, h.score) for h in on.hits]
    assert "crosslingual_ms" not in on.timings
    assert on.bridged is None  # nothing mapped: /ask maps nothing either


def test_an_english_question_gets_the_korean_rankings_when_on(searcher) -> None:
    off = _search(searcher, {"bridge_weight": 0.0}, ENGLISH)
    on = _search(searcher, {"bridge_weight": 0.5}, ENGLISH)
    assert "crosslingual_ms" in on.timings
    assert [h.score for h in off.hits] != [h.score for h in on.hits]
    # the words the search mapped travel with the result (for /ask); a search without the bridge mapped none
    assert on.bridged == searcher.bridged_words(ENGLISH) and any(on.bridged)
    assert off.bridged is None


def test_a_cold_searcher_loads_the_bridge_on_the_first_english_question(searcher) -> None:
    """A command's searcher is not warmed (cli.py): Korean questions never load the term bridge, and the first
    English one loads it and gets the warm searcher's ranking."""
    from briefsearch.retrieval.searcher import Searcher

    cold = Searcher(searcher.index, searcher.encoder, searcher.settings, korean=searcher.korean)
    korean = cold.search(KOREAN, 5)
    assert "term_bridge" not in cold.__dict__
    assert [h.chunk.chunk_id for h in korean.hits] == [h.chunk.chunk_id for h in searcher.search(KOREAN, 5).hits]
    english = cold.search(ENGLISH, 10)
    assert "term_bridge" in cold.__dict__ and cold.term_bridge.terms == searcher.term_bridge.terms
    assert [(h.chunk.chunk_id, h.score) for h in english.hits] == [
        (h.chunk.chunk_id, h.score) for h in searcher.search(ENGLISH, 10).hits]


def test_a_bridge_built_on_the_last_one_is_the_bridge_built_from_nothing(searcher) -> None:
    """After an add or remove the bridge is built on the last version's (only nouns new to it are tokenized and
    looked up): the same nouns, in the same order, with the same vectors as a build from nothing, both ways."""
    chunks = list(searcher.index.chunks.values())
    fewer = [c for c in chunks if c.doc_id != chunks[0].doc_id]  # the corpus without one document
    cache = EmbeddingCache(searcher.settings.data_dir / "cache", searcher.encoder.identity)
    limit = searcher.settings.crosslingual.bridge_terms

    def build(corpus: list, previous: TermBridge | None = None) -> TermBridge:
        return TermBridge.build(corpus, searcher.korean, searcher.encoder, cache, limit, previous)

    full, small = build(chunks), build(fewer)
    assert set(small.terms) < set(full.terms) and small.terms != full.terms[:len(small.terms)]  # order moved too
    for last, corpus, fresh in ((small, chunks, full), (full, fewer, small)):  # a document added, then removed
        grown = build(corpus, last)
        assert grown.terms == fresh.terms and np.array_equal(grown.vectors, fresh.vectors)
        assert last.readings.items() <= grown.readings.items()
    served = searcher.with_index(searcher.index).term_bridge  # what a new index version's searcher gets
    assert served.terms == searcher.term_bridge.terms
    assert np.array_equal(served.vectors, searcher.term_bridge.vectors)

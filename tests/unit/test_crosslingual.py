"""The cross-lingual lexical side without the model: content words and feedback terms."""

from __future__ import annotations

from briefsearch.retrieval.crosslingual import content_words, feedback_terms


def test_content_words_drop_stop_words_and_keep_adjacent_pairs() -> None:
    assert content_words("How many satellites will the Three-Body constellation launch?") == [
        "satellites", "three-body", "constellation", "launch", "three-body constellation", "constellation launch"]
    assert content_words("What is it?") == []


def test_feedback_terms_need_two_passages_and_weigh_by_idf() -> None:
    idf = {"반도체": 2.0, "산업": 0.1, "위성": 3.0}
    weights = feedback_terms([{"반도체", "산업", "위성"}, {"반도체", "산업"}, {"위성"}], idf, 2)
    assert set(weights) == {"위성", "반도체"} and weights["위성"] == 1.0 and weights["반도체"] < 1.0

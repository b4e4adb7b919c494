"""The cross-lingual lexical side without the model: content words and feedback terms."""

from __future__ import annotations

from briefsearch.retrieval.crosslingual import content_words


def test_content_words_drop_stop_words_and_keep_adjacent_pairs() -> None:
    assert content_words("How many satellites will the Three-Body constellation launch?") == [
        "satellites", "three-body", "constellation", "launch", "three-body constellation", "constellation launch"]
    assert content_words("What is it?") == []

"""Cross-lingual (mostly Latin) questions over the Korean corpus: telling them apart, and a lexical side for them.

A question whose letters are mostly Latin (``is_crosslingual``) asks in another
language than the passages are written in: BM25 over Korean morphemes cannot
match its words. A **term bridge** (bilingual lexicon induction with e5 itself)
turns it into weighted Korean BM25 terms, a ranking of its own that fusion
weighs against the dense side (setting ``crosslingual.bridge_weight``; measured
in ``research/crosslingual/crosslingual-round2.md``): the corpus's Korean nouns (the BM25
vocabulary, bounded to the most frequent) are embedded once, cached in the
embedding cache; a question's English content words and adjacent word pairs are
embedded in one batch and each brings its nearest Korean nouns above a cosine
floor, weighted by that cosine.
"""

from __future__ import annotations

import functools
import itertools
import re
import time
from collections import Counter
from collections.abc import Iterable

import numpy as np

from briefsearch.embedding.cache import EmbeddingCache, encode_with_cache
from briefsearch.embedding.encoder import Encoder
from briefsearch.text.korean import KoreanText
from briefsearch.types import Chunk

_WORD = re.compile(r"[A-Za-z][A-Za-z\-']*")
_HANGUL_TERM = re.compile(r"[가-힣]{2,}")
_NOUN_TAGS = {"NNG", "NNP"}


@functools.cache
def stop_words() -> frozenset[str]:
    """scikit-learn's English stop words plus the auxiliaries it lacks; imported on first use, since importing
    scikit-learn costs every process ~1.5 s and only English questions need the list (serving warms it)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return ENGLISH_STOP_WORDS | {"does", "did", "doing"}


def latin_share(text: str) -> float:
    """Share of a text's letters that are Latin (an English question over Korean text is mostly Latin)."""
    letters = [c for c in text if c.isalpha()]
    return sum(c.isascii() for c in letters) / max(1, len(letters))


def is_crosslingual(text: str, latin_above: float) -> bool:
    """Whether a question asks in Latin letters over the Korean text (``crosslingual.latin_share``): its words
    are not expected verbatim in the passages, so search weights BM25 off and /ask does not require its names."""
    return latin_share(text) > latin_above


def content_words(text: str) -> list[str]:
    """A question's English content words (stop words and one- or two-letter words dropped) and adjacent pairs."""
    words = [re.sub(r"'s$", "", w.lower()).strip("'-") for w in _WORD.findall(text)]
    stop = stop_words()
    kept = [w if len(w) > 2 and w not in stop else None for w in words]
    pairs = [f"{a} {b}" for a, b in itertools.pairwise(kept) if a and b]
    return list(dict.fromkeys([w for w in kept if w] + pairs))


def korean_nouns(chunks: Iterable[Chunk], korean: KoreanText, limit: int,
                 readings: dict[str, bool] | None = None) -> list[str]:
    """The corpus's Korean BM25 terms that Kiwi reads as one noun, most frequent (by passage count) first.

    ``readings`` (term -> read as one noun) are Kiwi's answers from an earlier corpus, the same in any corpus:
    only terms it lacks are tokenized (the tokenizing is nearly all of the cost), and their answers are added.
    """
    frequency: Counter[str] = Counter()
    for chunk in chunks:
        frequency.update({t for t in chunk.terms if _HANGUL_TERM.fullmatch(t)})
    readings = {} if readings is None else readings
    nouns = []
    for term, _ in frequency.most_common():
        if term not in readings:
            tokens = korean.tokenize(term)
            readings[term] = len(tokens) == 1 and tokens[0].tag in _NOUN_TAGS
        if readings[term]:
            nouns.append(term)
            if len(nouns) == limit:
                break
    return nouns


class TermBridge:
    """English word -> its nearest Korean corpus nouns by e5 cosine (both embedded as queries)."""

    def __init__(self, terms: list[str], vectors: np.ndarray, build_seconds: float = 0.0,
                 readings: dict[str, bool] | None = None) -> None:
        self.terms = terms
        self.vectors = np.ascontiguousarray(vectors.T)  # (dim, terms): a contiguous right operand, ~0.5 ms a question
        self.build_seconds = build_seconds
        self.readings = readings or {}  # Kiwi's noun readings so far, for the next corpus's bridge

    @classmethod
    def build(cls, chunks: Iterable[Chunk], korean: KoreanText, encoder: Encoder, cache: EmbeddingCache | None,
              limit: int, previous: TermBridge | None = None) -> TermBridge:
        """Embed the corpus's ``limit`` most frequent Korean nouns (vectors kept in the embedding cache).

        With ``previous`` (the bridge of the corpus before an add or remove), its Kiwi readings and noun vectors
        are reused and only new terms are tokenized and looked up: the same bridge as a build from nothing
        (the nouns and their order are recounted from the passages; a vector is the same text's vector).
        """
        started = time.perf_counter()
        readings = dict(previous.readings) if previous is not None else {}
        terms = korean_nouns(chunks, korean, limit, readings)
        known = dict(zip(previous.terms, previous.vectors.T, strict=True)) if previous is not None else {}
        new = [t for t in terms if t not in known]
        prefix = encoder.query_prefix
        fresh, _ = encode_with_cache([prefix + t for t in new],
                                     lambda texts: encoder.encode_queries([t[len(prefix):] for t in texts]),
                                     cache, encoder.dim)
        known.update(zip(new, fresh, strict=True))
        vectors = np.stack([known[t] for t in terms]) if terms else np.zeros((0, encoder.dim), dtype=np.float32)
        return cls(terms, vectors, time.perf_counter() - started, readings)

    def map_words(self, word_vectors: np.ndarray, floor: float, per_word: int) -> list[dict[str, float]]:
        """Per word, Korean term -> weight: its ``per_word`` nearest terms at cosine >= ``floor``, weighted by how
        far above the floor (e5 cosines are compressed: a translation pair scores 0.90-0.95, an unrelated pair
        0.85); a word with no term that close maps to nothing."""
        if not self.terms or not len(word_vectors):
            return []
        sims = word_vectors @ self.vectors
        out: list[dict[str, float]] = []
        for row in sims:
            found: dict[str, float] = {}
            for i in np.argsort(-row, kind="stable")[:per_word]:
                if row[i] <= floor:
                    break
                found[self.terms[int(i)]] = (float(row[i]) - floor) / max(1e-6, 1 - floor)
            out.append(found)
        return out


def merged(words: Iterable[dict[str, float]]) -> dict[str, float]:
    """The bridge's per-word mappings as one weighted query: a term two words bring keeps the larger weight."""
    found: dict[str, float] = {}
    for word in words:
        for term, weight in word.items():
            found[term] = max(found.get(term, 0.0), weight)
    return found

"""Retrieval over the loaded index: dense, lexical and their fusion.

``hybrid`` (the default) fuses the dense ranking (e5 + FAISS, exact below a size: store/vectors.py) and the
lexical ranking (BM25 over Kiwi morphemes). Filters (document ids, date range,
publisher) are applied inside both searches: a FAISS ID selector and a BM25
weight mask, so a filtered query still gets its full top k.
"""

from __future__ import annotations

import functools
import logging
import re
import time
import unicodedata
from concurrent.futures import Future
from datetime import date

import numpy as np

from briefsearch.config import Settings
from briefsearch.embedding.cache import EmbeddingCache
from briefsearch.embedding.encoder import Encoder
from briefsearch.errors import QueryError
from briefsearch.retrieval.aliases import expand_query, mine_aliases
from briefsearch.retrieval.crosslingual import TermBridge, content_words, is_crosslingual, merged, stop_words
from briefsearch.retrieval.fusion import reciprocal_rank_fusion, weighted_score_fusion, zscore_fusion
from briefsearch.retrieval.sentence_signal import SentenceMaxSim
from briefsearch.store.lexical import LexicalAnalyzer
from briefsearch.store.vectors import VectorSearch
from briefsearch.store.versions import LoadedIndex
from briefsearch.text.korean import KoreanText
from briefsearch.types import DocumentRecord, SearchFilters, SearchHit, SearchResult, Term

log = logging.getLogger(__name__)
MODES = ("hybrid", "dense", "lexical")


def normalize_query(query: str) -> str:
    """NFC (decomposed Hangul from macOS clients) and collapsed whitespace."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", query)).strip()


def _date_bounds(text: str, end: bool) -> date:
    """First (or last) day of a possibly partial ISO date."""
    parts = [int(p) for p in text.split("-")]
    year = parts[0]
    month = parts[1] if len(parts) > 1 else (12 if end else 1)
    if len(parts) > 2:
        return date(year, month, parts[2])
    first = date(year, month, 1)  # raises for month 13 (the end-of-month step below would wrap it)
    if not end:
        return first
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return date.fromordinal(nxt.toordinal() - 1)


def parse_date(text: str, end: bool = False) -> date:
    if not re.fullmatch(r"\d{4}(-\d{1,2}(-\d{1,2})?)?", text.strip()):
        raise QueryError(f"bad date {text!r}: use YYYY, YYYY-MM or YYYY-MM-DD")
    try:
        return _date_bounds(text.strip(), end)
    except ValueError as exc:
        raise QueryError(f"bad date {text!r}: {exc}") from exc


def _matches(doc: DocumentRecord, filters: SearchFilters) -> bool:
    if filters.doc_ids and doc.doc_id not in filters.doc_ids:
        return False
    if filters.publisher and filters.publisher.casefold() not in doc.publisher.casefold():
        return False
    if filters.date_from or filters.date_to:
        if not doc.date:
            return False
        first, last = parse_date(doc.date), parse_date(doc.date, end=True)
        if filters.date_from and last < parse_date(filters.date_from):
            return False
        if filters.date_to and first > parse_date(filters.date_to, end=True):
            return False
    return True


class Searcher:
    """Holds the encoder, the analyzer and the loaded index; thread-safe for concurrent searches."""

    def __init__(self, loaded: LoadedIndex, encoder: Encoder, settings: Settings,
                 korean: KoreanText | None = None, previous_bridge: TermBridge | None = None) -> None:
        self.index = loaded
        self.encoder = encoder
        self.settings = settings
        self.korean = korean or KoreanText()
        self.analyzer = LexicalAnalyzer(self.korean)
        self._terms = {cid: set(c.terms) for cid, c in loaded.chunks.items()}
        # (char_start, char_end, is summary) per chunk, for the near-duplicate check
        self._spans = {cid: (c.char_start, c.char_end, c.kind == "summary") for cid, c in loaded.chunks.items()}
        self.sentences = SentenceMaxSim(loaded.chunks, loaded.sentence_vectors)
        # the index type comes from the file (as the manifest recorded it), its search knobs from settings
        self.vectors = VectorSearch(loaded.faiss_index, settings.faiss_ef_search, settings.faiss_nprobe,
                                    settings.faiss_exact_below)
        # the second encoder's passage vectors (``second_model``); the index was checked to have them
        self.second_vectors = None if loaded.second_faiss is None or encoder.second is None else VectorSearch(
            loaded.second_faiss, settings.faiss_ef_search, settings.faiss_nprobe, settings.faiss_exact_below)
        self.aliases = mine_aliases(c.text for c in loaded.chunks.values())
        self._previous_bridge = previous_bridge  # the last index version's, which the term bridge builds on

    @functools.cached_property
    def term_bridge(self) -> TermBridge:
        """The corpus's Korean nouns embedded for cross-lingual questions, on first use (vectors cached on disk)."""
        cache = EmbeddingCache(self.settings.data_dir / "cache", self.encoder.identity)
        bridge = TermBridge.build(self.index.chunks.values(), self.korean, self.encoder, cache,
                                  self.settings.crosslingual.bridge_terms, self._previous_bridge)
        self._previous_bridge = None  # no longer needed: let it go
        log.info("term bridge: %d Korean nouns in %.2f s", len(bridge.terms), bridge.build_seconds)
        return bridge

    def bridged_words(self, text: str, pending: Future[np.ndarray] | None = None) -> list[dict[str, float]]:
        """Per English content word of ``text``, the Korean corpus nouns the term bridge maps it to (with their
        weights); the word vectors are kept in the encoder's word cache, so /ask asking again costs no forward
        pass. ``pending``: the words' vectors already being computed (``submit_words``)."""
        if pending is not None:
            vectors = pending.result()
        elif words := content_words(text):
            vectors = self.encoder.encode_short(words)
        else:
            return []
        return self.term_bridge.map_words(vectors, self.settings.crosslingual.bridge_floor,
                                          self.settings.crosslingual.bridge_per_word)

    def submit_words(self, text: str) -> Future[np.ndarray] | None:
        """Start the forward pass over an English question's words on a helper thread, so it runs beside the
        question's own pass on the other core (the same vectors, sooner); None when it has no content words."""
        words = content_words(text)
        return self.encoder.submit_short(words) if words else None

    def crosslingual_rankings(self, bridged: list[dict[str, float]], depth: int,
                              allowed: set[int] | None) -> list[tuple[list[tuple[int, float]], float]]:
        """The Korean BM25 ranking a cross-lingual question gets from the term bridge, with its weight (none when
        the bridge is off or maps no word); ``bridged``: the question's words mapped by it (``bridged_words``)."""
        weight = self.settings.crosslingual.bridge_weight
        mapped = merged(bridged) if weight > 0 else {}
        ranking = self.index.lexical.search_weighted(mapped, depth, allowed) if mapped else []
        return [(ranking, weight)] if ranking else []

    def passage_terms(self, chunk_id: int) -> set[str]:
        """The BM25 terms of a passage (empty for an unknown id)."""
        return self._terms.get(chunk_id, set())

    def with_index(self, loaded: LoadedIndex) -> Searcher:
        """A searcher over another index version, sharing this one's model and analyzer; its term bridge is
        built on this one's (if built), tokenizing and looking up only the nouns new to the corpus."""
        return Searcher(loaded, self.encoder, self.settings, korean=self.korean,
                        previous_bridge=self.__dict__.get("term_bridge")).warm()

    def warm(self) -> Searcher:
        """Load what the first cross-lingual question would otherwise wait for (the term bridge, from the cache)."""
        if self.settings.crosslingual.bridge_weight > 0:
            _ = self.term_bridge
        stop_words()  # English questions' stop words (scikit-learn, imported on first use)
        return self

    def validate(self, query: str, k: int, mode: str) -> str:
        text = normalize_query(query)
        if not text:
            raise QueryError("query is empty")
        if len(text) > self.settings.max_query_chars:
            raise QueryError(f"query is {len(text)} characters; the limit is {self.settings.max_query_chars}")
        if not 1 <= k <= self.settings.max_k:
            raise QueryError(f"k must be between 1 and {self.settings.max_k}")
        if mode not in MODES:
            raise QueryError(f"mode must be one of {', '.join(MODES)}")
        return text

    def allowed_ids(self, filters: SearchFilters | None) -> set[int] | None:
        if filters is None or not filters.active():
            return None
        unknown = [d for d in filters.doc_ids if d not in self.index.documents]
        if unknown:
            raise QueryError(f"unknown document id(s): {', '.join(unknown)}")
        docs = {d for d, rec in self.index.documents.items() if _matches(rec, filters)}
        return {cid for cid, c in self.index.chunks.items() if c.doc_id in docs}

    def search(self, query: str, k: int = 5, mode: str | None = None,
               filters: SearchFilters | None = None) -> SearchResult:
        started = time.perf_counter()
        mode = mode or self.settings.search_mode
        text = self.validate(query, k, mode)
        allowed = self.allowed_ids(filters)
        timings: dict[str, float] = {}
        depth = max(self.settings.ranking.depth, k * 3)
        dense: list[tuple[int, float]] = []
        lexical: list[tuple[int, float]] = []
        if allowed is not None and not allowed:
            return SearchResult(text, mode, (time.perf_counter() - started) * 1000, [], timings)

        # a name in the original script ("Jiuquan", "Suncatcher") brings its Korean name along
        wanted_text = expand_query(text, self.aliases) if self.settings.ranking.query_aliases else text

        def analyze_and_match() -> tuple[list[Term], list[tuple[int, float]], float]:
            t0 = time.perf_counter()
            terms = self.analyzer.analyze(wanted_text)  # also for dense: the matched terms shown with each hit
            ranked = self.index.lexical.search([t.term for t in terms], depth, allowed) if mode != "dense" else []
            return terms, ranked, (time.perf_counter() - t0) * 1000

        vector = None
        cross = mode == "hybrid" and is_crosslingual(text, self.settings.crosslingual.latin_share)
        cross_lexical: list[tuple[list[tuple[int, float]], float]] = []
        bridged: list[dict[str, float]] | None = None
        # an English question's words (the term bridge) get their own forward pass, started first
        words = self.submit_words(text) if cross and self.settings.crosslingual.bridge_weight > 0 else None
        if mode == "lexical":
            query_terms, lexical, timings["lexical_ms"] = analyze_and_match()
        else:
            # the lexical side runs during the query's forward pass, on the other core; a second encoder's
            # (longer) forward pass runs beside both
            t0 = time.perf_counter()
            second = self.encoder.second.submit_query(wanted_text) if self.second_vectors is not None else None
            vector, side = self.encoder.encode_query_beside(wanted_text, analyze_and_match)
            second_vector = second.result() if second is not None else None
            t1 = time.perf_counter()
            assert side is not None
            query_terms, lexical, timings["lexical_ms"] = side
            dense = self._dense(vector[None, :], depth, allowed, cross, second_vector)
            timings.update(embed_ms=(t1 - t0) * 1000, dense_ms=(time.perf_counter() - t1) * 1000)
            if cross:
                t1 = time.perf_counter()
                if self.settings.crosslingual.bridge_weight > 0:
                    bridged = self.bridged_words(text, words)
                cross_lexical = self.crosslingual_rankings(bridged or [], depth, allowed)
                timings["crosslingual_ms"] = (time.perf_counter() - t1) * 1000

        t0 = time.perf_counter()
        if mode == "dense":
            fused = dense
        elif mode == "lexical":
            fused = lexical
        else:
            fused = self._fuse(dense, lexical, cross_lexical if cross else None)
        hits = self._collapse(fused, k, dense, lexical, query_terms)
        timings["fusion_ms"] = (time.perf_counter() - t0) * 1000
        return SearchResult(text, mode, (time.perf_counter() - started) * 1000, hits, timings, query_terms,
                            vector, bridged)

    def _fuse(self, dense: list[tuple[int, float]], lexical: list[tuple[int, float]],
              cross_lexical: list[tuple[list[tuple[int, float]], float]] | None) -> list[tuple[int, float]]:
        """The dense and lexical rankings fused by ``ranking.dense_weight``; for a cross-lingual question
        (``cross_lexical``: its Korean rankings with their weights) with ``crosslingual.dense_only``, the dense
        ranking and its Korean rankings instead."""
        if cross_lexical is not None and self.settings.crosslingual.dense_only:
            # BM25 over Korean morphemes cannot match an English question's words: only its Korean rankings
            extra = [w for _, w in cross_lexical]
            return self._combine([dense, *(r for r, _ in cross_lexical)], (max(0.0, 1 - sum(extra)), *extra))
        weight = self.settings.ranking.dense_weight
        return self._combine([dense, lexical], (weight, 1 - weight))

    def _combine(self, rankings: list[list[tuple[int, float]]], weights: tuple[float, ...]) -> list[tuple[int, float]]:
        if self.settings.ranking.fusion == "rrf":
            return reciprocal_rank_fusion(rankings, weights, self.settings.ranking.rrf_k)
        return weighted_score_fusion(rankings, weights)

    def _dense(self, vector: np.ndarray, depth: int, allowed: set[int] | None,
               cross: bool = False, second_vector: np.ndarray | None = None) -> list[tuple[int, float]]:
        """FAISS's top passages, their cosine blended with their best sentence's by ``ranking.sentence_weight`` (a
        cross-lingual question's share: ``crosslingual.sentence_weight`` when set); with a second encoder, that
        ranking z-score fused with the second's passage cosines by ``ranking.second_weight``."""
        ranked = self.vectors.search(vector, depth, allowed)
        weight = self.settings.ranking.sentence_weight
        if cross and self.settings.crosslingual.sentence_weight is not None:
            weight = self.settings.crosslingual.sentence_weight
        if ranked and weight:
            best = self.sentences.scores(vector[0], [i for i, _ in ranked])
            own = max(0.0, 1 - weight)  # the passage's own cosine keeps what the sentence share leaves
            ranked = sorted([(i, own * s + weight * best.get(i, s)) for i, s in ranked],
                            key=lambda kv: (-kv[1], kv[0]))
        if second_vector is None or self.second_vectors is None:
            return ranked
        second = self.second_vectors.search(second_vector[None, :], depth, allowed)
        share = self.settings.ranking.second_weight
        return zscore_fusion([ranked, second], (1 - share, share))

    def _collapse(self, fused: list[tuple[int, float]], k: int, dense: list[tuple[int, float]],
                  lexical: list[tuple[int, float]], query_terms: list[Term]) -> list[SearchHit]:
        """Top k with near-duplicates folded into the best of them (summary vs body, overlapping chunks)."""
        dense_at = {cid: (rank, score) for rank, (cid, score) in enumerate(dense, start=1)}
        lex_at = {cid: (rank, score) for rank, (cid, score) in enumerate(lexical, start=1)}
        hits: list[SearchHit] = []
        by_doc: dict[str, list[SearchHit]] = {}  # duplicates are only ever within one document
        for chunk_id, score in fused:
            chunk = self.index.chunks[chunk_id]
            same_doc = by_doc.get(chunk.doc_id, ())
            if len(hits) == k and not same_doc:
                continue
            twin = next((h for h in same_doc if self._near_duplicate(h.chunk.chunk_id, chunk_id)), None)
            if twin is not None:
                twin.duplicates.append(chunk)
                continue
            if len(hits) == k:
                continue  # still fold later duplicates into the shown hits
            d_rank, d_score = dense_at.get(chunk_id, (None, None))
            l_rank, l_score = lex_at.get(chunk_id, (None, None))
            terms = self._terms.get(chunk_id, set())
            matched = list(dict.fromkeys(t.surface for t in query_terms if t.term in terms))
            hit = SearchHit(rank=len(hits) + 1, score=score, chunk=chunk, dense_score=d_score, dense_rank=d_rank,
                            lexical_score=l_score, lexical_rank=l_rank, matched_terms=matched)
            hits.append(hit)
            by_doc.setdefault(chunk.doc_id, []).append(hit)
        return hits

    def _near_duplicate(self, a: int, b: int) -> bool:
        """Two passages of one document over the same text, or a summary restating the body.

        Called for every candidate against each shown hit of its document (about
        200 times a search), so it reads precomputed spans rather than chunks.
        """
        a_start, a_end, a_summary = self._spans[a]
        b_start, b_end, b_summary = self._spans[b]
        if 2 * (min(a_end, b_end) - max(a_start, b_start)) > min(a_end - a_start, b_end - b_start):
            return True
        if a_summary == b_summary:
            return False
        ta, tb = self._terms[a], self._terms[b]
        if not ta or not tb:
            return False
        return len(ta & tb) / min(len(ta), len(tb)) >= self.settings.ranking.dedup_overlap

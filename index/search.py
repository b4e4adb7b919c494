"""Dense retrieval over the loaded index, and opening the engine (model + index) once."""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from dataclasses import dataclass

import numpy as np

from index.build import build_index, chunker_identity, index_status
from index.chunk import Chunk
from index.embed import Encoder
from index.errors import QueryError
from index.settings import Settings
from index.store import LoadedIndex, check_compatible, load_index

log = logging.getLogger(__name__)


def normalize_query(query: str) -> str:
    """NFC (decomposed Hangul from macOS clients) and collapsed whitespace."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", query)).strip()


@dataclass(frozen=True, slots=True)
class SearchHit:
    rank: int
    score: float
    chunk: Chunk


@dataclass(frozen=True, slots=True)
class SearchResult:
    query: str
    took_ms: float
    hits: list[SearchHit]


class Searcher:
    """Embeds the query and scans the exact inner-product index."""

    def __init__(self, loaded: LoadedIndex, encoder: Encoder, settings: Settings) -> None:
        self.index = loaded
        self.encoder = encoder
        self.settings = settings

    def validate(self, query: str, k: int) -> str:
        text = normalize_query(query)
        if not text:
            raise QueryError("query is empty")
        if len(text) > self.settings.max_query_chars:
            raise QueryError(f"query is {len(text)} characters; the limit is {self.settings.max_query_chars}")
        if not 1 <= k <= self.settings.max_k:
            raise QueryError(f"k must be between 1 and {self.settings.max_k}")
        return text

    def search(self, query: str, k: int = 5) -> SearchResult:
        started = time.perf_counter()
        text = self.validate(query, k)
        vector = self.encoder.encode_queries([text])
        k_eff = min(k, self.index.faiss_index.ntotal)
        hits: list[SearchHit] = []
        if k_eff:
            scores, ids = self.index.faiss_index.search(np.ascontiguousarray(vector, dtype=np.float32), k_eff)
            for rank, (score, chunk_id) in enumerate(zip(scores[0], ids[0], strict=True), start=1):
                if chunk_id < 0:
                    continue
                hits.append(SearchHit(rank=rank, score=float(score), chunk=self.index.chunks[int(chunk_id)]))
        return SearchResult(query=text, took_ms=(time.perf_counter() - started) * 1000, hits=hits)


def open_searcher(settings: Settings, build: bool = True, progress: bool = True) -> Searcher:
    """Load the model, (re)build the index if allowed and needed, load the index and check it matches."""
    encoder = Encoder(settings, progress=progress)
    status = index_status(settings, encoder.identity)
    if status.state != "fresh" and build:
        log.warning("index %s (%s): building", status.state, status.reason)
        build_index(settings, encoder, progress=progress)
    loaded = load_index(settings.index_dir)
    check_compatible(loaded.manifest, encoder.identity, chunker_identity(settings))
    return Searcher(loaded, encoder, settings)

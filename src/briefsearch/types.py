"""The types every stage shares: documents, passages, search hits and answers, in one place.

Each stage produces or consumes them: ingest reads a ``DocumentMeta`` and a ``SourceText`` that structure
parses; chunking makes ``Chunk``s; the store keeps ``DocumentRecord``s and ``Chunk``s; the lexical analyzer
makes ``Term``s; retrieval returns a ``SearchResult`` of ``SearchHit``s; /ask returns an ``Answer`` with its
``AnswerCitation``s. So they live below all of them and import nothing of the package.
"""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


# -- documents
@dataclass(frozen=True, slots=True)
class DocumentMeta:
    """One manifest entry: what the document is, independent of its text."""

    doc_id: str
    file: str
    title: str
    publisher: str = ""
    date: str = ""
    kind: str = ""


@dataclass(slots=True)
class DocumentRecord:
    """A document as served by ``/documents``."""

    doc_id: str
    title: str
    publisher: str
    date: str
    kind: str
    source: str
    encoding: str
    sha256: str
    chunk_count: int
    text: str = field(repr=False, default="")
    # structure for the document view: kind, heading type, text and source span of every block
    blocks: list[dict] = field(repr=False, default_factory=list)
    original: str = ""  # the uploaded PDF/DOCX/HWPX/HWP when ``source`` is its text rendition
    origin: str = "corpus"  # "corpus" (seed manifest) or "added" (briefsearch add / POST /documents)
    added_at: str = ""


@dataclass(frozen=True, slots=True)
class SourceText:
    """A corpus file as decoded from disk, with its line table."""

    path: Path
    raw: str
    encoding: str
    sha256: str
    line_starts: list[int] = field(repr=False)

    def line_of(self, offset: int) -> int:
        """1-based line number holding character ``offset``."""
        return bisect.bisect_right(self.line_starts, offset)


# -- passages
@dataclass(slots=True)
class Chunk:
    """A passage: what is shown, what is embedded, and where it is in the file."""

    doc_id: str
    title: str  # the catalogue title (shown, cited)
    section: str
    section_path: list[str]
    text: str
    char_start: int
    char_end: int
    line_start: int
    line_end: int
    page: int | None
    kind: str  # "text" | "table" | "summary" | "metadata" (a cover block: 의안번호, 발의자, ...)
    footnotes: list[str] = field(default_factory=list)
    table_header: str | None = None
    embed_text: str = ""
    n_tokens: int = 0
    terms: list[str] = field(default_factory=list)  # BM25 terms (store/lexical.py)
    # per sentence (or table row): [start, end) in ``text``, [start, end) in the original file, first and last line
    sentences: list[list[int]] = field(default_factory=list)
    sentence_rows: list[int] = field(default_factory=list)  # rows of the sentence-vector matrix
    sentence_terms: list[list[str]] = field(default_factory=list)  # BM25 terms per sentence (answer scoring)
    chunk_id: int = -1
    context: str = ""  # the document's own name, embedded and indexed with the passage (see chunking/chunker.py)
    context_terms: list[str] = field(default_factory=list)  # its BM25 terms, added once to the passage's BM25 row

    @property
    def key(self) -> str:
        """Content identity, used to keep chunk ids stable across rebuilds."""
        payload = "\x1f".join([self.doc_id, self.section, self.text, *self.footnotes])
        return hashlib.sha1(payload.encode("utf-8")).hexdigest()

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Chunk:
        return cls(**data)


# -- search
@dataclass(frozen=True, slots=True)
class Term:
    """An index term and the text it came from (for highlighting)."""

    term: str
    surface: str


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Restrict a search to some documents; every given condition must hold."""

    doc_ids: tuple[str, ...] = ()
    date_from: str | None = None  # ISO date, inclusive; partial dates allowed ("2024", "2024-03")
    date_to: str | None = None
    publisher: str | None = None  # case-insensitive substring

    def active(self) -> bool:
        return bool(self.doc_ids or self.date_from or self.date_to or self.publisher)


@dataclass(slots=True)
class SearchHit:
    rank: int
    score: float
    chunk: Chunk
    dense_score: float | None = None
    dense_rank: int | None = None
    lexical_score: float | None = None
    lexical_rank: int | None = None
    matched_terms: list[str] = field(default_factory=list)
    duplicates: list[Chunk] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SearchResult:
    query: str
    mode: str
    took_ms: float
    hits: list[SearchHit]
    timings: dict[str, float]
    # what the search computed about the query, so /ask does not analyze or embed it again
    terms: list[Term] = field(default_factory=list)
    vector: np.ndarray | None = None  # None in lexical mode
    # per English content word, its Korean nouns from the term bridge (None: the search did not map them, as
    # outside a cross-lingual hybrid search or with the bridge off), so /ask's bridge coverage does not map again
    bridged: list[dict[str, float]] | None = None


# -- answers
@dataclass(slots=True)
class AnswerCitation:
    """Where one answer sentence is, exactly."""

    n: int
    chunk_id: int
    doc_id: str
    title: str
    section: str
    page: int | None
    source: str
    char_start: int
    char_end: int
    line_start: int
    line_end: int
    text: str


@dataclass(slots=True)
class Answer:
    question: str
    query: str  # the question as retrieved (follow-ups resolved against earlier turns)
    answer: str
    answerable: bool
    confidence: float
    citations: list[AnswerCitation]
    hits: list[SearchHit]
    took_ms: float
    features: dict[str, float] = field(default_factory=dict)

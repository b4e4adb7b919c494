"""Request and response models: the public contract of the HTTP API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from briefsearch.config import K_CEILING, QUERY_CHARS_CEILING, Answering
from briefsearch.retrieval.searcher import normalize_query
from briefsearch.types import Answer, Chunk, DocumentRecord, SearchFilters, SearchHit, SearchResult

MAX_QUERY_CHARS = QUERY_CHARS_CEILING  # the configured limit (Settings.max_query_chars) is checked by the searcher
MAX_K = K_CEILING  # likewise Settings.max_k


def _lone_surrogate_at(data: object) -> str | None:
    """Where JSON text holds a lone surrogate (``"\\ud800"`` parses, but no UTF-8 can encode it), else None."""
    stack: list[tuple[str, object]] = [("", data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            if not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    return where or "body"
        elif isinstance(value, dict):
            for key, item in value.items():
                if _lone_surrogate_at(key) is not None:
                    return f"{where}: a field name" if where else "a field name"
                stack.append((f"{where}.{key}" if where else str(key), item))
        elif isinstance(value, list):
            stack.extend((f"{where}.{i}" if where else str(i), item) for i, item in enumerate(value))
    return None


class UnicodeRequest(BaseModel):
    """A JSON request body whose every string is valid Unicode.

    JSON escapes allow lone surrogates, which Python keeps in ``str`` but nothing can
    encode: echoed in a response, an error message or the access log, or given to the
    tokenizer, they turned a bad request into a 500. They are refused here with a 422.
    """

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: object) -> object:
        where = _lone_surrogate_at(data)
        if where is not None:
            raise ValueError(f"{where[:200]}: text must be valid Unicode (it contains a lone surrogate escape)")
        return data


class SearchRequest(UnicodeRequest):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"query": "광둥성의 범용 AI 산업 목표는?", "k": 5}]}
    )

    query: str = Field(..., description="Question or keywords, Korean or English (at most 2,000 characters by "
                       "default: BRIEFSEARCH_MAX_QUERY_CHARS).", max_length=MAX_QUERY_CHARS)
    k: int = Field(5, ge=1, le=MAX_K, description="Number of passages to return (at most 50 by default: "
                   "BRIEFSEARCH_MAX_K).")
    mode: Literal["hybrid", "dense", "lexical"] | None = Field(
        None, description="hybrid (default): dense + BM25 fused; dense: e5 only; lexical: BM25 only."
    )
    doc_ids: list[str] | None = Field(None, description="Only these documents.", max_length=1000)
    date_from: str | None = Field(None, description="Publication date from (YYYY, YYYY-MM or YYYY-MM-DD).",
                                  max_length=10)
    date_to: str | None = Field(None, description="Publication date to, inclusive.", max_length=10)
    publisher: str | None = Field(None, description="Publisher contains (case-insensitive).", max_length=200)

    def filters(self) -> SearchFilters:
        return SearchFilters(tuple(self.doc_ids or ()), self.date_from, self.date_to, self.publisher)

    @field_validator("query")
    @classmethod
    def _query_not_blank(cls, value: str) -> str:
        text = normalize_query(value)
        if not text:
            raise ValueError("query must not be empty or whitespace")
        return text


class Citation(BaseModel):
    doc_id: str
    title: str
    source: str = Field(description="Path of the original file, relative to the repository.")
    char_start: int = Field(description="Offset of the passage's first character in the decoded original file.")
    char_end: int = Field(description="Offset just past the passage's last character.")
    line_start: int
    line_end: int
    page: int | None = Field(None, description="Page number where the text proves it, else null.")


class Duplicate(BaseModel):
    chunk_id: int
    kind: str
    section: str
    citation: Citation


class SearchResultItem(BaseModel):
    rank: int
    score: float = Field(description="Fused score in hybrid mode (RRF), cosine in dense mode, BM25 in lexical mode.")
    dense_score: float | None = Field(None, description="Cosine similarity (null if outside the dense candidates).")
    dense_rank: int | None = None
    lexical_score: float | None = Field(None, description="BM25 score (null if no query term matched).")
    lexical_rank: int | None = None
    matched_terms: list[str] = Field(default_factory=list, description="Query terms found in the passage, "
                                     "as written in the query (for highlighting).")
    chunk_id: int
    doc_id: str
    title: str
    section: str
    text: str
    kind: str = Field(description="text, table, summary or metadata (a bill's cover: 의안번호, 발의자, ...)")
    footnotes: list[str] = Field(default_factory=list, description="Footnotes the passage cites.")
    citation: Citation
    duplicates: list[Duplicate] = Field(default_factory=list, description="Near-duplicate passages folded into "
                                        "this one (a summary restating the body, overlapping passages).")


def _citation(c: Chunk, documents: dict[str, DocumentRecord]) -> Citation:
    return Citation(doc_id=c.doc_id, title=c.title, source=documents[c.doc_id].source, char_start=c.char_start,
                    char_end=c.char_end, line_start=c.line_start, line_end=c.line_end, page=c.page)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def result_items(hits: list[SearchHit], documents: dict[str, DocumentRecord]) -> list[SearchResultItem]:
    """Search hits as the API shows them (used by /search and by /ask's passages)."""
    items = []
    for hit in hits:
        c = hit.chunk
        items.append(SearchResultItem(
            rank=hit.rank, score=round(hit.score, 6), dense_score=_round(hit.dense_score),
            dense_rank=hit.dense_rank, lexical_score=_round(hit.lexical_score), lexical_rank=hit.lexical_rank,
            matched_terms=hit.matched_terms, chunk_id=c.chunk_id, doc_id=c.doc_id, title=c.title,
            section=c.section, text=c.text, kind=c.kind, footnotes=c.footnotes,
            citation=_citation(c, documents),
            duplicates=[Duplicate(chunk_id=d.chunk_id, kind=d.kind, section=d.section,
                                  citation=_citation(d, documents)) for d in hit.duplicates],
        ))
    return items


class SearchResponse(BaseModel):
    query: str
    mode: str
    took_ms: float
    results: list[SearchResultItem]

    @classmethod
    def from_result(cls, result: SearchResult, documents: dict[str, DocumentRecord]) -> SearchResponse:
        items = result_items(result.hits, documents)
        return cls(query=result.query, mode=result.mode, took_ms=round(result.took_ms, 2), results=items)


class DocumentSummary(BaseModel):
    doc_id: str
    title: str
    date: str
    publisher: str
    kind: str
    chunk_count: int
    source: str = Field(description="The file citation offsets slice (a PDF/DOCX/HWPX/HWP's text rendition)")
    original: str = Field("", description="The uploaded PDF/DOCX/HWPX/HWP, when ``source`` is its rendition")
    origin: str = Field("corpus", description="corpus (the seed manifest) or added (at run time)")
    added_at: str = ""

    @classmethod
    def from_record(cls, d: DocumentRecord) -> DocumentSummary:
        return cls(doc_id=d.doc_id, title=d.title, date=d.date, publisher=d.publisher, kind=d.kind,
                   chunk_count=d.chunk_count, source=d.source, original=d.original, origin=d.origin,
                   added_at=d.added_at)


class DocumentBlock(BaseModel):
    kind: str = Field(description="heading, text, table_row, caption or footnote")
    heading: str = Field("", description="for headings: summary, chapter, article, sub, label or title (reports); "
                         "part, comparison, addenda, pyeon, jang, jeol or gwan (laws and bills)")
    text: str
    start: int = Field(description="Source offsets of the block in the original file.")
    end: int
    summary: bool = False
    footnote: int | None = None


class DocumentDetail(DocumentSummary):
    sha256: str
    encoding: str
    text: str = Field(description="Normalized text: what is indexed, structure kept.")
    blocks: list[DocumentBlock] = Field(default_factory=list, description="The normalized text block by block.")


class ModelInfo(BaseModel):
    name: str
    checksum: str
    dim: int


class HealthResponse(BaseModel):
    status: str = Field(description="ok, or loading / failed before the index is served")
    documents: int | None = None
    chunks: int | None = None
    model: ModelInfo | None = None
    index_built_at: str | None = None
    index_version: str | None = None
    chunker: dict | None = None
    error: str | None = None
    refresh_error: str | None = Field(None, description="Why the last check for a newer index version failed "
                                      "(the previous version keeps serving); null when it worked")


class ReadyResponse(BaseModel):
    ready: bool
    state: str = Field(description="loading | ready | failed")
    index_version: str | None = None
    error: str | None = None
    uptime_s: float


class DocumentChange(BaseModel):
    """The outcome of adding, replacing or removing a document."""

    status: Literal["added", "replaced", "unchanged", "removed"]
    doc_id: str
    title: str
    passages: int | None = Field(description="The document's passages in the index now")
    passages_embedded: int = Field(description="Passages embedded by this change (the rest were reused)")
    sentences_embedded: int
    documents: int = Field(description="Documents in the index after the change")
    index_version: str
    seconds: float
    message: str


class FileChange(BaseModel):
    """One file of a batch upload and what became of it."""

    file: str = Field(description="The file's name as uploaded")
    status: Literal["added", "replaced", "unchanged", "refused"]
    doc_id: str | None = Field(description="None when refused before its id was known")
    title: str | None
    passages: int | None = Field(description="The document's passages in the index now")
    error: str | None = Field(None, description="Why it was refused")
    error_status: int | None = Field(None, description="The status an upload of this file alone would get "
                                     "(400, 409, 413, 415 or 422)")


class BatchChange(BaseModel):
    """A batch upload: every file's outcome, and the one index version the files that went in were published in.

    201 when at least one file was added or replaced, 200 when the rest were all already indexed unchanged;
    refused files are listed with their reasons either way. When every file was refused the status is theirs
    (400 if they differ), with ``detail`` saying so.
    """

    files: list[FileChange]
    added: int
    replaced: int
    unchanged: int
    refused: int
    passages_embedded: int = Field(description="Passages embedded by this change (the rest were reused)")
    sentences_embedded: int
    documents: int = Field(description="Documents in the index after the change")
    index_version: str
    seconds: float
    detail: str | None = Field(None, description="Set when every file was refused")


class ErrorResponse(BaseModel):
    detail: str | list


class OpenAIErrorDetail(BaseModel):
    message: str
    type: str = Field(description="invalid_request_error, authentication_error, server_error, ...")
    param: str | None = Field(None, description="The request field at fault, when one is.")
    code: str | None = Field(None, description="e.g. model_not_found, invalid_api_key, invalid_request")


class OpenAIErrorResponse(BaseModel):
    """Errors on /v1/*, in the shape OpenAI clients and chat frontends read."""

    error: OpenAIErrorDetail


# every route that needs the served index (service.deps.get_serving, or a corpus change) answers this meanwhile
UNAVAILABLE = {503: {"model": ErrorResponse, "description": "The index is still loading, or failed to load",
                     "headers": {"Retry-After": {"description": "Seconds to wait before retrying",
                                                 "schema": {"type": "string"}}}}}


OPENAI_UNAVAILABLE = {503: {**UNAVAILABLE[503], "model": OpenAIErrorResponse}}


class AskRequest(UnicodeRequest):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"question": "광둥성의 범용 AI 산업 목표는?"}]}
    )

    question: str = Field(..., max_length=MAX_QUERY_CHARS)
    k: int = Field(5, ge=1, le=MAX_K, description="Passages retrieved (answers come from the top 3).")
    mode: Literal["hybrid", "dense", "lexical"] | None = None
    doc_ids: list[str] | None = Field(None, max_length=1000)
    date_from: str | None = Field(None, max_length=10)
    date_to: str | None = Field(None, max_length=10)
    publisher: str | None = Field(None, max_length=200)

    def filters(self) -> SearchFilters:
        return SearchFilters(tuple(self.doc_ids or ()), self.date_from, self.date_to, self.publisher)

    @field_validator("question")
    @classmethod
    def _question_not_blank(cls, value: str) -> str:
        return SearchRequest._query_not_blank(value)


class AnswerCitationOut(BaseModel):
    n: int = Field(description="The [n] marker in the answer.")
    chunk_id: int
    doc_id: str
    title: str
    section: str
    page: int | None
    source: str
    char_start: int = Field(description="Offsets of this exact sentence in the original file.")
    char_end: int
    line_start: int
    line_end: int
    text: str
    url: str | None = Field(None, description="Link to the document view at this span (chat replies).")


_DEFAULTS = Answering()
ANSWER_SCORE = ("The answer score, not a probability (it can exceed 1): the best sentence's cosine plus weighted "
                "term coverage. The question is answered when it reaches the threshold, by default "
                f"{_DEFAULTS.threshold} for a Korean question and {_DEFAULTS.crosslingual_threshold} for one "
                "written mostly in Latin letters (settings answer.threshold and answer.crosslingual_threshold); "
                "0 when a name the question asks about is in no document. See docs/api.md.")


class AskResponse(BaseModel):
    question: str
    answer: str = Field(description="Sentences from the corpus, each followed by its [n] marker; or a Korean "
                        "message that the corpus has no answer.")
    answerable: bool
    confidence: float = Field(title="Answer score", description=ANSWER_SCORE)
    citations: list[AnswerCitationOut]
    passages: list[SearchResultItem]
    took_ms: float

    @classmethod
    def from_answer(cls, answer: Answer, documents: dict[str, DocumentRecord]) -> AskResponse:
        passages = result_items(answer.hits, documents)
        return cls(question=answer.question, answer=answer.answer, answerable=answer.answerable,
                   confidence=answer.confidence, citations=answer_citations(answer), passages=passages,
                   took_ms=round(answer.took_ms, 2))


def answer_citations(answer: Answer, urls: dict[int, str] | None = None) -> list[AnswerCitationOut]:
    """The answer's citations; ``urls`` maps a marker number to its link (chat replies)."""
    return [AnswerCitationOut(**{k: getattr(c, k) for k in c.__slots__}, url=(urls or {}).get(c.n))
            for c in answer.citations]


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "user", "assistant", "tool", "developer", "function"]
    content: str | list[dict] | None = None

    def text(self) -> str:
        """Plain text of the message (string content, or the text parts of a list)."""
        if isinstance(self.content, str):
            return self.content
        if isinstance(self.content, list):
            return " ".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return ""


class ChatRequest(UnicodeRequest):
    model_config = ConfigDict(  # temperature, top_p, ... are accepted and ignored
        extra="allow", json_schema_extra={"examples": [
            {"model": "briefsearch", "messages": [{"role": "user", "content": "광둥성의 범용 AI 산업 목표는?"}]},
            {"model": "briefsearch", "stream": True, "messages": [{"role": "user", "content": "광둥성 AI 목표"}]},
        ]},
    )

    model: str | None = None
    messages: list[ChatMessage] = Field(..., min_length=1, max_length=200)
    stream: bool = False
    stream_options: dict | None = Field(None, description='{"include_usage": true} adds a usage chunk.')


class ChatCompletion(BaseModel):
    id: str
    object: str = "chat.completion"
    created: int
    model: str
    choices: list[dict]
    usage: dict = Field(default_factory=lambda: {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0})
    citations: list[AnswerCitationOut] = Field(default_factory=list, description="Structured citations "
                                               "(ignored by OpenAI clients).")
    briefsearch: dict = Field(default_factory=dict, description="answerable, confidence (the answer "
                               "score of /ask, not a probability), resolved query.")


class ModelCard(BaseModel):
    id: str
    object: str = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: str = "list"
    data: list[ModelCard]

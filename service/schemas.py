"""Request and response models: the public contract of the HTTP API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from index.search import SearchResult, normalize_query
from index.store import DocumentRecord

MAX_QUERY_CHARS = 2000
MAX_K = 50


class SearchRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"query": "광둥성의 범용 AI 산업 목표는?", "k": 5}]}
    )

    query: str = Field(..., description="Question or keywords, Korean or English.", max_length=MAX_QUERY_CHARS * 4)
    k: int = Field(5, ge=1, le=MAX_K, description="Number of passages to return.")

    @field_validator("query")
    @classmethod
    def _query_not_blank(cls, value: str) -> str:
        text = normalize_query(value)
        if not text:
            raise ValueError("query must not be empty or whitespace")
        if len(text) > MAX_QUERY_CHARS:
            raise ValueError(f"query must be at most {MAX_QUERY_CHARS} characters (got {len(text)})")
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


class SearchResultItem(BaseModel):
    rank: int
    score: float = Field(description="Cosine similarity between query and passage.")
    chunk_id: int
    doc_id: str
    title: str
    section: str
    text: str
    kind: str = Field(description="text, table or summary")
    footnotes: list[str] = Field(default_factory=list, description="Footnotes the passage cites.")
    citation: Citation


class SearchResponse(BaseModel):
    query: str
    took_ms: float
    results: list[SearchResultItem]

    @classmethod
    def from_result(cls, result: SearchResult, documents: dict[str, DocumentRecord]) -> SearchResponse:
        items = []
        for hit in result.hits:
            c = hit.chunk
            items.append(SearchResultItem(
                rank=hit.rank, score=round(hit.score, 6), chunk_id=c.chunk_id, doc_id=c.doc_id, title=c.title,
                section=c.section, text=c.text, kind=c.kind, footnotes=c.footnotes,
                citation=Citation(
                    doc_id=c.doc_id, title=c.title, source=documents[c.doc_id].source, char_start=c.char_start,
                    char_end=c.char_end, line_start=c.line_start, line_end=c.line_end, page=c.page,
                ),
            ))
        return cls(query=result.query, took_ms=round(result.took_ms, 2), results=items)


class DocumentSummary(BaseModel):
    doc_id: str
    title: str
    date: str
    publisher: str
    kind: str
    chunk_count: int
    source: str


class DocumentDetail(DocumentSummary):
    sha256: str
    encoding: str
    text: str = Field(description="Normalized text: what is indexed, structure kept.")


class ModelInfo(BaseModel):
    name: str
    checksum: str
    dim: int


class HealthResponse(BaseModel):
    status: str
    documents: int
    chunks: int
    model: ModelInfo
    index_built_at: str
    chunker: dict


class ErrorResponse(BaseModel):
    detail: str | list

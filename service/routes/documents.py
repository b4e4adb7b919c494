"""The documents in the index: list and detail."""

from __future__ import annotations

from fastapi import APIRouter

from index.errors import UnknownDocumentError
from service.deps import SearcherDep
from service.schemas import DocumentDetail, DocumentSummary, ErrorResponse

router = APIRouter(prefix="/documents", tags=["documents"])


@router.get("", response_model=list[DocumentSummary], summary="List indexed documents")
async def list_documents(searcher: SearcherDep) -> list[DocumentSummary]:
    return [
        DocumentSummary(doc_id=d.doc_id, title=d.title, date=d.date, publisher=d.publisher, kind=d.kind,
                        chunk_count=d.chunk_count, source=d.source)
        for d in searcher.index.documents.values()
    ]


@router.get("/{doc_id}", response_model=DocumentDetail, responses={404: {"model": ErrorResponse}},
            summary="One document: metadata and normalized text")
async def get_document(doc_id: str, searcher: SearcherDep) -> DocumentDetail:
    doc = searcher.index.documents.get(doc_id)
    if doc is None:
        raise UnknownDocumentError(f"unknown document id {doc_id!r}")
    return DocumentDetail(doc_id=doc.doc_id, title=doc.title, date=doc.date, publisher=doc.publisher,
                          kind=doc.kind, chunk_count=doc.chunk_count, source=doc.source, sha256=doc.sha256,
                          encoding=doc.encoding, text=doc.text, blocks=doc.blocks)

"""The documents in the index: list, detail, and (with API keys configured) upload and removal."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool

from index.errors import DocumentTooLargeError, UnknownDocumentError
from index.manage import ChangeResult, DocumentInput
from service.deps import EngineDep, SearcherDep
from service.schemas import UNAVAILABLE, DocumentChange, DocumentDetail, DocumentSummary, ErrorResponse

router = APIRouter(prefix="/documents", tags=["documents"])

_CHANGE_ERRORS = {
    400: {"model": ErrorResponse, "description": "Bad file: empty, binary, undecodable, no text, bad name"},
    401: {"model": ErrorResponse, "description": "Missing or invalid API key"},
    403: {"model": ErrorResponse, "description": "Corpus changes are disabled (no API keys configured)"},
    409: {"model": ErrorResponse, "description": "Same document being changed concurrently, or a duplicate"},
    413: {"model": ErrorResponse, "description": "Upload over the size limit"},
    415: {"model": ErrorResponse, "description": "Unsupported file type"},
    422: {"model": ErrorResponse, "description": "Invalid form fields or document metadata"},
    **UNAVAILABLE,
}


@router.get("", response_model=list[DocumentSummary], responses=UNAVAILABLE, summary="List indexed documents")
async def list_documents(searcher: SearcherDep) -> list[DocumentSummary]:
    return [DocumentSummary.from_record(d) for d in searcher.index.documents.values()]


@router.get("/{doc_id}", response_model=DocumentDetail, responses={404: {"model": ErrorResponse},
                                                                   422: {"model": ErrorResponse}, **UNAVAILABLE},
            summary="One document: metadata and normalized text")
async def get_document(doc_id: str, searcher: SearcherDep) -> DocumentDetail:
    doc = searcher.index.documents.get(doc_id)
    if doc is None:
        raise UnknownDocumentError(f"unknown document id {doc_id!r}")
    return DocumentDetail(**DocumentSummary.from_record(doc).model_dump(), sha256=doc.sha256, encoding=doc.encoding,
                          text=doc.text, blocks=doc.blocks)


def _require_writes(request: Request) -> None:
    """Changing the corpus is only possible when API keys are configured (the middleware checks the key)."""
    engine = request.app.state.engine
    if not engine.settings.api_key_set:
        raise HTTPException(status_code=403, detail="corpus changes are disabled: configure BRIEFSEARCH_API_KEYS "
                            "and send 'Authorization: Bearer <key>'")
    if engine.current is None:
        raise HTTPException(status_code=503, detail="the index is still loading; retry shortly",
                            headers={"Retry-After": "5"})


def _change(result: ChangeResult) -> DocumentChange:
    return DocumentChange(**dataclasses.asdict(result))


@router.post("", response_model=DocumentChange, status_code=201, responses={200: {"model": DocumentChange},
             **_CHANGE_ERRORS}, summary="Add a document (.txt .md .pdf .docx .hwpx), or replace one with the same id")
async def add_document(
    request: Request,
    response: Response,
    engine: EngineDep,
    file: Annotated[UploadFile, File(description="The briefing: .txt/.md (UTF-8 or CP949), .pdf, .docx or .hwpx")],
    doc_id: Annotated[str | None, Form(description="Id to use; default: derived from the file name")] = None,
    title: Annotated[str | None, Form(description="Default: the document's first line or heading")] = None,
    date: Annotated[str | None, Form(description="Publication date, YYYY[-MM[-DD]]")] = None,
    publisher: Annotated[str | None, Form()] = None,
    kind: Annotated[str | None, Form(description="e.g. weekly, report")] = None,
) -> DocumentChange:
    _require_writes(request)
    limit = engine.settings.max_upload_bytes
    if file.size is not None and file.size > limit:
        raise DocumentTooLargeError(f"{file.filename}: {file.size} bytes is over the limit of {limit} bytes")
    data = await file.read(limit + 1)
    given = DocumentInput(doc_id=doc_id, title=title, date=date, publisher=publisher, kind=kind)
    result = await run_in_threadpool(engine.add, data, file.filename or "", given)
    if result.status != "added":
        response.status_code = 200
    return _change(result)


@router.delete("/{doc_id}", response_model=DocumentChange, responses={404: {"model": ErrorResponse},
               **_CHANGE_ERRORS}, summary="Remove a document: its passages, vectors and BM25 entries")
async def remove_document(doc_id: str, request: Request, engine: EngineDep) -> DocumentChange:
    _require_writes(request)
    return _change(await run_in_threadpool(engine.remove, doc_id))

"""The documents in the index: list, detail, and (with API keys configured) upload and removal."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, File, Form, HTTPException, Response, UploadFile
from fastapi.responses import JSONResponse

from briefsearch.api.access import GuardedRoute, writes
from briefsearch.api.deps import EngineDep, SearcherDep
from briefsearch.api.errors import public_text, status_for
from briefsearch.api.schemas import (
    UNAVAILABLE,
    BatchChange,
    DocumentChange,
    DocumentDetail,
    DocumentSummary,
    ErrorResponse,
    FileChange,
)
from briefsearch.errors import DocumentTooLargeError, UnknownDocumentError
from briefsearch.runtime.engine import Engine

if TYPE_CHECKING:
    from briefsearch.build.manage import BulkResult, ChangeResult

router = APIRouter(prefix="/documents", tags=["documents"], route_class=GuardedRoute)

_CHANGE_ERRORS = {
    400: {"model": ErrorResponse, "description": "Bad file: empty, binary, undecodable, no text, bad name"},
    401: {"model": ErrorResponse, "description": "Missing or invalid API key"},
    403: {"model": ErrorResponse, "description": "Corpus changes are disabled (no API keys configured)"},
    409: {"model": ErrorResponse, "description": "A duplicate, or another change or build still running "
          "(retry after Retry-After seconds)"},
    413: {"model": ErrorResponse, "description": "Upload over the size limit"},
    415: {"model": ErrorResponse, "description": "Unsupported file type"},
    422: {"model": ErrorResponse, "description": "Invalid form fields or document metadata"},
    500: {"model": ErrorResponse, "description": "The server could not rebuild or load the index (nothing lost)"},
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


def _require_loaded(engine: Engine) -> None:
    """Changes build on the served index (the 401/403 came earlier, from the route's access check)."""
    if engine.current is None:
        raise HTTPException(status_code=503, detail="the index is still loading; retry shortly",
                            headers={"Retry-After": "5"})


def _change(result: ChangeResult) -> DocumentChange:
    return DocumentChange(**dataclasses.asdict(result))


@router.post("", response_model=DocumentChange, status_code=201, responses={200: {"model": DocumentChange},
             **_CHANGE_ERRORS},
             summary="Add a document (.txt .md .pdf .docx .hwpx .hwp), or replace one with the same id")
@writes
async def add_document(
    response: Response,
    engine: EngineDep,
    file: Annotated[UploadFile, File(
        description="The briefing: .txt/.md (UTF-8 or CP949), .pdf, .docx, .hwpx or .hwp")],
    doc_id: Annotated[str | None, Form(description="Id to use; default: derived from the file name")] = None,
    title: Annotated[str | None, Form(description="Default: the document's first line or heading")] = None,
    date: Annotated[str | None, Form(description="Publication date, YYYY[-MM[-DD]]")] = None,
    publisher: Annotated[str | None, Form()] = None,
    kind: Annotated[str | None, Form(description="e.g. weekly, report")] = None,
) -> DocumentChange:
    # the build side, imported where a change is made so the query path loads none of it (tests/test_layering.py)
    from briefsearch.build.manage import DocumentInput

    _require_loaded(engine)
    limit = engine.settings.max_upload_bytes
    if file.size is not None and file.size > limit:
        raise DocumentTooLargeError(f"{file.filename}: {file.size} bytes is over the limit of {limit} bytes")
    data = await file.read(limit + 1)
    given = DocumentInput(doc_id=doc_id, title=title, date=date, publisher=publisher, kind=kind)
    result = await engine.run_change(engine.add, data, file.filename or "", given)
    if result.status != "added":
        response.status_code = 200
    return _change(result)


_BATCH_ERRORS = {
    **{code: _CHANGE_ERRORS[code] for code in (401, 403, 500)},
    400: {"model": BatchChange, "description": "Every file was refused, for different reasons (each file's is in "
          "`files`); malformed multipart, or over 1,000 files"},
    409: {"model": ErrorResponse, "description": "Another change or build still running (retry after Retry-After "
          "seconds); or every file was refused as a duplicate"},
    413: {"model": ErrorResponse, "description": "The body over 5 x BRIEFSEARCH_MAX_UPLOAD_BYTES, or every file over "
          "the size limit"},
    415: {"model": BatchChange, "description": "Every file of an unsupported type"},
    422: {"model": ErrorResponse, "description": "No files, invalid form fields or document metadata"},
    **UNAVAILABLE,
}


def _batch(result: BulkResult) -> tuple[int, BatchChange]:
    """The status and body of a batch upload (the policy is BatchChange's docstring)."""
    files = [FileChange(file=f.filename, status=f.status, doc_id=f.doc_id or None, title=f.title or None,  # type: ignore[arg-type]
                        passages=f.passages, error=public_text(f.message) if f.error else None,
                        error_status=status_for(f.error) if f.error else None) for f in result.files]
    counts = {s: result.count(s) for s in ("added", "replaced", "unchanged", "refused")}
    body = BatchChange(files=files, **counts, passages_embedded=result.passages_embedded,
                       sentences_embedded=result.sentences_embedded, documents=result.documents,
                       index_version=result.index_version, seconds=result.seconds)
    if counts["refused"] < len(files):
        return (201 if counts["added"] + counts["replaced"] else 200), body
    statuses = {f.error_status for f in files}
    body.detail = f"every file was refused ({len(files)}): " + "; ".join(f"{f.file}: {f.error}" for f in files)
    return (statuses.pop() if len(statuses) == 1 else 400), body


@router.post("/batch", response_model=BatchChange, status_code=201, responses={200: {"model": BatchChange},
             **_BATCH_ERRORS},
             summary="Add several documents at once, published as one new index version")
@writes
async def add_documents(
    engine: EngineDep,
    files: Annotated[list[UploadFile], File(
        description="The briefings, one `files` part each: .txt/.md (UTF-8 or CP949), .pdf, .docx, .hwpx or .hwp")],
    title: Annotated[str | None, Form(description="Title of every file; default: each one's first line or "
                                      "heading")] = None,
    date: Annotated[str | None, Form(description="Publication date of every file, YYYY[-MM[-DD]]")] = None,
    publisher: Annotated[str | None, Form()] = None,
    kind: Annotated[str | None, Form(description="e.g. weekly, report")] = None,
) -> JSONResponse:
    """Each file is checked on its own: a bad one is refused with its reason, the others go in together.
    Ids come from the file names (a file named like a document replaces it)."""
    from briefsearch.build.manage import DocumentInput, Upload

    _require_loaded(engine)
    given = DocumentInput(title=title, date=date, publisher=publisher, kind=kind)
    given.check()  # the request's fields, before any file is read
    uploads = [Upload(file.filename or "", data=await file.read(), given=given) for file in files]
    status, body = _batch(await engine.run_change(engine.add_many, uploads))
    return JSONResponse(status_code=status, content=body.model_dump())


@router.delete("/{doc_id}", response_model=DocumentChange, responses={404: {"model": ErrorResponse},
               **_CHANGE_ERRORS}, summary="Remove a document: its passages, vectors and BM25 entries")
@writes
async def remove_document(doc_id: str, engine: EngineDep) -> DocumentChange:
    _require_loaded(engine)
    return _change(await engine.run_change(engine.remove, doc_id))

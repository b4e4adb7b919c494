"""Domain errors -> HTTP statuses, in one place."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from briefsearch.index.errors import (
    BriefsearchError,
    CorpusError,
    DocumentConflictError,
    DocumentTooLargeError,
    IndexMissingError,
    LibraryBusyError,
    QueryError,
    ServerFaultError,
    UnknownDocumentError,
    UnsupportedFormatError,
)
from briefsearch.service.openai_compat import OpenAIError, error_response, is_openai_path

# first match wins: subclasses before their base class
_STATUS: list[tuple[type[BriefsearchError], int]] = [
    (UnknownDocumentError, 404),
    (LibraryBusyError, 409),
    (ServerFaultError, 500),
    (DocumentConflictError, 409),
    (DocumentTooLargeError, 413),
    (UnsupportedFormatError, 415),
    (QueryError, 422),
    (CorpusError, 400),
    (IndexMissingError, 503),
]


def _describe(errors: list[dict]) -> str:
    parts = []
    for err in errors:
        parts_loc = list(err.get("loc", ()))
        if parts_loc and parts_loc[0] in ("body", "query", "path", "header"):
            parts_loc = parts_loc[1:]  # where it came from; the field name is what helps
        loc = ".".join(str(p) for p in parts_loc)
        msg = err.get("msg", "invalid")
        if err.get("type") == "json_invalid":
            msg = "request body is not valid JSON"
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(BriefsearchError)
    async def _domain(request: Request, exc: BriefsearchError) -> JSONResponse:
        status = next((code for cls, code in _STATUS if isinstance(exc, cls)), 500)
        retry = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(max(1, round(retry)))} if retry is not None else None
        if is_openai_path(request.url.path):
            return error_response(status, str(exc), headers=headers)
        return JSONResponse(status_code=status, content={"detail": str(exc)}, headers=headers)

    @app.exception_handler(OpenAIError)
    async def _openai(_: Request, exc: OpenAIError) -> JSONResponse:
        return error_response(exc.status, exc.message, exc.code, exc.param)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        if is_openai_path(request.url.path):  # OpenAI clients read {"error": {...}}; param: the first bad field
            errors = list(exc.errors())
            loc = [str(p) for p in errors[0].get("loc", ())[1:]] if errors else []
            return error_response(422, _describe(errors), "invalid_request", ".".join(loc) or None)
        return _unprocessable(list(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        # A JSON body that is not UTF-8 makes json.loads raise UnicodeDecodeError, not JSONDecodeError, and
        # FastAPI answers an undocumented 400; it is malformed JSON like any other, so the same 422.
        if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
            errors = [{"loc": ("body",), "type": "json_invalid",
                       "msg": f"JSON decode error: not UTF-8 ({exc.__cause__.reason})"}]
            if is_openai_path(request.url.path):
                return error_response(422, _describe(errors), "invalid_request")
            return _unprocessable(errors)
        if is_openai_path(request.url.path):
            return error_response(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))
        return await http_exception_handler(request, exc)


def _unprocessable(errors: list[dict]) -> JSONResponse:
    return JSONResponse(
        status_code=422,
        content={"detail": _describe(errors), "errors": [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in errors
        ]},
    )

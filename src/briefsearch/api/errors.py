"""Domain errors -> HTTP statuses and error bodies, in one place.

One error shape per API family: OpenAI's ``{"error": {...}}`` under ``/v1/``,
``{"detail": ...}`` everywhere else. Error texts sent over HTTP carry no
filesystem paths (they tell a caller how the server is laid out); the full
text goes to the log.
"""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from briefsearch.api.chat.openai_compat import OpenAIError, error_body, error_response, is_openai_path
from briefsearch.errors import (
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

log = logging.getLogger(__name__)
# an absolute POSIX path of two or more parts, or a Windows drive path; not a URL's path (after "host:port/")
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~:/\\-])(?:/[^\s/'\"`<>|,;:()\[\]{}]+){2,}/?|\b[A-Za-z]:\\[^\s'\"`<>|]+")

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


def status_for(exc: BriefsearchError) -> int:
    """The HTTP status of a domain error."""
    return next((code for cls, code in _STATUS if isinstance(exc, cls)), 500)


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


def public_text(text: str) -> str:
    """``text`` with every absolute filesystem path cut to ``…/`` and its last part, for HTTP error texts."""
    return _ABSOLUTE_PATH.sub(lambda m: "…/" + m.group().rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1],
                              text)


def error_content(path: str, status: int, message: str) -> dict:
    """The error body for a request to ``path``, in its API family's shape, with no filesystem paths."""
    text = public_text(message)
    return error_body(status, text) if is_openai_path(path) else {"detail": text}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(BriefsearchError)
    async def _domain(request: Request, exc: BriefsearchError) -> JSONResponse:
        status = status_for(exc)
        retry = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(max(1, round(retry)))} if retry is not None else None
        content = error_content(request.url.path, status, str(exc))
        if status >= 500:  # the server's fault: the full text (paths included) is for the operator
            log.error("%s %s answered %d: %s", request.method, request.url.path, status, exc)
        return JSONResponse(status_code=status, content=content, headers=headers)

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

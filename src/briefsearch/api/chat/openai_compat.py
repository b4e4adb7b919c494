"""The OpenAI wire format where it differs from ours: error bodies, model ids, token usage, citation annotations.

OpenAI clients and Open WebUI read errors as ``{"error": {"message", "type",
"param", "code"}}`` (FastAPI's ``{"detail": …}`` shows up in their logs as
``code=- message=-``), expect 404 ``model_not_found`` for a model they cannot
use, and show sources from ``url_citation`` annotations.
"""

from __future__ import annotations

from fastapi.responses import JSONResponse

MODEL_ID = "briefsearch"
OPENAI_PREFIX = "/v1/"

_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
          404: "invalid_request_error", 409: "invalid_request_error", 413: "invalid_request_error",
          415: "invalid_request_error", 422: "invalid_request_error", 429: "rate_limit_error"}

_CODES = {401: "invalid_api_key", 413: "request_too_large"}  # the codes OpenAI's own API sends for these


class OpenAIError(Exception):
    """An error raised by an OpenAI-compatible route, with the fields OpenAI clients read."""

    def __init__(self, status: int, message: str, code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param


def is_openai_path(path: str) -> bool:
    return path.startswith(OPENAI_PREFIX)


def error_body(status: int, message: str, code: str | None = None, param: str | None = None) -> dict:
    kind = _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": param, "code": code or _CODES.get(status)}}


def error_response(status: int, message: str, code: str | None = None, param: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content=error_body(status, message, code, param), headers=headers)


def check_model(model: str | None) -> str:
    """The model id to answer as; an id we do not serve is a 404 ``model_not_found`` (as OpenAI answers)."""
    if model is None or model == MODEL_ID:
        return MODEL_ID
    raise OpenAIError(404, f"The model '{model[:200]}' does not exist; this service serves '{MODEL_ID}'.",
                      code="model_not_found", param="model")


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def url_citation(url: str, title: str, start_index: int, end_index: int) -> dict:
    """One annotation in OpenAI's chat-completions form (what Open WebUI turns into a source chip)."""
    return {"type": "url_citation", "url_citation": {"url": url, "title": title, "start_index": start_index,
                                                     "end_index": end_index}}

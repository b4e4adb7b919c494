"""OpenAI-compatible chat completions over /ask, for chat frontends (Open WebUI, LibreChat, openai clients).

The last user message is the question; earlier user messages resolve short
follow-ups. The reply is Markdown: the extractive answer with [n] markers and a
numbered source list. Structured citations ride in a top-level ``citations``
field, which OpenAI clients ignore safely.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from index.answer import Answer
from index.errors import QueryError
from index.settings import Settings
from service.access import GuardedRoute
from service.deps import AnswererDep
from service.schemas import (
    UNAVAILABLE,
    ChatCompletion,
    ChatRequest,
    ErrorResponse,
    ModelCard,
    ModelList,
    answer_citations,
)

router = APIRouter(prefix="/v1", tags=["openai-compatible"], route_class=GuardedRoute)
MODEL_ID = "briefsearch"


@router.get("/models", response_model=ModelList, summary="Models (OpenAI-compatible)")
async def list_models() -> ModelList:
    return ModelList(data=[ModelCard(id=MODEL_ID, created=0, owned_by="briefsearch")])


def render_markdown(answer: Answer, base_url: str) -> str:
    """The answer with [n] markers, then the numbered sources with links to the document endpoint."""
    lines = [answer.answer, ""]
    if answer.citations:
        lines.append("**출처**")
        for c in answer.citations:
            page = f", p. {c.page}" if c.page else ""
            lines.append(f"{c.n}. {c.title} — {c.section}{page} "
                         f"([문서]({base_url}/documents/{c.doc_id}), {c.source}:{c.line_start}-{c.line_end})")
    else:
        lines.append("**가장 가까운 문단**")
        for hit in answer.hits[:3]:
            lines.append(f"- {hit.chunk.title} — {hit.chunk.section} "
                         f"([문서]({base_url}/documents/{hit.chunk.doc_id}))")
    return "\n".join(lines).strip() + "\n"


@router.post("/chat/completions", response_model=ChatCompletion,
             responses={422: {"model": ErrorResponse}, 200: {"content": {"text/event-stream": {}}}, **UNAVAILABLE},
             summary="Chat completions (OpenAI-compatible, with stream: true as server-sent events)")
async def chat_completions(body: ChatRequest, answerer: AnswererDep, request: Request):
    _check_bounds(body, answerer.searcher.settings)
    users = [m.text() for m in body.messages if m.role == "user" and m.text().strip()]
    if not users:
        raise QueryError("messages must contain a user message with text")
    question, history = users[-1], users[:-1]
    request.state.log_query = question  # the access log includes it only when log_queries is on
    answer = await run_in_threadpool(answerer.ask, question, 5, None, None, history)
    base_url = str(request.base_url).rstrip("/")
    content = render_markdown(answer, base_url)
    citations = answer_citations(answer, base_url)
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    model = body.model or MODEL_ID
    extra = {"answerable": answer.answerable, "confidence": answer.confidence, "query": answer.query}
    if not body.stream:
        return ChatCompletion(
            id=completion_id, created=created, model=model,
            choices=[{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            citations=citations, briefsearch=extra,
        )

    async def events() -> AsyncIterator[str]:
        def chunk(delta: dict, finish: str | None = None, **more: object) -> str:
            payload = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **more}
            return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"

        yield chunk({"role": "assistant", "content": ""})
        for piece in _pieces(content):
            yield chunk({"content": piece})
        yield chunk({}, "stop", citations=[c.model_dump() for c in citations], briefsearch=extra)
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _check_bounds(body: ChatRequest, settings: Settings) -> None:
    """The configured bounds on a conversation (the schema declares only the hard ceilings)."""
    if len(body.messages) > settings.max_chat_messages:
        raise QueryError(f"messages: {len(body.messages)} messages; the limit is {settings.max_chat_messages}")
    for i, message in enumerate(body.messages):
        if len(message.text()) > settings.max_message_chars:
            raise QueryError(f"messages.{i}: {len(message.text())} characters; the limit is "
                             f"{settings.max_message_chars}")


def _pieces(text: str, size: int = 48) -> list[str]:
    """Stream in readable pieces: line by line, long lines in slices."""
    out: list[str] = []
    for line in text.splitlines(keepends=True):
        out.extend(line[i : i + size] for i in range(0, len(line), size))
    return out

"""OpenAI-compatible chat completions over /ask, for chat frontends (Open WebUI, LibreChat, openai clients).

The last user message is the question; earlier user messages resolve short
follow-ups. The reply is Markdown (api/chat/markdown.py): the extractive
answer, one cited sentence per paragraph, and a numbered source list. Citations
ride as OpenAI ``url_citation`` annotations (message.annotations, or the final
chunk's delta.annotations when streaming) and in our own ``citations`` field.
A frontend's background task prompt (title, tags, follow-ups) is answered
without retrieval (api/chat/tasks.py).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from briefsearch.answer.answerer import Answerer
from briefsearch.api.access import GuardedRoute
from briefsearch.api.chat import markdown as chat_markdown
from briefsearch.api.chat import tasks as chat_tasks
from briefsearch.api.chat.citation_links import public_base_url
from briefsearch.api.chat.openai_compat import MODEL_ID, check_model, url_citation, usage
from briefsearch.api.deps import AnswererDep
from briefsearch.api.schemas import (
    OPENAI_UNAVAILABLE,
    ChatCompletion,
    ChatRequest,
    ModelCard,
    ModelList,
    OpenAIErrorResponse,
    answer_citations,
)
from briefsearch.config import Settings
from briefsearch.errors import QueryError

router = APIRouter(prefix="/v1", tags=["openai-compatible"], route_class=GuardedRoute)
_CARD = ModelCard(id=MODEL_ID, created=0, owned_by="briefsearch")


@router.get("/models", response_model=ModelList, summary="Models (OpenAI-compatible)")
async def list_models() -> ModelList:
    return ModelList(data=[_CARD])


@router.get("/models/{model_id}", response_model=ModelCard, responses={404: {"model": OpenAIErrorResponse}},
            summary="One model (OpenAI-compatible)")
async def get_model(model_id: str) -> ModelCard:
    check_model(model_id)
    return _CARD


@router.post("/chat/completions", response_model=ChatCompletion,
             responses={404: {"model": OpenAIErrorResponse}, 422: {"model": OpenAIErrorResponse},
                        200: {"content": {"text/event-stream": {}}}, **OPENAI_UNAVAILABLE},
             summary="Chat completions (OpenAI-compatible, with stream: true as server-sent events)")
async def chat_completions(body: ChatRequest, answerer: AnswererDep, request: Request):
    _check_bounds(body, answerer.searcher.settings)
    model = check_model(body.model)
    base_url = public_base_url(request)
    task = chat_tasks.detect_task(body.messages)
    extra: dict[str, object]
    if task is not None:  # no search: not logged as a query, not limited like one
        request.state.chat_task = task.key
        searcher = answerer.searcher
        content = chat_tasks.render(chat_tasks.answer_task(task, searcher.index, searcher.korean))
        rendered, citations, extra = chat_markdown.Rendered(content, []), [], {"task": task.key}
    else:
        users = [m.text() for m in body.messages if m.role == "user" and m.text().strip()]
        if not users:
            raise QueryError("messages must contain a user message with text")
        question, history = users[-1], users[:-1]
        request.state.log_query = question  # the access log includes it only when log_queries is on
        answer = await run_in_threadpool(answerer.ask, question, 5, None, None, history)
        rendered = chat_markdown.render(answer, base_url)
        citations = answer_citations(answer, {s.citation.n: s.url for s in rendered.spans})
        extra = {"answerable": answer.answerable, "confidence": answer.confidence, "query": answer.query}
    annotations = [url_citation(s.url, s.title, s.start, s.end) for s in rendered.spans]
    counted = await run_in_threadpool(_usage, answerer, body, rendered.content)
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    if not body.stream:
        message = {"role": "assistant", "content": rendered.content, "annotations": annotations}
        return ChatCompletion(id=completion_id, created=created, model=model, usage=counted,
                              choices=[{"index": 0, "message": message, "finish_reason": "stop"}],
                              citations=citations, briefsearch=extra)

    include_usage = bool((body.stream_options or {}).get("include_usage"))

    async def events() -> AsyncIterator[str]:
        def chunk(choices: list[dict], **more: object) -> str:
            payload = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
                       "choices": choices, **more}
            return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"

        def delta(content: dict, finish: str | None = None) -> list[dict]:
            return [{"index": 0, "delta": content, "finish_reason": finish}]

        yield chunk(delta({"role": "assistant", "content": ""}))
        for piece in _pieces(rendered.content):
            yield chunk(delta({"content": piece}))
        final = {"annotations": annotations} if annotations else {}
        yield chunk(delta(final, "stop"), citations=[c.model_dump() for c in citations], briefsearch=extra)
        if include_usage:  # OpenAI's usage chunk: no choices, the counts of the whole completion
            yield chunk([], usage=counted)
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


def _usage(answerer: Answerer, body: ChatRequest, content: str) -> dict[str, int]:
    """Real token counts from the embedding model's tokenizer: every message's text, and the reply."""
    prompt = "\n".join(m.text() for m in body.messages)
    prompt_tokens, completion_tokens = answerer.searcher.encoder.count_tokens([prompt, content])
    return usage(prompt_tokens, completion_tokens)


def _pieces(text: str, size: int = 48) -> list[str]:
    """Stream in readable pieces: line by line, long lines in slices."""
    out: list[str] = []
    for line in text.splitlines(keepends=True):
        out.extend(line[i : i + size] for i in range(0, len(line), size))
    return out


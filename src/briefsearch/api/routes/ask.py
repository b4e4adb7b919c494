"""Extractive answers with sentence-level citations."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from briefsearch.api.access import GuardedRoute
from briefsearch.api.deps import AnswererDep
from briefsearch.api.schemas import UNAVAILABLE, AskRequest, AskResponse, ErrorResponse

router = APIRouter(tags=["answers"], route_class=GuardedRoute)


@router.post("/ask", response_model=AskResponse, responses={422: {"model": ErrorResponse}, **UNAVAILABLE},
             summary="Answer a question with sentences from the corpus, each cited")
async def ask(body: AskRequest, answerer: AnswererDep, request: Request) -> AskResponse:
    request.state.log_query = body.question  # the access log includes it only when log_queries is on
    answer = await run_in_threadpool(answerer.ask, body.question, body.k, body.mode, body.filters())
    return AskResponse.from_answer(answer, answerer.searcher.index.documents)

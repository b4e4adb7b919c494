"""MCP tools and resources over the served index, for chat frontends and agents that call tools.

One job: expose the engine's current Searcher/Answerer through the official MCP
SDK (FastMCP). Results are the HTTP API's own response models
(``api/schemas.py``), so a tool returns exactly what ``/search`` or ``/ask``
would. Two transports share this server: streamable HTTP at ``/mcp`` inside the
FastAPI app (``McpEndpoint``, run by the app's lifespan) and stdio
(``briefsearch mcp``). Descriptions are Korean because the model reading them
answers Korean questions about Korean documents.
"""

# no ``from __future__ import annotations``: FastMCP evaluates the tool signatures, whose limits are locals
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Annotated, Literal, TypeVar

import anyio
from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.exceptions import ResourceError, ToolError
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import Resource, ToolAnnotations
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from briefsearch.api.errors import public_text
from briefsearch.api.schemas import AskResponse, DocumentSummary, SearchResponse
from briefsearch.config import REPO_ROOT, Settings
from briefsearch.errors import BriefsearchError
from briefsearch.runtime.engine import Engine, Serving
from briefsearch.types import DocumentRecord, SearchFilters

log = logging.getLogger(__name__)
T = TypeVar("T")

DOCUMENT_URI = "briefsearch://documents/{doc_id}"
MAX_PASSAGE_CHARS = 20_000  # get_passage: a passage is at most a few thousand characters; a whole file is a resource
MAX_CONTEXT_CHARS = 2_000
LOOPBACK = ("127.0.0.1", "localhost", "::1")

INSTRUCTIONS = (
    "중국 과학기술·산업 정책에 관한 한국어 정책 브리핑 모음을 검색하는 도구입니다. "
    "사실을 답할 때는 search_briefings 또는 ask_briefings 결과의 원문 문단만 근거로 삼고, "
    "각 문장 뒤에 출처(문서 제목, citation의 source와 줄 번호)를 밝히세요. "
    "검색 결과에 없는 내용은 지어내지 말고 자료에 없다고 답하세요. "
    "인용 앞뒤 문맥이 필요하면 get_passage로 원문을 확인하세요."
)

Mode = Literal["hybrid", "dense", "lexical"]


class ListedDocument(DocumentSummary):
    uri: str = Field(description="MCP 리소스 URI: 원문 전체 (citation 오프셋이 가리키는 텍스트)")


class DocumentList(BaseModel):
    documents: list[ListedDocument]


class Passage(BaseModel):
    """A cited span of an original file, with the text around it."""

    doc_id: str
    title: str
    source: str = Field(description="원문 파일 경로 (citation의 source와 같음)")
    char_start: int
    char_end: int
    line_start: int
    line_end: int
    text: str = Field(description="원문[char_start:char_end], 인용된 글자 그대로")
    before: str = Field(description="인용 바로 앞의 원문 (최대 context_chars 글자)")
    after: str = Field(description="인용 바로 뒤의 원문 (최대 context_chars 글자)")
    document_length: int = Field(description="원문 전체의 글자 수")


def _original(doc: DocumentRecord) -> str:
    """The decoded file that citation offsets slice."""
    # the decoding indexing used; imported here so the query path loads no ingest module (tests/test_layering.py)
    from briefsearch.ingest.sources import read_original

    return read_original(REPO_ROOT / doc.source, doc.encoding)


def cited_passage(doc: DocumentRecord, char_start: int, char_end: int, context_chars: int) -> Passage:
    """The exact slice ``[char_start:char_end]`` of the document's original file, with context; bad spans raise."""
    if char_end <= char_start:
        raise ToolError(f"char_end ({char_end}) must be greater than char_start ({char_start})")
    if char_end - char_start > MAX_PASSAGE_CHARS:
        raise ToolError(f"span of {char_end - char_start} characters is over the limit of {MAX_PASSAGE_CHARS}; "
                        f"read the whole document as the resource {DOCUMENT_URI.format(doc_id=doc.doc_id)}")
    raw = _original(doc)
    if char_end > len(raw):
        raise ToolError(f"char_end ({char_end}) is past the end of document {doc.doc_id!r} ({len(raw)} characters)")
    return Passage(
        doc_id=doc.doc_id, title=doc.title, source=doc.source, char_start=char_start, char_end=char_end,
        line_start=raw.count("\n", 0, char_start) + 1, line_end=raw.count("\n", 0, char_end - 1) + 1,
        text=raw[char_start:char_end], before=raw[max(0, char_start - context_chars):char_start],
        after=raw[char_end:char_end + context_chars], document_length=len(raw),
    )


def _document(serving: Serving, doc_id: str) -> DocumentRecord:
    doc = serving.searcher.index.documents.get(doc_id)
    if doc is None:
        raise ToolError(f"unknown document id {doc_id!r}; list_documents gives the ids")
    return doc


@contextmanager
def _root_logger_kept() -> Iterator[None]:
    """Undo what FastMCP's constructor does to the root logger (``logging.basicConfig``: a Rich or stream
    handler and its ``log_level``): the process embedding the app owns that (``configure_logging``, a Ray
    worker's setup, a library user's)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(level)


class BriefingServer(FastMCP):
    """FastMCP whose resource list names every document served now (the set changes as documents are added)."""

    def __init__(self, engine_of: Callable[[], Engine], **kwargs) -> None:
        self.engine_of = engine_of
        with _root_logger_kept():
            super().__init__(**kwargs)

    async def list_resources(self) -> list[Resource]:
        listed = await super().list_resources()
        current = self.engine_of().current
        if current is not None:
            listed += [Resource(uri=DOCUMENT_URI.format(doc_id=d.doc_id), name=d.doc_id, title=d.title,
                                description=f"{d.publisher} {d.date} 원문", mimeType="text/plain")
                       for d in current.searcher.index.documents.values()]
        return listed


def build_server(settings: Settings, engine_of: Callable[[], Engine], load_wait: float = 0.0,
                 refresh: bool = False) -> BriefingServer:
    """The MCP server over ``engine_of()``'s current index.

    ``load_wait``: seconds a call waits for an engine still loading (stdio starts
    before the index is loaded) before answering that it is loading. ``refresh``:
    pick up an index version another process published before each call (stdio
    has no background poller; the check is one small file read).
    """
    loopback = settings.host in LOOPBACK
    max_k, max_chars = settings.max_k, settings.max_query_chars  # the schema states the limits the searcher applies
    if settings.log_level != "DEBUG":  # the SDK logs every request at INFO; the access log already has them
        logging.getLogger("mcp.server.lowlevel.server").setLevel(logging.WARNING)
    server = BriefingServer(
        engine_of, name="briefsearch", instructions=INSTRUCTIONS, log_level="WARNING",
        stateless_http=True, json_response=True,  # every call stands alone; plain JSON replies, no held streams
        # the SDK's DNS-rebinding guard for a loopback bind, with the browser origins the API allows
        transport_security=TransportSecuritySettings(
            enable_dns_rebinding_protection=loopback,
            allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
            allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*",
                             *settings.cors_origin_list]),
    )

    async def serving() -> Serving:
        engine = engine_of()
        deadline = time.monotonic() + load_wait
        while engine.current is None and engine.state == "loading" and time.monotonic() < deadline:
            await anyio.sleep(0.1)
        if engine.current is None:
            if engine.state == "failed":
                raise ToolError(f"the index failed to load: {public_text(engine.error)}")
            raise ToolError("the index is still loading; retry in a few seconds")
        if refresh:
            await anyio.to_thread.run_sync(engine.refresh_quietly)
        return engine.current

    async def run(fn: Callable[..., T], *args) -> T:
        """CPU-bound work off the event loop; the core's domain errors become tool errors with their message."""
        try:
            return await anyio.to_thread.run_sync(fn, *args)
        except (BriefsearchError, ToolError) as exc:
            raise ToolError(public_text(str(exc))) from exc
        except Exception as exc:
            log.exception("MCP tool call failed")
            raise ToolError(f"internal error ({type(exc).__name__}); the call was not completed") from exc

    read_only = ToolAnnotations(readOnlyHint=True, idempotentHint=True, openWorldHint=False)

    @server.tool(title="정책 브리핑 검색", annotations=read_only, structured_output=True)
    async def search_briefings(
        query: Annotated[str, Field(description="찾을 내용: 한국어(또는 영어) 질문이나 키워드. "
                                    "예: '광둥성의 범용 AI 산업 목표는?'", max_length=max_chars)],
        k: Annotated[int, Field(ge=1, le=max_k, description="돌려받을 문단 수")] = 5,
        mode: Annotated[Mode | None, Field(description="hybrid(기본, 의미+키워드 결합), dense(의미 검색만), "
                                           "lexical(키워드 BM25만: 고유명사·수치를 정확히 찾을 때)")] = None,
        doc_ids: Annotated[list[str] | None, Field(max_length=1000, description="이 문서들 안에서만 검색 "
                                                   "(list_documents의 doc_id)")] = None,
        date_from: Annotated[str | None, Field(max_length=10, description="발행일 시작 (YYYY, YYYY-MM 또는 "
                                               "YYYY-MM-DD, 포함)")] = None,
        date_to: Annotated[str | None, Field(max_length=10, description="발행일 끝 (같은 형식, 포함)")] = None,
        publisher: Annotated[str | None, Field(max_length=200, description="발행 기관 이름에 포함된 문자열 "
                                               "(대소문자 무시)")] = None,
    ) -> SearchResponse:
        """정책 브리핑에서 질문과 관련된 원문 문단을 관련도 순으로 찾습니다.

        각 결과에는 문단 본문(text), 문서 제목, 절 경로(section), 그리고 인용 정보(citation: 원문 파일 source,
        char_start/char_end 글자 오프셋, 줄 번호, 쪽)가 있습니다. 답을 쓸 때는 이 문단만 근거로 삼고 출처를
        밝히세요. 점수(score)는 순위 비교용일 뿐 확률이 아닙니다.
        """
        current = await serving()
        filters = SearchFilters(tuple(doc_ids or ()), date_from, date_to, publisher)
        result = await run(current.searcher.search, query, k, mode, filters)
        return SearchResponse.from_result(result, current.searcher.index.documents)

    @server.tool(title="근거 문장으로 답하기", annotations=read_only, structured_output=True)
    async def ask_briefings(
        question: Annotated[str, Field(description="한국어(또는 영어) 질문. 예: '광둥성의 범용 AI 산업 목표는?'",
                                       max_length=max_chars)],
    ) -> AskResponse:
        """질문에 대해 브리핑 원문에서 뽑은 1~3개 문장으로 답합니다 (추출형: 원문에 없는 말은 만들지 않음).

        answer의 각 문장 뒤 [n]은 citations[n-1]의 정확한 원문 위치(문서, 절, 줄, 글자 오프셋)를 가리킵니다.
        answerable이 false이면 자료가 이 질문에 답하지 않는다는 뜻입니다: 그럴 때는 답을 지어내지 말고,
        passages(가장 가까운 문단)를 참고만 하세요.
        """
        current = await serving()
        answer = await run(current.answerer.ask, question)
        return AskResponse.from_answer(answer, current.searcher.index.documents)

    @server.tool(title="인용 원문과 앞뒤 문맥", annotations=read_only, structured_output=True)
    async def get_passage(
        doc_id: Annotated[str, Field(description="문서 id (citation.doc_id)", min_length=1, max_length=200)],
        char_start: Annotated[int, Field(ge=0, description="citation.char_start: 인용 첫 글자의 오프셋")],
        char_end: Annotated[int, Field(ge=1, description="citation.char_end: 인용 마지막 글자 바로 뒤 오프셋")],
        context_chars: Annotated[int, Field(ge=0, le=MAX_CONTEXT_CHARS, description="앞뒤로 함께 돌려줄 "
                                            "원문 글자 수")] = 300,
    ) -> Passage:
        """검색·답변 결과의 인용(citation)이 가리키는 원문 구간을 글자 그대로, 앞뒤 문맥과 함께 돌려줍니다.

        text는 원문 파일을 char_start부터 char_end 직전까지 자른 것이고(검색 결과의 text는 줄바꿈 등을 정리한
        형태), before/after는 그 앞뒤 원문입니다. 표나 목록의 앞뒤 맥락, 정확한 인용문을 확인할 때 쓰세요.
        """
        current = await serving()
        doc = _document(current, doc_id)
        return await run(cited_passage, doc, char_start, char_end, context_chars)

    @server.tool(title="문서 목록", annotations=read_only, structured_output=True)
    async def list_documents() -> DocumentList:
        """검색 대상인 브리핑 문서 목록: doc_id, 제목, 발행 기관, 발행일, 종류, 문단 수, 원문 리소스 URI.

        search_briefings의 doc_ids·date_from·publisher 필터에 쓸 값을 고를 때 사용하세요.
        """
        current = await serving()
        return DocumentList(documents=[
            ListedDocument(**DocumentSummary.from_record(d).model_dump(), uri=DOCUMENT_URI.format(doc_id=d.doc_id))
            for d in current.searcher.index.documents.values()])

    @server.resource(DOCUMENT_URI, name="document", title="브리핑 원문", mime_type="text/plain",
                     description="브리핑 한 편의 원문 전체. 인용(citation)의 char_start/char_end는 이 텍스트의 "
                                 "글자 오프셋입니다.")
    async def document_text(doc_id: str) -> str:
        try:
            current = await serving()
            doc = _document(current, doc_id)
            return await run(_original, doc)
        except ToolError as exc:
            raise ResourceError(str(exc)) from exc

    return server


class McpEndpoint:
    """``/mcp`` in the FastAPI app: the session manager of the running lifespan (``create_app`` puts the key check
    in front of it).

    The SDK's session manager runs once per instance, inside a lifespan; ``running``
    builds a fresh server and manager for each run of the app's lifespan.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._manager: StreamableHTTPSessionManager | None = None

    @asynccontextmanager
    async def running(self, engine: Engine) -> AsyncIterator[None]:
        server = build_server(self.settings, lambda: engine)
        server.streamable_http_app()  # creates server.session_manager with the server's transport settings
        async with server.session_manager.run():
            self._manager = server.session_manager
            try:
                yield
            finally:
                self._manager = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        manager = self._manager
        if manager is None:
            await JSONResponse(status_code=503, content={"detail": "the MCP server is not running"})(
                scope, receive, send)
            return
        await manager.handle_request(scope, receive, send)

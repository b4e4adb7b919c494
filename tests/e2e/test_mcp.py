"""The MCP server, driven by the official MCP Python client over both transports.

stdio: ``briefsearch mcp`` spawned as a subprocess over the session's data
directory. Streamable HTTP: the real app served by uvicorn, at ``/mcp``. Both
run the same checks: the tools are listed with their schemas, each is called
with a Korean question, a citation is checked against the original file, and
bad arguments come back as tool errors while the session keeps working.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import unicodedata
from pathlib import Path

import httpx
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamablehttp_client
from mcp.shared.exceptions import McpError

from briefsearch.api.app import create_app
from briefsearch.config import REPO_ROOT, Settings
from briefsearch.ingest.sources import read_original

QUESTION = "광둥성의 범용 AI 산업 목표는?"
GUANGDONG = "001_7307f45af5f7b1ae"  # the document that answers QUESTION (eval/questions.jsonl)
TOOLS = {"search_briefings", "ask_briefings", "get_passage", "list_documents"}
HANGUL = re.compile(r"[가-힣]")


def _alnum(text: str) -> str:
    """Letters and digits only: what normalization keeps of a cited span (wraps, markup, footnote markers go)."""
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"(?<=\S)\d{1,3}\)", "", text)  # footnote markers glued to a word: 고기술사(高新技术司)28)
    return re.sub(r"[\W_]", "", unicodedata.normalize("NFC", text))


def _file_text(searcher, doc_id: str) -> str:
    doc = searcher.index.documents[doc_id]
    return read_original(REPO_ROOT / doc.source, doc.encoding)


async def _call(session: ClientSession, tool: str, args: dict) -> dict:
    result = await session.call_tool(tool, args)
    assert not result.isError, result.content
    # the text content is the same JSON as the structured content (clients without structured output read it)
    assert json.loads(result.content[0].text) == result.structuredContent
    return result.structuredContent


async def _error(session: ClientSession, tool: str, args: dict) -> str:
    result = await session.call_tool(tool, args)
    assert result.isError, result.structuredContent
    return result.content[0].text


async def _exercise(session: ClientSession, searcher, settings: Settings) -> None:
    """Everything an MCP client does, against the real index; the same on both transports."""
    await session.initialize()
    tools = {t.name: t for t in (await session.list_tools()).tools}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert HANGUL.search(tool.description or ""), f"{tool.name}: description should be Korean"
        assert tool.outputSchema and tool.annotations and tool.annotations.readOnlyHint
    search_schema = tools["search_briefings"].inputSchema
    assert search_schema["required"] == ["query"]
    assert set(search_schema["properties"]) == {"query", "k", "mode", "doc_ids", "date_from", "date_to", "publisher"}
    assert search_schema["properties"]["k"]["maximum"] == settings.max_k  # the limit the searcher applies
    assert set(tools["get_passage"].inputSchema["required"]) == {"doc_id", "char_start", "char_end"}

    # search: ranked passages with citations that slice the original file
    found = await _call(session, "search_briefings", {"query": QUESTION, "k": 3})
    assert found["mode"] == "hybrid" and len(found["results"]) == 3
    top = found["results"][0]
    assert top["doc_id"] == GUANGDONG and [r["rank"] for r in found["results"]] == [1, 2, 3]
    cite = top["citation"]
    sliced = _file_text(searcher, cite["doc_id"])[cite["char_start"]:cite["char_end"]]
    assert _alnum(sliced).startswith(_alnum(top["text"])[:10]) and _alnum(sliced).endswith(_alnum(top["text"])[-10:])

    # the same search as /search: filters and modes pass through
    filtered = await _call(session, "search_briefings", {"query": "단일 위성 최대 744TOPS", "k": 2, "mode": "lexical",
                                                         "date_from": "2026", "publisher": "KOSTEC"})
    assert filtered["mode"] == "lexical" and filtered["results"]
    assert {r["doc_id"] for r in filtered["results"]} == {"004_0772bc47312adfbb"}
    assert "744TOPS" in filtered["results"][0]["matched_terms"]

    # ask: the extractive answer; every [n] cites the exact sentence in the file
    answer = await _call(session, "ask_briefings", {"question": QUESTION})
    assert answer["answerable"] and answer["citations"]
    assert "[1]" in answer["answer"] and "광둥성" in answer["answer"]
    for c in answer["citations"]:
        assert c["doc_id"] == GUANGDONG
        assert _alnum(_file_text(searcher, c["doc_id"])[c["char_start"]:c["char_end"]]) == _alnum(c["text"])
    unanswered = await _call(session, "ask_briefings", {"question": "오늘 서울 날씨 어때?"})
    assert not unanswered["answerable"] and not unanswered["citations"] and unanswered["passages"]

    # get_passage: the cited text exactly, with the file around it
    first = answer["citations"][0]
    passage = await _call(session, "get_passage", {"doc_id": first["doc_id"], "char_start": first["char_start"],
                                                   "char_end": first["char_end"], "context_chars": 80})
    raw = _file_text(searcher, first["doc_id"])
    assert passage["text"] == raw[first["char_start"]:first["char_end"]]
    assert passage["before"] == raw[max(0, first["char_start"] - 80):first["char_start"]]
    assert passage["after"] == raw[first["char_end"]:first["char_end"] + 80]
    assert (passage["line_start"], passage["line_end"]) == (first["line_start"], first["line_end"])
    assert passage["document_length"] == len(raw)

    # list_documents: what is indexed, with the resource URI of each
    documents = (await _call(session, "list_documents", {}))["documents"]
    assert {d["doc_id"] for d in documents} == set(searcher.index.documents)
    assert all(d["uri"] == f"briefsearch://documents/{d['doc_id']}" for d in documents)

    # resources: every document is listed and reads as the file the citations slice
    uris = {str(r.uri) for r in (await session.list_resources()).resources}
    assert uris == {d["uri"] for d in documents}
    read = await session.read_resource(f"briefsearch://documents/{GUANGDONG}")
    assert read.contents[0].text == _file_text(searcher, GUANGDONG) and read.contents[0].mimeType == "text/plain"
    with pytest.raises(McpError, match="unknown document id"):
        await session.read_resource("briefsearch://documents/no-such-doc")

    # bad arguments: tool errors with a clear message, and the session goes on
    assert "empty" in await _error(session, "search_briefings", {"query": "   "})
    assert "less than or equal to 50" in await _error(session, "search_briefings", {"query": QUESTION, "k": 51})
    assert "bad date" in await _error(session, "search_briefings", {"query": QUESTION, "date_from": "2026-13"})
    assert "unknown document id" in await _error(session, "search_briefings", {"query": QUESTION,
                                                                                "doc_ids": ["nope"]})
    assert "mode" in await _error(session, "search_briefings", {"query": QUESTION, "mode": "semantic"})
    assert "question" in await _error(session, "ask_briefings", {})
    assert "unknown document id" in await _error(session, "get_passage", {"doc_id": "nope", "char_start": 0,
                                                                          "char_end": 5})
    assert "past the end" in await _error(session, "get_passage", {"doc_id": GUANGDONG, "char_start": len(raw) - 9,
                                                                   "char_end": len(raw) + 1})
    assert "over the limit" in await _error(session, "get_passage", {"doc_id": GUANGDONG, "char_start": 0,
                                                                     "char_end": 20_001})
    assert "greater than char_start" in await _error(session, "get_passage", {"doc_id": GUANGDONG,
                                                                              "char_start": 9, "char_end": 9})
    assert (await _call(session, "search_briefings", {"query": QUESTION, "k": 1}))["results"][0]["doc_id"] == GUANGDONG


def test_stdio_briefsearch_mcp(settings: Settings, searcher) -> None:
    command = Path(sys.executable).with_name("briefsearch")
    params = StdioServerParameters(command=str(command), args=[
        "--data-dir", str(settings.data_dir), "--corpus-dir", str(settings.corpus_dir), "mcp", "--no-build"])

    async def run() -> None:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await _exercise(session, searcher, settings)

    asyncio.run(asyncio.wait_for(run(), timeout=300))


def test_streamable_http_at_mcp(live_server: str, settings: Settings, searcher) -> None:
    async def run() -> None:
        async with streamablehttp_client(f"{live_server}/mcp") as (read, write, _), \
                ClientSession(read, write) as session:
            await _exercise(session, searcher, settings)

    asyncio.run(asyncio.wait_for(run(), timeout=300))


def test_http_mcp_needs_the_api_key(settings: Settings, searcher, serve_app) -> None:
    secured = settings.model_copy(update={"api_keys": "key-one,key-two"})
    url, stop = serve_app(create_app(secured, searcher=searcher))
    try:
        list_tools = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        accept = {"Accept": "application/json, text/event-stream"}
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "key-one"},
                        {"Authorization": "Bearer k\xe9y".encode("latin-1")}):
            refused = httpx.post(f"{url}/mcp", json=list_tools, headers={**accept, **headers})
            assert refused.status_code == 401, headers
            assert refused.json() == {"detail": "missing or invalid API key"}
        assert httpx.get(f"{url}/mcp", headers=accept).status_code == 401

        async def run(headers: dict[str, str]) -> list[str]:
            async with streamablehttp_client(f"{url}/mcp", headers=headers) as (read, write, _), \
                    ClientSession(read, write) as session:
                await session.initialize()
                found = await _call(session, "search_briefings", {"query": QUESTION, "k": 1})
                return [r["doc_id"] for r in found["results"]]

        assert asyncio.run(run({"Authorization": "Bearer key-two"})) == [GUANGDONG]
        with pytest.raises(ExceptionGroup) as refused:  # the official client gives up on the 401
            asyncio.run(asyncio.wait_for(run({}), timeout=60))
        assert refused.group_contains(httpx.HTTPStatusError, match="401 Unauthorized")
    finally:
        stop()


def test_tools_say_when_the_index_failed_to_load(tmp_path: Path, settings: Settings, serve_app) -> None:
    """An app whose index is missing still answers MCP calls, with the reason as a tool error."""
    empty = Settings(data_dir=tmp_path, corpus_dir=settings.corpus_dir)
    (tmp_path / "models").symlink_to(settings.models_dir, target_is_directory=True)
    url, stop = serve_app(create_app(empty, build=False))
    try:
        async def run() -> str:
            async with streamablehttp_client(f"{url}/mcp") as (read, write, _), ClientSession(read, write) as session:
                await session.initialize()
                while (await session.call_tool("list_documents", {})).content[0].text.endswith("retry in a few "
                                                                                                 "seconds"):
                    await asyncio.sleep(0.2)
                return await _error(session, "search_briefings", {"query": QUESTION})

        message = asyncio.run(asyncio.wait_for(run(), timeout=120))
        assert "failed to load" in message and "index" in message
    finally:
        stop()

"""The OpenAI-compatible chat API, driven by the official ``openai`` client against a real server."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from openai import NotFoundError, OpenAI

from briefsearch.api.app import create_app


@pytest.fixture(scope="module")
def openai_client(live_server: str) -> OpenAI:
    return OpenAI(base_url=f"{live_server}/v1", api_key="unused", max_retries=0, timeout=120)


def test_models_list(openai_client: OpenAI) -> None:
    models = openai_client.models.list()
    assert [m.id for m in models.data] == ["briefsearch"]


def test_chat_completion_non_streaming(openai_client: OpenAI, live_server: str) -> None:
    reply = openai_client.chat.completions.create(
        model="briefsearch", messages=[{"role": "system", "content": "한국어로 답하라"},
                                       {"role": "user", "content": "광둥성의 범용 AI 산업 목표는?"}],
    )
    content = reply.choices[0].message.content
    assert reply.choices[0].finish_reason == "stop" and reply.object == "chat.completion"
    assert "[1]" in content and "**출처**" in content and "광둥성" in content
    assert f"{live_server}/documents/001_7307f45af5f7b1ae/view?start=" in content
    extra = reply.model_extra or {}
    assert extra["citations"][0]["doc_id"] == "001_7307f45af5f7b1ae"
    assert extra["citations"][0]["char_end"] > extra["citations"][0]["char_start"]


def test_chat_completion_streaming(openai_client: OpenAI) -> None:
    stream = openai_client.chat.completions.create(
        model="briefsearch", stream=True, messages=[{"role": "user", "content": "웨강아오대만구의 미래 10대 산업은?"}],
    )
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert "[1]" in text and "**출처**" in text
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert (chunks[-1].model_extra or {})["citations"]


def test_streaming_ends_with_done(client) -> None:
    payload = {"messages": [{"role": "user", "content": "중국 국가혁신지수 순위는?"}], "stream": True}
    with client.stream("POST", "/v1/chat/completions", json=payload) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    assert all(line.startswith("data: ") for line in lines)


def test_followup_uses_earlier_turns(openai_client: OpenAI) -> None:
    reply = openai_client.chat.completions.create(model="briefsearch", messages=[
        {"role": "user", "content": "베이징 부도심 국가녹색개발시범구의 삼림 피복률 목표는?"},
        {"role": "assistant", "content": "..."},
        {"role": "user", "content": "그 목표 연도는?"},
    ])
    extra = reply.model_extra or {}
    assert "베이징" in extra["briefsearch"]["query"]
    assert {c["doc_id"] for c in extra["citations"]} == {"003_263747581c6563b7"}


def test_chat_rejects_requests_without_a_user_message(client) -> None:
    assert client.post("/v1/chat/completions", json={"messages": []}).status_code == 422
    only_system = client.post("/v1/chat/completions", json={"messages": [{"role": "system", "content": "x"}]})
    assert only_system.status_code == 422 and "user" in only_system.json()["error"]["message"]


def test_api_keys_and_cors(settings, searcher) -> None:
    secured = settings.model_copy(update={"api_keys": "key-one, key-two", "cors_origins": "http://chat.example"})
    with TestClient(create_app(secured, searcher=searcher)) as c:
        assert c.get("/health").status_code == 200
        assert c.get("/search", params={"q": "위성"}).status_code == 401
        denied = c.get("/v1/models", headers={"Authorization": "Bearer wrong"})
        assert denied.status_code == 401 and denied.json()["error"]["code"] == "invalid_api_key"
        assert c.get("/v1/models", headers={"Authorization": "Bearer key-two"}).status_code == 200
        ok = c.post("/search", json={"query": "위성"}, headers={"Authorization": "Bearer key-one"})
        assert ok.status_code == 200
        preflight = c.options("/v1/chat/completions", headers={
            "Origin": "http://chat.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type"})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "http://chat.example"
        cross = c.post("/search", json={"query": "위성"}, headers={"Authorization": "Bearer key-one",
                                                                  "Origin": "http://chat.example"})
        assert cross.headers["access-control-expose-headers"] == "X-Request-ID, Mcp-Session-Id"
        assert cross.headers["x-request-id"]
        mcp = c.options("/mcp", headers={"Origin": "http://chat.example", "Access-Control-Request-Method": "POST",
                                         "Access-Control-Request-Headers": "authorization,mcp-protocol-version"})
        assert mcp.status_code == 200 and mcp.headers["access-control-allow-origin"] == "http://chat.example"
        other = c.options("/v1/chat/completions", headers={
            "Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in other.headers


def test_annotations_point_at_each_cited_sentence(openai_client: OpenAI, live_server: str, encoder) -> None:
    """message.annotations: url_citation per citation, its span the sentence and its [n], its URL the document view
    at the cited offsets; the answer is one sentence per paragraph, without the source's bullets."""
    question = "광둥성의 범용 AI 산업 목표는?"
    reply = openai_client.chat.completions.create(model="briefsearch",
                                                  messages=[{"role": "user", "content": question}])
    message = reply.choices[0].message
    citations = (reply.model_extra or {})["citations"]
    annotations = message.annotations or []  # the openai client's own type: OpenAI's url_citation shape
    assert len(annotations) == len(citations) >= 1
    paragraphs = message.content.split("\n\n")
    for n, (annotation, citation) in enumerate(zip(annotations, citations, strict=True), start=1):
        assert annotation.type == "url_citation"
        cite = annotation.url_citation.model_dump()
        span = message.content[cite["start_index"] : cite["end_index"]]
        assert span == paragraphs[n - 1] and span.endswith(f" [{n}]")
        assert not span.startswith(("-", "•", "■", "·"))
        assert cite["url"] == citation["url"] == (f"{live_server}/documents/{citation['doc_id']}/view"
                                                  f"?start={citation['char_start']}&end={citation['char_end']}")
        assert cite["url"] in message.content  # the numbered source list links the same span
    assert len({c["url"] for c in citations}) == len(citations)
    prompt_tokens, completion_tokens = encoder.count_tokens([question, message.content])
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (prompt_tokens, completion_tokens)
    assert reply.usage.total_tokens == prompt_tokens + completion_tokens


def test_stream_ends_with_annotations_then_usage(openai_client: OpenAI) -> None:
    stream = openai_client.chat.completions.create(
        model="briefsearch", stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "웨강아오대만구의 미래 10대 산업은?"}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    final = chunks[-2]
    assert final.choices[0].finish_reason == "stop"
    annotations = final.choices[0].delta.model_extra["annotations"]
    assert [a["type"] for a in annotations] == ["url_citation"] * len((final.model_extra or {})["citations"])
    assert all(text[a["url_citation"]["start_index"] : a["url_citation"]["end_index"]].endswith("]")
               for a in annotations)
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0
    plain = list(openai_client.chat.completions.create(
        model="briefsearch", stream=True, messages=[{"role": "user", "content": "웨강아오대만구의 미래 10대 산업은?"}]))
    assert all(c.usage is None for c in plain)  # no usage chunk unless asked


def test_unknown_model_is_a_404_model_not_found(openai_client: OpenAI) -> None:
    with pytest.raises(NotFoundError) as caught:
        openai_client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "광둥성"}])
    assert caught.value.code == "model_not_found" and caught.value.param == "model"
    assert openai_client.models.retrieve("briefsearch").id == "briefsearch"
    with pytest.raises(NotFoundError):
        openai_client.models.retrieve("gpt-4o")


def test_v1_errors_are_openai_shaped(client) -> None:
    bad = client.post("/v1/chat/completions", json={"messages": [{"role": "user"}], "stream": "yes"})
    assert bad.status_code == 422
    error = bad.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["type"] == "invalid_request_error"
    assert client.get("/v1/nothing-here").json()["error"]["message"] == "Not Found"
    assert "detail" in client.post("/ask", json={"question": ""}).json()  # the rest of the API keeps its shape


def test_public_url_builds_the_links(settings, searcher) -> None:
    public = settings.model_copy(update={"public_url": "https://search.example.org/briefs"})
    with TestClient(create_app(public, searcher=searcher)) as c:
        reply = c.post("/v1/chat/completions", headers={"Host": "internal-name:8000"},
                       json={"messages": [{"role": "user", "content": "광둥성의 범용 AI 산업 목표는?"}]}).json()
    urls = [a["url_citation"]["url"] for a in reply["choices"][0]["message"]["annotations"]]
    assert urls and all(u.startswith("https://search.example.org/briefs/documents/") for u in urls)
    assert "internal-name" not in reply["choices"][0]["message"]["content"]

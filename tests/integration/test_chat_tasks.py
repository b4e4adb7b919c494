"""Open WebUI's background task prompts (title, tags, follow-ups), answered from the conversation, no search.

The prompts are Open WebUI 0.12.4's own default templates (tests/fixtures/openwebui/template_*.txt,
copied verbatim from open_webui/config.py), filled in the way Open WebUI fills them
(``{{MESSAGES:END:n}}`` -> the last n messages as ``ROLE: content`` lines), around a real
conversation with the real app.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from briefsearch.api.access_log import ACCESS_LOGGER
from briefsearch.api.app import create_app

FIXTURES = Path(__file__).parents[1] / "fixtures" / "openwebui"
QUESTION = "광둥성의 범용 AI 산업 목표는?"


def template(name: str) -> str:
    return (FIXTURES / f"template_{name}.txt").read_text(encoding="utf-8")


def fill(text: str, messages: list[dict]) -> str:
    """Open WebUI's replace_messages_variable for {{MESSAGES:END:n}} (utils/task.py, get_messages_content)."""
    def last(match: re.Match) -> str:
        return "\n".join(f"{m['role'].upper()}: {m['content']}" for m in messages[-int(match[1]):])
    return re.sub(r"\{\{MESSAGES:END:(\d+)\}\}", last, text)


def follow_up_view(messages: list[dict]) -> list[dict]:
    """What the default follow-up template sees (utils/task.py, use_default): the first user message and the
    last four, each over 1,000 characters cut to its first 498 and last 499 around "..."."""
    start = max(0, len(messages) - 4)
    first = next((i for i, m in enumerate(messages) if m["role"] == "user"), None)
    kept = ([messages[first]] if first is not None and first < start else []) + messages[start:]
    return [{**m, "content": m["content"] if len(m["content"]) <= 1000 else
             f"{m['content'][:498]}...{m['content'][-499:]}"} for m in kept]


def task_request(client: TestClient, name: str, messages: list[dict], **more) -> tuple[dict, dict]:
    """POST the task the way Open WebUI does (one user message, not streamed); the reply's JSON and the body."""
    if name == "follow_ups":
        messages = follow_up_view(messages)
    body = {"model": "briefsearch", "messages": [{"role": "user", "content": fill(template(name), messages)}],
            "stream": False, **more}
    response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text
    reply = response.json()
    return json.loads(reply["choices"][0]["message"]["content"]), reply


@pytest.fixture(scope="module")
def conversation(client: TestClient) -> list[dict]:
    """One real turn: the question and the service's own Markdown reply (with its citation links)."""
    reply = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}]})
    assert reply.status_code == 200
    return [{"role": "user", "content": QUESTION},
            {"role": "assistant", "content": reply.json()["choices"][0]["message"]["content"]}]


@pytest.fixture()
def no_search(searcher, monkeypatch: pytest.MonkeyPatch) -> None:
    """Any retrieval during the test fails it: task prompts must be answered without one."""
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("a chat task ran a search")
    monkeypatch.setattr(searcher, "search", refuse)


def test_title_from_the_first_question(client: TestClient, conversation: list[dict], no_search: None) -> None:
    answer, reply = task_request(client, "title", conversation)
    assert answer == {"title": "광둥성의 범용 AI 산업 목표"}
    assert reply["briefsearch"] == {"task": "title"} and reply["citations"] == []
    assert reply["choices"][0]["message"]["annotations"] == []


def test_tags_from_the_cited_documents_and_the_question(client: TestClient, conversation: list[dict],
                                                        no_search: None) -> None:
    answer, _ = task_request(client, "tags", conversation)
    # the cited passage sits in chapter "II 정책동향" of the Nov 2023 weekly; 광둥성 is the question's place name
    assert answer["tags"][0] == "정책동향" and "광둥성" in answer["tags"], answer
    assert 2 <= len(answer["tags"]) <= 5 and all(isinstance(t, str) and t for t in answer["tags"])


def test_follow_ups_from_the_cited_sections(client: TestClient, conversation: list[dict], searcher,
                                            no_search: None) -> None:
    prompt = fill(template("follow_ups"), follow_up_view(conversation))
    assert len(prompt) > searcher.settings.max_query_chars  # as a question this was a 422
    answer, _ = task_request(client, "follow_ups", conversation)
    suggestions = answer["follow_ups"]
    assert 1 <= len(suggestions) <= 3 and len(set(suggestions)) == len(suggestions)
    cited_sections = " > ".join(s for s in re.findall(r"· (.+?) \(corpus/", conversation[1]["content"]))
    for suggestion in suggestions:
        name = suggestion.removesuffix("에 대해 더 알려 줘")
        assert name != suggestion and name in cited_sections, (name, cited_sections)
    assert "광둥성, 범용 인공지능 산업 혁신거점 구축 추진에 대해 더 알려 줘" in suggestions


def test_nothing_cited_no_follow_ups_and_tags_from_the_question(client: TestClient, no_search: None) -> None:
    messages = [{"role": "user", "content": "프랑스 와인 수출 통계는?"},
                {"role": "assistant", "content": "제공된 브리핑 자료에서 이 질문에 대한 답을 찾지 못했습니다."}]
    assert task_request(client, "follow_ups", messages)[0] == {"follow_ups": []}
    assert task_request(client, "tags", messages)[0] == {"tags": ["프랑스", "와인", "수출"]}
    thin = [{"role": "user", "content": "?"}]
    # the template's own answer for a conversation too thin to tag
    assert task_request(client, "tags", thin)[0] == {"tags": ["General"]}


def test_query_generation_returns_the_question(client: TestClient, conversation: list[dict],
                                               no_search: None) -> None:
    answer, _ = task_request(client, "queries", conversation)
    assert answer == {"queries": [QUESTION]}


def test_recognised_by_structure_not_by_exact_text(client: TestClient, conversation: list[dict],
                                                   no_search: None) -> None:
    """An admin's own template (other words, Korean) is still a task: header, chat history, JSON asked for."""
    custom = ("### Task:\n대화 제목을 지어라.\n### Output:\n{ \"title\": \"제목\" }\n<chat_history>\n"
              "{{MESSAGES:END:2}}\n</chat_history>")
    body = {"messages": [{"role": "system", "content": "JSON only"},
                         {"role": "user", "content": fill(custom, conversation)}], "stream": True}
    with client.stream("POST", "/v1/chat/completions", json=body) as r:
        assert r.status_code == 200
        events = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: {")]
    text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events if e["choices"])
    assert json.loads(text) == {"title": "광둥성의 범용 AI 산업 목표"}


def test_an_ordinary_question_is_not_a_task(client: TestClient) -> None:
    """Text that merely mentions the header, or a task prompt inside a longer chat, is searched as usual."""
    reply = client.post("/v1/chat/completions", json={"messages": [
        {"role": "user", "content": "### Task: 광둥성의 범용 AI 산업 목표는?"}]})
    body = reply.json()
    assert reply.status_code == 200 and "task" not in body["briefsearch"]
    # searched as a question: the query went to retrieval, and the reply cites or lists the 광둥성 passage (the
    # stray "### Task:" may lower the answer's confidence below the threshold, then the closest passages are listed)
    assert body["briefsearch"]["query"] == "### Task: 광둥성의 범용 AI 산업 목표는?"
    assert "광둥성" in body["choices"][0]["message"]["content"].split("\n\n", 1)[1]


def test_task_is_logged_as_a_task_not_a_query(settings, searcher, conversation: list[dict],
                                              caplog: pytest.LogCaptureFixture) -> None:
    logged = settings.model_copy(update={"log_queries": True})
    with TestClient(create_app(logged, searcher=searcher)) as c, caplog.at_level(logging.INFO, ACCESS_LOGGER):
        task_request(c, "title", conversation)
    record = next(r for r in caplog.records if r.name == ACCESS_LOGGER and getattr(r, "path", "") ==
                  "/v1/chat/completions")
    assert record.chat_task == "title" and not hasattr(record, "query")

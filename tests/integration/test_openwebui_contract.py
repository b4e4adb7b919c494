"""Open WebUI's requests replayed against the real app over HTTP: every one 200, with the JSON or stream it expects.

tests/fixtures/openwebui/request_*.json are the bodies a real Open WebUI 0.12.4 sent to this service in a
two-turn chat, recorded by ``tests/e2e/openwebui.py --record DIR`` (a pass-through proxy): the streamed chat
turns with its built-in tools payload (28 tools), the title prompt (sent when the chat is created, before
any answer), the tags prompt, and the follow-up prompts after each answer (middle-truncated by Open WebUI).
What is checked is what Open WebUI reads: ``delta.annotations`` of type ``url_citation`` for its source
chips, the JSON object in a task reply (parsed as it parses it, from the first "{" to the last "}").
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

FIXTURES = Path(__file__).parents[1] / "fixtures" / "openwebui"


def recorded(name: str) -> dict:
    return json.loads((FIXTURES / f"request_{name}.json").read_text(encoding="utf-8"))


def stream_events(live_server: str, body: dict) -> list[dict | str]:
    with httpx.stream("POST", f"{live_server}/v1/chat/completions", json=body, timeout=120) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    return [line[6:] if line == "data: [DONE]" else json.loads(line[6:]) for line in lines]


def task_json(live_server: str, name: str) -> dict:
    r = httpx.post(f"{live_server}/v1/chat/completions", json=recorded(name), timeout=120)
    assert r.status_code == 200, r.text
    content = r.json()["choices"][0]["message"]["content"]
    return json.loads(content[content.find("{") : content.rfind("}") + 1])  # Open WebUI's own parsing


@pytest.mark.parametrize("name", ["chat_turn", "chat_followup_turn"])
def test_chat_turn_streams_answer_sources_and_usage(live_server: str, name: str) -> None:
    body = recorded(name)
    assert body["tools"] and body["stream"]
    events = stream_events(live_server, {**body, "stream_options": {"include_usage": True}})  # as with usage on
    assert events[-1] == "[DONE]"
    chunks = [e for e in events if isinstance(e, dict)]
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert deltas[0]["role"] == "assistant" and not any("tool_calls" in d for d in deltas)
    content = "".join(d.get("content") or "" for d in deltas)
    final = next(c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"] == "stop")
    annotations = final["choices"][0]["delta"]["annotations"]
    assert annotations and len({a["url_citation"]["url"] for a in annotations}) == len(annotations)
    for n, (annotation, citation) in enumerate(zip(annotations, final["citations"], strict=True), start=1):
        cite = annotation["url_citation"]
        assert annotation["type"] == "url_citation" and cite["title"]
        assert content[cite["start_index"] : cite["end_index"]].endswith(f"[{n}]")
        url = urlsplit(cite["url"])
        assert url.path == f"/documents/{citation['doc_id']}/view"
        assert parse_qs(url.query) == {"start": [str(citation["char_start"])], "end": [str(citation["char_end"])]}
        page = httpx.get(f"{live_server}{url.path}?{url.query}", timeout=30)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    usage = chunks[-1]
    assert usage["choices"] == [] and usage["usage"]["completion_tokens"] > 0
    assert usage["usage"]["total_tokens"] == usage["usage"]["prompt_tokens"] + usage["usage"]["completion_tokens"]


def test_followup_turn_resolves_against_the_quoted_conversation(live_server: str) -> None:
    events = stream_events(live_server, recorded("chat_followup_turn"))
    final = next(e for e in events if isinstance(e, dict) and e["choices"] and e["choices"][0]["finish_reason"])
    assert "베이징" in final["briefsearch"]["query"]
    assert {c["doc_id"] for c in final["citations"]} == {"003_263747581c6563b7"}


def test_title_task(live_server: str) -> None:
    assert task_json(live_server, "title") == {"title": "베이징 부도심 국가녹색개발시범구의 삼림 피복률 목표"}


def test_tags_task(live_server: str) -> None:
    tags = task_json(live_server, "tags")["tags"]
    assert tags[0] == "정책동향" and "베이징" in tags and all(isinstance(t, str) and t for t in tags)


@pytest.mark.parametrize("name", ["follow_ups", "follow_ups_after_two_turns"])
def test_follow_ups_task(live_server: str, name: str) -> None:
    follow_ups = task_json(live_server, name)["follow_ups"]
    assert "베이징, 부도심 국가녹색개발시범구 건설 실시계획 발표에 대해 더 알려 줘" in follow_ups
    assert 1 <= len(follow_ups) <= 3 and all(isinstance(f, str) and len(f) <= 400 for f in follow_ups)

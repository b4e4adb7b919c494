"""Chat frontends' background task prompts (title, tags, follow-ups), answered without retrieval.

Open WebUI asks the chat model itself for a conversation's title, tags and
follow-up suggestions. Each such request is one user message that opens with a
``### Task:`` header, quotes the conversation inside ``<chat_history>…</chat_history>``
(``USER: …`` / ``ASSISTANT: …`` lines) and shows the JSON object it wants
(``{ "title": … }``). Those are recognised by that structure, not by one exact
template (admins can edit the templates), and answered from the conversation
itself: the title from the first question, tags and follow-ups from the passages
our earlier replies cited (their links carry document and offsets). No search
runs, so they cost nothing, never hit the query-length limit and never show up
as searches in logs or metrics.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from briefsearch.api.chat import section_titles
from briefsearch.api.chat.citation_links import cited_spans
from briefsearch.api.schemas import ChatMessage
from briefsearch.store.versions import LoadedIndex

_TASK_HEADER = re.compile(r"^\s*#{2,4}\s*Task\s*:", re.IGNORECASE)
_HISTORY = re.compile(r"<chat_history>\s*(.*?)\s*</chat_history>", re.DOTALL)
_JSON_KEY = re.compile(r"\{\s*\"([A-Za-z_]+)\"\s*:")
_TURN = re.compile(r"^(USER|ASSISTANT|SYSTEM|TOOL|DEVELOPER):\s?", re.MULTILINE)
_QUESTION_END = re.compile(r"[\s?？!.。]+$")
_TOPIC_PARTICLE = re.compile(r"(?<=[가-힣])(은|는)$")  # "…의 목표는?" asks about "…의 목표"
MAX_TITLE_CHARS = 50
MAX_TAGS = 5
MAX_FOLLOW_UPS = 3
NO_TITLE = "새 대화"
GENERAL_TAG = "General"  # what the tags template itself asks for when there is too little to go on
_TOPIC_TAGS = {"NNP", "NNG", "SL"}
_AFFIX_OR_NOUN = _TOPIC_TAGS | {"XPN", "XSN"}  # 부+도심, 피복+률: a prefix or suffix stays with its noun


@dataclass(slots=True)
class Turn:
    role: str  # "user", "assistant", ...
    text: str


@dataclass(slots=True)
class ChatTask:
    """A frontend task prompt: the JSON key it asks for and the conversation it quotes."""

    key: str  # "title", "tags", "follow_ups", "queries", or another key the prompt asks for
    history: list[Turn]

    @property
    def questions(self) -> list[str]:
        return [t.text for t in self.history if t.role == "user" and t.text]

    @property
    def replies(self) -> list[str]:
        return [t.text for t in self.history if t.role == "assistant"]


def detect_task(messages: list[ChatMessage]) -> ChatTask | None:
    """The task a request carries, or None for an ordinary chat turn.

    A task is a single user message (system messages aside, no earlier turns)
    that starts with a ``### Task:`` header, embeds ``<chat_history>`` and shows
    the JSON object it expects outside that history.
    """
    if any(m.role not in ("user", "system", "developer") for m in messages):
        return None
    users = [m for m in messages if m.role == "user"]
    if len(users) != 1:
        return None
    text = users[0].text()
    history = _HISTORY.search(text)
    if not _TASK_HEADER.match(text) or history is None:
        return None
    key = _JSON_KEY.search(text[: history.start()] + text[history.end() :])
    if key is None:
        return None
    return ChatTask(key=key[1], history=_turns(history[1]))


def _turns(history: str) -> list[Turn]:
    """``ROLE: text`` lines as Open WebUI renders them; a line without a role continues the previous turn."""
    marks = list(_TURN.finditer(history))
    return [Turn(m[1].lower(), history[m.end() : nxt.start() if nxt else len(history)].strip())
            for m, nxt in zip(marks, [*marks[1:], None], strict=True)]


def answer_task(task: ChatTask, index: LoadedIndex, korean) -> dict[str, object]:
    """The JSON object the task asks for, built from the conversation and the index (no search)."""
    if task.key == "title":
        return {"title": title(task)}
    if task.key == "tags":
        return {"tags": tags(task, index, korean)}
    if task.key == "follow_ups":
        return {"follow_ups": follow_ups(task, index)}
    if task.key == "queries":  # retrieval-query generation: the question itself is the best query we have
        return {"queries": task.questions[-1:]}
    return {task.key: ""}  # e.g. autocomplete's { "text": "" }, its own "unsure" answer


def render(answer: dict[str, object]) -> str:
    """The reply text: the raw JSON object, as the task templates demand."""
    return json.dumps(answer, ensure_ascii=False)


def title(task: ChatTask) -> str:
    """The first question, without its question mark or closing topic particle, clipped at a word."""
    questions = task.questions
    if not questions:
        return NO_TITLE
    text = " ".join(questions[0].split())
    text = _TOPIC_PARTICLE.sub("", _QUESTION_END.sub("", text)) or text
    if len(text) > MAX_TITLE_CHARS:
        cut = text[:MAX_TITLE_CHARS].rsplit(" ", 1)[0]
        text = (cut or text[:MAX_TITLE_CHARS]).rstrip(" ,·") + "…"
    return text


def _cited_sections(task: ChatTask, index: LoadedIndex) -> list[str]:
    """Section paths of the passages the conversation's replies cited, in citation order."""
    by_doc: dict[str, list] = {}
    for chunk in index.chunks.values():
        by_doc.setdefault(chunk.doc_id, []).append(chunk)
    sections: list[str] = []
    for reply in task.replies:
        for span in cited_spans(reply):
            chunk = next((c for c in by_doc.get(span.doc_id, ()) if c.char_start <= span.start < c.char_end), None)
            if chunk is not None and chunk.kind != "summary":
                sections.append(chunk.section)
    return list(dict.fromkeys(sections))


def tags(task: ChatTask, index: LoadedIndex, korean) -> list[str]:
    """Broad: the chapters of the cited passages ("정책동향"); specific: the nouns the questions share most."""
    found = [c for c in (section_titles.chapter(s) for s in _cited_sections(task, index)) if c]
    counts: dict[str, int] = {}
    for question in task.questions:
        for word, proper in _compound_nouns(question, korean):
            if len(word) >= 2:
                counts[word] = counts.get(word, 0) + (2 if proper else 1)
    topical = sorted(counts, key=lambda w: -counts[w])[:3]  # stable: ties keep the order of first mention
    out = list(dict.fromkeys(found[:2] + topical))[:MAX_TAGS]
    return out or [GENERAL_TAG]


def _compound_nouns(text: str, korean) -> list[tuple[str, bool]]:
    """Nouns as written: morphemes with no space between them form one word ("부도심", "피복률"), with
    whether a proper noun is part of it."""
    words: list[tuple[str, bool]] = []
    start = end = -1
    noun = proper = False
    for token in [*korean.tokenize(text), None]:
        if token is not None and token.tag in _AFFIX_OR_NOUN and token.start == end:
            end = token.start + token.len
            noun, proper = noun or token.tag in _TOPIC_TAGS, proper or token.tag == "NNP"
            continue
        if start >= 0 and noun:
            words.append((text[start:end], proper))
        start = end = -1
        if token is not None and token.tag in _AFFIX_OR_NOUN:
            start, end = token.start, token.start + token.len
            noun, proper = token.tag in _TOPIC_TAGS, token.tag == "NNP"
    return words


def follow_ups(task: ChatTask, index: LoadedIndex) -> list[str]:
    """Questions about the cited passages' articles and tables not asked about yet; empty when nothing was cited."""
    asked = " ".join(task.questions)
    out: list[str] = []
    for section in _cited_sections(task, index):
        for name in (section_titles.caption(section), section_titles.article(section)):
            if name and name not in asked:
                out.append(f"{name}에 대해 더 알려 줘")
    return list(dict.fromkeys(out))[:MAX_FOLLOW_UPS]

"""Links from a chat reply to the exact cited span in the HTML document view, and back.

A citation link is ``{base}/documents/{doc_id}/view?start=..&end=..`` (the
page ``service/static/view.js`` highlights and scrolls to). The same links,
quoted back in a conversation's history, tell the chat-task answers which
passages the conversation cited, without any state kept between requests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

from starlette.requests import Request

from briefsearch.config import Settings

_LINK = re.compile(r"/documents/([^/?#\s)\]]+)/view\?start=(\d+)&(?:amp;)?end=(\d+)")


@dataclass(frozen=True, slots=True)
class CitedSpan:
    doc_id: str
    start: int
    end: int


def public_base_url(request: Request) -> str:
    """``BRIEFSEARCH_PUBLIC_URL`` when set (a frontend may reach us by an internal name), else the request origin."""
    settings: Settings = request.app.state.engine.settings
    return settings.public_url or str(request.base_url).rstrip("/")


def citation_url(base_url: str, doc_id: str, start: int, end: int) -> str:
    """A stable link that opens the document view at the cited span (distinct per span)."""
    return f"{base_url}/documents/{quote(doc_id, safe='')}/view?start={start}&end={end}"


def cited_spans(text: str) -> list[CitedSpan]:
    """The cited spans linked from ``text`` (a reply quoted in a chat history), in order, without repeats."""
    spans = [CitedSpan(unquote(m[1]), int(m[2]), int(m[3])) for m in _LINK.finditer(text)]
    return list(dict.fromkeys(spans))

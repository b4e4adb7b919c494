"""An answer as chat Markdown: one cited sentence per paragraph, then the numbered sources with links.

Answer sentences are corpus text, often list items that start with the
source's own bullet ("- ", "•", "■"); joined on one line, Markdown rendered
the whole answer as one bullet. Here each sentence stands alone, its bullet
dropped and any leading Markdown syntax escaped, followed by its [n] marker.
Each citation links to the document view at the cited span, and its place in
the text (sentence plus marker) is kept for the ``url_citation`` annotations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from briefsearch.api.chat import section_titles
from briefsearch.api.chat.citation_links import citation_url
from briefsearch.text.bullets import GLYPH, LETTER_GLYPH, bullet_prefix
from briefsearch.types import Answer, AnswerCitation

# a line break inside a sentence, with the bullet (text/bullets.py's one glyph table) opening the next line
_INNER_BULLETS = re.compile(rf"\s*\n\s*(?:(?:{GLYPH}|{LETTER_GLYPH})\s+)?")
_MARKDOWN_START = re.compile(r"^(?=[#>+|]|\d+[.)]\s)")
MAX_SECTION_CHARS = 120


@dataclass(slots=True)
class CitedSpanInReply:
    """Where citation ``n`` sits in the reply text, and where it links to."""

    citation: AnswerCitation
    url: str
    title: str
    start: int  # index of the sentence's first character in the reply
    end: int  # index just past its [n] marker


@dataclass(slots=True)
class Rendered:
    content: str
    spans: list[CitedSpanInReply]


def clean_sentence(text: str) -> str:
    """A corpus sentence as one Markdown paragraph: no bullet glyphs, no line breaks, no accidental syntax."""
    text = text.strip()
    text = _INNER_BULLETS.sub(" ", text[bullet_prefix(text) :])
    return _MARKDOWN_START.sub("\\\\", text)


def chip_titles(citations: list[AnswerCitation]) -> list[str]:
    """Short, distinct names for the citations (the article heading; numbered when two share one)."""
    names = [section_titles.short_title(c.section, c.title) for c in citations]
    return [f"{name} ({c.n})" if names.count(name) > 1 else name for name, c in zip(names, citations, strict=True)]


def render(answer: Answer, base_url: str) -> Rendered:
    if not answer.citations:
        return Rendered(_no_answer(answer, base_url), [])
    content = ""
    spans: list[CitedSpanInReply] = []
    for citation, name in zip(answer.citations, chip_titles(answer.citations), strict=True):
        start = len(content)
        content += f"{clean_sentence(citation.text)} [{citation.n}]"
        url = citation_url(base_url, citation.doc_id, citation.char_start, citation.char_end)
        spans.append(CitedSpanInReply(citation, url, name, start, len(content)))
        content += "\n\n"
    content += "**출처**\n\n"
    for span in spans:
        c = span.citation
        section = c.section if len(c.section) <= MAX_SECTION_CHARS else c.section[: MAX_SECTION_CHARS - 1] + "…"
        page = f", p. {c.page}" if c.page else ""
        content += f"{c.n}. [{span.title}]({span.url}) — {c.title} · {section}{page} ({c.source}:{c.line_start}" \
                   f"-{c.line_end})\n"
    return Rendered(content, spans)


def _no_answer(answer: Answer, base_url: str) -> str:
    lines = [answer.answer, "", "**가장 가까운 문단**", ""]
    for hit in answer.hits[:3]:
        c = hit.chunk
        url = citation_url(base_url, c.doc_id, c.char_start, c.char_end)
        lines.append(f"- [{section_titles.short_title(c.section, c.title)}]({url}) — {c.title}")
    return "\n".join(lines).strip() + "\n"

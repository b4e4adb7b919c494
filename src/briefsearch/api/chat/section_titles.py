"""Short names from a passage's section path, for chat citation chips and follow-up suggestions.

A section path reads ``chapter > article > ■ summary line > 〈table caption〉``
(e.g. ``II 정책동향 > 04 광둥성, 범용 인공지능 산업 혁신거점 구축 추진 > ■ '25년까지 …``):
the briefings number their chapters with Roman numerals and their articles with
Arabic ones, lead summary lines with ■ and wrap captions in 〈〉. The article is
the part that names a topic; the chapter names the kind of news.
"""

from __future__ import annotations

import re

SEPARATOR = " > "
MAX_TITLE_CHARS = 60
_CHAPTER = re.compile(r"^(?:[IVX]+|[Ⅰ-Ⅻ]+)\.?\s+(\S.*)$")
_NUMBERING = re.compile(r"^(?:\d{1,2}[.)]?|\d{1,2}\)|[가-하][.)]|[①-⑳])\s+")
_NOT_A_TITLE = re.compile(r"^(?:[■□◆◇▶※○●•\-*]|[〈<(（\[【〔]|요약$|참고자료$)")
_CAPTION = re.compile(r"^[〈<]\s*(?:※\s*)?(?:참고\s*[:：]\s*)?(.+?)\s*[〉>]$")  # "〈※참고: …〉" names "…"


def _parts(section: str) -> list[str]:
    return [p.strip() for p in section.split(SEPARATOR) if p.strip()]


def _clip(text: str, limit: int = MAX_TITLE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def chapter(section: str) -> str | None:
    """The chapter's name without its Roman numeral ("정책동향"), when the path starts with a numbered chapter."""
    parts = _parts(section)
    match = _CHAPTER.match(parts[0]) if parts else None
    return match[1].strip() if match else None


def article(section: str) -> str | None:
    """The first heading below the chapter that names a topic, its numbering removed; None when there is none."""
    parts = _parts(section)
    if parts and _CHAPTER.match(parts[0]):
        parts = parts[1:]
    for part in parts:
        if not _NOT_A_TITLE.match(part):
            return _clip(_NUMBERING.sub("", part).strip()) or None
    return None


def caption(section: str) -> str | None:
    """The table or figure caption the passage sits under ("〈…〉" at the end of the path), without brackets."""
    parts = _parts(section)
    match = _CAPTION.match(parts[-1]) if parts else None
    return _clip(match[1]) if match else None


def short_title(section: str, document_title: str) -> str:
    """A citation chip's name: the article heading, else the caption, else the chapter, else the document's title."""
    return article(section) or caption(section) or chapter(section) or _clip(document_title)

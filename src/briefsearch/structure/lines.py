"""What every part of the parser reads off a line: the shared patterns and line helpers.

Sentence ends, Hangul, page markers ("- 4 -"), source lines, summary titles, Markdown heading marks,
and the next or previous line that holds text.
"""

from __future__ import annotations

import re

PAGE_MARKER = re.compile(r"^\s*[-–—]\s*(\d{1,4})\s*[-–—]\s*$")
SUMMARY_TITLE = re.compile(r"^(요\s*약|주요\s*내용|핵심\s*요약|summary|executive summary)$", re.IGNORECASE)
_MD_HEADING = re.compile(r"^(#{1,6})\s*(.*)$")
SOURCE_LINE = re.compile(r"^[*※]?\s*(자료|출처|주)\s*[:：]")
TERMINAL = re.compile(r"(다|요|음|함|임|됨|짐|며|\.|\?|!|。|”|\")\s*$")

# a heading that ends like a sentence; not "요" ("개요", "주요", "필요" end many titles)
SENTENCE_END = re.compile(r"(다|음|함|임|됨|\.|\?|!|。)\s*$")
HANGUL = re.compile(r"[가-힣]")
MAX_HEADING_CHARS = 80
MAX_HEADLINE_CHARS = 160


def strip_heading_marks(text: str) -> tuple[str, bool]:
    m = _MD_HEADING.match(text)
    if m:
        return m.group(2).strip(), True
    return text.strip(), False


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def previous_line(lines: list[str], i: int) -> int:
    """Index of the last non-blank line before ``i`` that is not a page marker (``i`` itself if none)."""
    for j in range(i - 1, -1, -1):
        if lines[j].strip() and lines[j].strip() != "\f" and not PAGE_MARKER.match(lines[j]):
            return j
    return i


def next_nonblank(lines: list[str], i: int) -> str | None:
    for j in range(i + 1, min(len(lines), i + 6)):
        if lines[j].strip() and not PAGE_MARKER.match(lines[j]):
            return lines[j]
    return None

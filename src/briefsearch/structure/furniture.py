"""Furniture: what is printed around the body rather than in it.

Page numbers (from form feeds or footer markers), the cover (title block, CONTENTS list, disclaimer,
bylines), and a bill's cover block (의안번호, 발의연월일, 발의자) kept as document metadata, with the
name the bill gives itself.
"""

from __future__ import annotations

import re

from briefsearch.structure.blocks import Block
from briefsearch.structure.layouts import LEGAL, PART
from briefsearch.structure.lines import PAGE_MARKER, SUMMARY_TITLE, TERMINAL, squash, strip_heading_marks

CONTENTS = re.compile(r"^(contents|목\s*차|차\s*례)$", re.IGNORECASE)
DISCLAIMER = re.compile(r"^본\s*(보고서|자료|리포트)는")


def page_numbers(lines: list[str]) -> list[int | None]:
    """Page per line: from form feeds (PDF renditions) when present, else where two consecutive
    footer markers prove it."""
    if any("\f" in t for t in lines):
        pages_ff: list[int | None] = []
        page = 1
        for t in lines:
            pages_ff.append(page)
            page += t.count("\f")
        return pages_ff
    markers = [(i, int(m.group(1))) for i, t in enumerate(lines) if (m := PAGE_MARKER.match(t))]
    pages: list[int | None] = [None] * len(lines)
    prev_idx, prev_no = -1, None
    for idx, number in markers:
        if (prev_no is None and number == 1) or (prev_no is not None and number == prev_no + 1):
            for j in range(prev_idx + 1, idx):
                pages[j] = number
        prev_idx, prev_no = idx, number
    return pages


def mark_cover_metadata(blocks: list[Block]) -> None:
    """A bill's cover (title, 의안번호, 발의연월일, 발의자) before its first part: document metadata."""
    first_part = next((k for k, blk in enumerate(blocks) if blk.kind == "heading" and blk.level == PART), None)
    if not first_part:
        return
    cover = blocks[:first_part]
    if any(blk.kind == "heading" for blk in cover):
        return
    if LEGAL.cover_fields is not None and LEGAL.cover_fields.search("".join(squash(blk.text.text) for blk in cover)):
        for blk in cover:
            blk.metadata = True


def cover_title(blocks: list[Block]) -> str:
    """The bill's name as its cover states it ("남녀고용평등과 … 법률 일부개정법률안", wrapped over lines)."""
    cover = " ".join(blk.text.text for blk in blocks if blk.metadata)
    m = LEGAL.cover_title.match(cover) if LEGAL.cover_title is not None and cover else None
    return " ".join(m.group("title").split()) if m else ""


def drop_cover_tail(blocks: list[Block]) -> list[Block]:
    """Short unfinished lines between the cover and the first heading are cover furniture (names, logos)."""
    out: list[Block] = []
    seen_heading = False
    for block in blocks:
        seen_heading = seen_heading or block.kind == "heading"
        short = len(block.text.text) < 100 and not TERMINAL.search(block.text.text)
        if not seen_heading and block.kind == "text" and short:
            continue
        out.append(block)
    return out


def cover_end(lines: list[str]) -> int:
    """Index of the first line after the cover (title block, CONTENTS list, disclaimer)."""
    limit = max(10, len(lines) // 5)
    for i, text in enumerate(lines[:limit]):
        if CONTENTS.match(squash(strip_heading_marks(text.strip())[0])):
            for j in range(i + 1, len(lines)):
                head = strip_heading_marks(lines[j].strip())[0]
                if DISCLAIMER.match(head) or SUMMARY_TITLE.match(squash(head)):
                    return j
            return i + 1
    return 0

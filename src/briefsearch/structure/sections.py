"""Section paths: the stack of headings above each block, its chunk group and its summary flag.
"""

from __future__ import annotations

import re

from briefsearch.structure.blocks import COVER_LABEL, Block
from briefsearch.structure.layouts import CAPTION, CHAPTER, SECTION, SUB
from briefsearch.structure.lines import MAX_HEADING_CHARS, MAX_HEADLINE_CHARS, SOURCE_LINE, squash

_MAJOR_BULLET = re.compile(r"^[■□▶❍]")
_HEADLINE = re.compile(r"^[■□]\s*")


def _one_line(block: Block) -> bool:
    """A headline is one source line; a wrapped ■ paragraph is body text."""
    return block.n_lines == 1


class _Path:
    """The section path as a stack of (level, label); a heading replaces everything at its level or deeper."""

    def __init__(self) -> None:
        self.entries: list[tuple[int, str]] = []

    def push(self, level: int, label: str) -> None:
        self.drop(level)
        self.entries.append((level, label))

    def drop(self, level: int) -> None:
        self.entries = [e for e in self.entries if e[0] < level]

    def extend_last(self, level: int, text: str) -> None:
        """A bare number's title line completes its entry ("01" + "title")."""
        self.entries = [(lv, f"{label} {text}" if lv == level else label) for lv, label in self.entries]

    def has(self, level: int) -> bool:
        return any(lv == level for lv, _ in self.entries)

    def labels(self) -> tuple[str, ...]:
        return tuple(label for _, label in self.entries)


def assign_sections(blocks: list[Block]) -> None:
    """Section path, chunk group and summary flag for every block."""
    path = _Path()
    summary = False
    pending: int | None = None  # level of a bare-number heading waiting for its title line
    group = 0
    for block in blocks:
        text = block.text.text
        if block.metadata:
            block.section, block.group = (COVER_LABEL,), group
            continue
        if block.kind == "heading":
            group += 1
            kind = block.heading_type
            level = block.level if block.level is not None else SUB
            if kind == "summary":
                path.drop(0)
                path.push(CHAPTER, "요약")
                summary, pending = True, None
            elif pending is not None and level > SECTION:
                path.extend_last(pending, text)
                pending = None
            else:
                if level <= CHAPTER + 1 and summary:  # the body after the summary
                    path.drop(CHAPTER)
                    summary = False
                path.push(level, block.label or text)
                pending = level if block.heading_num and _bare(block) else None
        elif block.kind == "caption":
            group += 1
            path.push(CAPTION, text)
        elif block.kind == "text" and block.level is not None:  # an inline heading: "제70조 대통령의 임기는 …"
            group += 1
            path.push(block.level, block.label)
            pending = None
        elif block.kind == "text" and _HEADLINE.match(text) and len(text) <= MAX_HEADLINE_CHARS and _one_line(block):
            group += 1
            path.push(SUB, text)
            pending = None
        elif block.kind == "text" and path.has(CAPTION) and (_MAJOR_BULLET.match(text) or block.marker):
            # prose resumes after a table/figure: the caption no longer describes what follows
            group += 1
            path.drop(CAPTION)
        elif block.kind == "text" and pending is not None and len(text) <= MAX_HEADING_CHARS:
            # "01" on its own line, then the title as plain text
            path.extend_last(pending, text)
            pending = None
            block.kind = "heading"
            block.heading_type = "title"
            group += 1
        block.section = path.labels()
        block.summary = summary
        block.group = group
        if block.kind == "text" and SOURCE_LINE.match(text) and path.has(CAPTION):
            path.drop(CAPTION)
            group += 1


def _bare(block: Block) -> bool:
    """A heading that is only its number ("01", "Ⅲ", "## I"): its title is on the next line."""
    return squash(block.text.text) == block.heading_num.replace(" ", "")

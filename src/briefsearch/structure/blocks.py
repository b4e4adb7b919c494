"""The block taxonomy: what the parser makes of a document and the chunker reads.

A ``Block`` is a heading, a paragraph or bullet, a table row, a caption or a footnote, with its text
mapped back to the file; a ``ParsedDocument`` holds them in reading order with the footnotes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from briefsearch.text.mapped import MappedText

COVER_LABEL = "문서 정보"  # section of a cover block kept as document metadata
MIN_PASSAGE_CHARS = 40  # text under this is a fragment, not a passage of its own (a whole short article aside)
Joiner = Callable[[str, str], bool]  # (left word, right word) -> insert a space?


@dataclass(slots=True)
class Block:
    """One unit of the document: a heading, a paragraph/bullet, a table row, a caption or a footnote."""

    kind: str  # "heading" | "text" | "table_row" | "caption" | "footnote"
    text: MappedText
    line_no: int
    heading_type: str = ""  # a layout rule's kind: "summary", "chapter", "article", "sub", "label", "jo", ...
    heading_num: str = ""
    level: int | None = None  # section-path level (index.layouts); on a text block: an inline heading
    label: str = ""  # what the section path shows for an inline heading ("제70조", "제35조(손해배상책임)")
    marker: str = ""  # the bullet that opened the block, when it was a symbol-font letter (dropped from text)
    footnote_refs: list[int] = field(default_factory=list)
    footnote_no: int | None = None
    table_header: str | None = None
    n_lines: int = 1
    # filled by the section pass
    section: tuple[str, ...] = ()
    group: int = 0
    summary: bool = False
    metadata: bool = False  # a cover block (의안번호, 발의자, ...): searchable, kept apart from the body
    page: int | None = None


@dataclass(slots=True)
class ParsedDocument:
    """Blocks in reading order plus the footnotes (also blocks, in order)."""

    blocks: list[Block]
    footnotes: list[Block]
    layouts: tuple[str, ...] = ()  # the layout families whose conventions were applied
    title: str = ""  # the name the document gives itself where its layout states one (a bill's cover), else ""

    def footnote_for(self, number: int, line_no: int) -> Block | None:
        """The definition a reference resolves to: the next one with that number after it."""
        after = [f for f in self.footnotes if f.footnote_no == number and f.line_no >= line_no]
        if after:
            return after[0]
        before = [f for f in self.footnotes if f.footnote_no == number]
        return before[-1] if before else None

    def normalized_text(self) -> str:
        """The cleaned document as a reader sees it, structure marked by blank lines."""
        out: list[str] = []
        for block in self.blocks:
            if block.kind == "heading":
                out.append(("\n" if out else "") + block.text.text)
            elif block.kind == "footnote":
                out.append(f"[각주 {block.footnote_no}] {block.text.text}")
            else:
                out.append(block.text.text)
        return "\n".join(out).strip() + "\n"

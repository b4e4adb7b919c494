"""Bullet glyphs of briefing sentences (-, ㅇ, ○, □, m, ❍, ■, •, ...): the one table, kept out of answer text.

Korean government briefings (HWP exports) mark items with glyphs; "m" and "ㅇ"
stand for bullets that lost their symbol font. An answer sentence starts at
its first word, and its citation starts there too. A table row keeps its cell
separators, but a cell's own leading glyph ("중국 | • 2,800기") is dropped.
The chat renderer (api/chat/markdown.py) reads the same table.
"""

from __future__ import annotations

import re

# list and heading glyphs the briefings put before items (hyphens, bullets, squares, circles, arrows, checks)
GLYPH = r"[-–—*•·∙‣◦▪▫■□▶►▷➢○●◎◆◇❍❏❑☑✓✔※]"
# letters standing for a bullet whose symbol font was lost, only when a space follows
LETTER_GLYPH = r"[mㅇ](?=\s)"
_LEADING = re.compile(rf"^(?:(?:{GLYPH}|{LETTER_GLYPH}|\|)\s*)+")
# a glyph opening a table cell; a hyphen before a digit is a minus sign, not a bullet
_CELL = re.compile(rf"(\|[ \t]*)(?:(?:(?![-–—]\d){GLYPH}|{LETTER_GLYPH})[ \t]*)+")


def bullet_prefix(sentence: str) -> int:
    """Length of the run of bullet glyphs and spaces a sentence starts with (0 when none)."""
    match = _LEADING.match(sentence)
    return match.end() if match else 0


def drop_cell_glyphs(text: str) -> str:
    """A table row without the glyphs that open its cells (the separators stay)."""
    return _CELL.sub(r"\1", text)

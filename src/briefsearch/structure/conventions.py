"""The conventions in force for one document: the layout families it shows and its bullets.

Besides the families' own bullets, a symbol font mapped to ASCII prints a bullet as a lone letter
("❍" as "m"); a letter opening enough lines counts as one in that document.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from briefsearch.structure.layouts import LEGAL, MARKDOWN, HeadingRule, Layout

# a symbol font mapped to ASCII ("❍" printed as "m"): a lone letter opening a line, then Korean text
LETTER_BULLET = re.compile(r"^([a-zA-ZüØ])\s+(?=[가-힣0-9(\[「‘“\'\"])")
LETTER_BULLET_MIN = 3  # lines a document must open with that letter before it counts as a bullet


@dataclass(slots=True)
class Rules:
    """The conventions in force for one document: the tables of the families it shows."""

    families: tuple[Layout, ...]
    letters: frozenset[str]  # symbol-font letters this document uses as bullets
    runs: bool = False  # the text is broken at inline-format runs (``format_runs``), not wrapped at a width

    @property
    def legal(self) -> bool:
        return LEGAL in self.families

    def headings(self, is_md: bool) -> list[HeadingRule]:
        rules = [r for f in self.families if f is not MARKDOWN for r in f.headings]
        if is_md:
            rules += list(MARKDOWN.headings)
        return rules

    def is_bullet(self, text: str) -> bool:
        if any(f.bullets is not None and f.bullets.match(text) for f in self.families):
            return True
        m = LETTER_BULLET.match(text)
        return bool(m and m.group(1) in self.letters)

    def is_furniture(self, text: str) -> bool:
        return any(p.match(text) for f in self.families for p in f.furniture)


def letter_bullets(lines: list[str]) -> frozenset[str]:
    """Letters that open at least LETTER_BULLET_MIN lines followed by Korean text: a symbol font's bullet."""
    counts = Counter(m.group(1) for t in lines if (m := LETTER_BULLET.match(t.strip())))
    return frozenset(ch for ch, n in counts.items() if n >= LETTER_BULLET_MIN)

"""Text that remembers where every character came from.

Normalization rewrites text (NFC, joined hard wraps, dropped escapes and tags),
but citations must point into the file as it is on disk.  A ``MappedText``
carries, for each character, the half-open span ``[start, end)`` of the source
characters it was made from, so any slice of cleaned text maps back to exact
file offsets.  Characters inserted by normalization (a joining space, " | "
between table cells) take a zero-width span at the position they stand for.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

Piece = tuple[str, int, int]  # literal text, source start, source end


@dataclass(slots=True)
class MappedText:
    """A string plus per-character source spans (offsets into the original file)."""

    text: str = ""
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)

    @classmethod
    def from_source(cls, text: str, offset: int = 0) -> MappedText:
        """Identity mapping: character i came from ``offset + i``."""
        n = len(text)
        return cls(text, list(range(offset, offset + n)), list(range(offset + 1, offset + n + 1)))

    @classmethod
    def literal(cls, text: str, start: int, end: int) -> MappedText:
        """Synthetic text standing for the source span ``[start, end)``."""
        return cls(text, [start] * len(text), [end] * len(text))

    @classmethod
    def concat(cls, parts: Iterable[MappedText]) -> MappedText:
        out = cls()
        for part in parts:
            out.text += part.text
            out.starts.extend(part.starts)
            out.ends.extend(part.ends)
        return out

    def __len__(self) -> int:
        return len(self.text)

    def __getitem__(self, item: slice) -> MappedText:
        if not isinstance(item, slice):
            raise TypeError("MappedText supports slicing only")
        return MappedText(self.text[item], self.starts[item], self.ends[item])

    def __add__(self, other: MappedText) -> MappedText:
        return MappedText(self.text + other.text, self.starts + other.starts, self.ends + other.ends)

    def span(self) -> tuple[int, int]:
        """Source span covered by this text (min start, max end), ignoring nothing."""
        if not self.text:
            raise ValueError("empty text has no source span")
        return min(self.starts), max(self.ends)

    def strip(self) -> MappedText:
        left = len(self.text) - len(self.text.lstrip())
        right = len(self.text.rstrip())
        return self[left:right] if right > left else MappedText()

    def sub(self, pattern: re.Pattern[str], repl: Callable[[re.Match[str]], list[Piece | int] | str]) -> MappedText:
        """Regex substitution that keeps the mapping.

        ``repl`` returns either a literal string (mapped onto the whole match) or a
        list whose items are group numbers (kept with their own mapping) or
        ``(text, start, end)`` literals in this text's coordinates.
        """
        parts: list[MappedText] = []
        pos = 0
        for m in pattern.finditer(self.text):
            parts.append(self[pos : m.start()])
            result = repl(m)
            if isinstance(result, str):
                if result:
                    parts.append(self._literal_over(result, m.start(), m.end()))
            else:
                for item in result:
                    if isinstance(item, int):
                        if m.start(item) >= 0:
                            parts.append(self[m.start(item) : m.end(item)])
                    else:
                        text, a, b = item
                        parts.append(self._literal_over(text, a, b))
            pos = m.end()
        if pos == 0 and not parts:
            return self
        parts.append(self[pos:])
        return MappedText.concat(parts)

    def _literal_over(self, text: str, a: int, b: int) -> MappedText:
        if b > a:
            return MappedText.literal(text, self.starts[a], self.ends[b - 1])
        anchor = self.starts[a] if a < len(self.starts) else (self.ends[-1] if self.ends else 0)
        return MappedText.literal(text, anchor, anchor)

    def collapse_spaces(self) -> MappedText:
        """Runs of whitespace become one space; ends are stripped."""
        return self.sub(_WS_RUN, lambda m: " " if m.group() != " " else [0]).strip()


_WS_RUN = re.compile(r"\s+")


def nfc_mapped(raw: str) -> MappedText:
    """NFC-normalize ``raw`` keeping a map back to it.

    Decomposed Hangul (macOS file names and clients) composes into syllables; a
    composed character maps to the whole span of the jamo it came from.
    """
    if unicodedata.is_normalized("NFC", raw):
        return MappedText.from_source(raw)
    parts: list[MappedText] = []
    seg_start = 0
    for i in range(1, len(raw) + 1):
        if i < len(raw) and not _starts_segment(raw[i]):
            continue
        segment = raw[seg_start:i]
        composed = unicodedata.normalize("NFC", segment)
        if composed == segment:
            parts.append(MappedText.from_source(segment, seg_start))
        else:
            parts.append(MappedText.literal(composed, seg_start, i))
        seg_start = i
    return MappedText.concat(parts)


def _starts_segment(ch: str) -> bool:
    """True when ``ch`` cannot combine with what precedes it under NFC."""
    if unicodedata.combining(ch):
        return False
    code = ord(ch)
    # Hangul medial vowels and final consonants compose with the preceding jamo.
    return not (0x1160 <= code <= 0x11FF or 0xD7B0 <= code <= 0xD7FF)

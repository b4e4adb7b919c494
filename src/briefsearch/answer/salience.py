"""Salient names of a question and whether the corpus mentions them at all.

A question about a chip, company, programme or place the briefings never name
cannot be answered from them, however close the nearest passage sounds: e5
scores "화웨이 어센드 910B" near any passage on AI chips. Names here are what
Kiwi tags as proper nouns (NNP), Hanzi (SH), and Latin or alphanumeric runs
that read as names or model numbers (capitalized inside the question,
all-caps, or mixing letters and digits: "Suncatcher", "CASC", "910B", "H20").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from briefsearch.text.korean import KoreanText

_RUN_TAGS = {"SL", "SN"}


def _is_latin_name(surface: str, at_start: bool) -> bool:
    letters = [c for c in surface if c.isalpha()]
    if not letters:
        return False  # a bare number: years and figures are not names
    if any(c.isdigit() for c in surface):
        return True  # model numbers: 910B, H20, S4000, DDR5
    if len(letters) >= 2 and surface.isupper():
        return True  # acronyms: CASC, SMIC
    return surface[0].isupper() and not at_start


def salient_names(korean: KoreanText, text: str) -> list[str]:
    """Proper nouns, Hanzi and Latin names or model numbers of a question, as written in it."""
    names: list[str] = []
    run: list = []

    def flush() -> None:
        if run:
            start, end = run[0].start, run[-1].start + run[-1].len
            surface = text[start:end]
            # a capital opening the question (after markup or quotes only) is not a name: "### Task: …", "\"Why …"
            if _is_latin_name(surface, at_start=not any(c.isalpha() for c in text[:start])):
                names.append(surface)
            run.clear()

    for tok in korean.tokenize(text):
        if tok.tag in _RUN_TAGS:
            if run and tok.start != run[-1].start + run[-1].len:
                flush()
            run.append(tok)
            continue
        flush()
        if tok.tag in {"NNP", "SH"}:
            names.append(text[tok.start : tok.start + tok.len])
    flush()
    return list(dict.fromkeys(names))


# an original name in brackets right after the Korean one: 즈장(之江)실험실, 선캐처(Suncatcher)
_BRACKETED_ORIGINAL = re.compile(r"(?<=[가-힣])\((?![가-힣])[^()\n]{1,40}\)")


def _compact(text: str) -> str:
    """Korean spacing varies by writer (삼체 컴퓨팅 vs 삼체컴퓨팅); bracketed originals split a name in two."""
    return re.sub(r"\s+", "", _BRACKETED_ORIGINAL.sub("", text))


class CorpusMentions:
    """Whether a name occurs anywhere in what the index shows (case-insensitive; Latin on word boundaries;
    Korean names also with the spacing and bracketed originals taken out)."""

    def __init__(self, texts: Iterable[str], aliases: Iterable[str] = ()) -> None:
        self.text = re.sub(r"\s+", " ", "\n".join(texts)).casefold()
        self.compact = _compact(self.text)
        self.aliases = {a.casefold() for a in aliases}

    def mentions(self, name: str) -> bool:
        key = name.casefold()
        if re.fullmatch(r"[0-9a-z&.\- ]+", key):
            compact = re.sub(r"[^0-9a-z]", "", key)
            if compact in self.aliases:
                return True
            return re.search(rf"(?<![0-9a-z]){re.escape(key)}(?![0-9a-z])", self.text) is not None
        return key in self.text or _compact(key) in self.compact

    def unknown(self, names: Iterable[str]) -> list[str]:
        return [n for n in names if not self.mentions(n)]

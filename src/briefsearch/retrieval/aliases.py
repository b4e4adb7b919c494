"""Aliases mined from the corpus, so a query in the original script finds the Korean name.

The briefings follow one drafting convention: a transliterated Korean name is
followed by its original in brackets, 주취안(酒泉), 선캐처(Suncatcher),
귀싱우항(國興宇航). Mining that convention over the indexed passages gives
original → Korean; Hanzi originals are also romanised with pypinyin (toneless,
spaces removed), so "Jiuquan" or "Guoxing Yuhang" reach 주취안 / 귀싱우항. A query
naming an alias gets the Korean name appended before retrieval.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pypinyin import lazy_pinyin

# Korean name, then its original in brackets: a capitalized Latin name or a run of Hanzi
_PAIR = re.compile(r"([가-힣]{2,})\(([A-Z][A-Za-z0-9&.\- ]{1,40}|[\u4e00-\u9fff]{2,12})\)")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9&.\-]*")
_MAX_WORDS = 4


def _key(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


def mine_aliases(texts: Iterable[str]) -> dict[str, str]:
    """Latin key (lower-case, letters and digits only) -> Korean name, from "한글(原文)" pairs."""
    aliases: dict[str, str] = {}
    for text in texts:
        for korean, original in _PAIR.findall(text):
            keys = [_key(original)]
            if "\u4e00" <= original[0] <= "\u9fff":
                keys.append(_key("".join(lazy_pinyin(original))))
            for key in keys:
                if len(key) >= 3:
                    aliases.setdefault(key, korean)
    return aliases


def expand_query(text: str, aliases: dict[str, str]) -> str:
    """The query with the Korean name of every alias it names (runs of up to four Latin words) appended."""
    if not aliases:
        return text
    words = [_key(w) for w in _LATIN_WORD.findall(text)]
    found: list[str] = []
    for i in range(len(words)):
        for n in range(1, _MAX_WORDS + 1):
            if i + n <= len(words):
                korean = aliases.get("".join(words[i : i + n]))
                if korean and korean not in text and korean not in found:
                    found.append(korean)
    return f"{text} {' '.join(found)}" if found else text

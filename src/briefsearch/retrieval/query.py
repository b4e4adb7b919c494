"""Query analysis for the lexical side: what a question asks with is not what it asks about.

Korean questions carry interrogatives (몇, 얼마, 무엇, 어디, 언제, 누구, 어떻다)
and light verbs (하다, 되다, 있다, 위하다) that every passage shares or none
does; as BM25 terms they only add noise. A name the question quotes
('표준화 인재 양성 액션계획', 「…」, "…") is what it is about: its terms count twice.
"""

from __future__ import annotations

import re

from briefsearch.types import Term

# interrogatives (Standard Korean grammar: 의문 대명사·수사·관형사) and light/support verbs, as Kiwi lemmas
QUESTION_TERMS = frozenset({"몇", "얼마", "얼마나", "무엇", "무슨", "어디", "언제", "누구", "어떻", "어떠하", "어느",
                            "왜", "하", "되", "있", "없", "위하", "대하", "통하", "뜻하", "의미하"})
_QUOTED = re.compile(r"['‘\"“「『《〈]([^'’\"”」』》〉]{2,60})['’\"”」』》〉]")


def latin_share(text: str) -> float:
    """Share of a text's letters that are Latin (an English question over Korean text is mostly Latin)."""
    letters = [c for c in text if c.isalpha()]
    return sum(c.isascii() for c in letters) / max(1, len(letters))


def is_crosslingual(text: str, latin_above: float) -> bool:
    """Whether a question asks in Latin letters over the Korean text (``crosslingual_latin_share``): its words
    are not expected verbatim in the passages, so search weights BM25 off and /ask does not require its names."""
    return latin_share(text) > latin_above


def quoted_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) of every quoted name in the query."""
    return [m.span(1) for m in _QUOTED.finditer(text)]


def lexical_query(terms: list[Term], text: str) -> list[str]:
    """BM25 terms of a question: interrogatives and light verbs dropped, quoted names' terms doubled."""
    kept = [t.term for t in terms if t.term not in QUESTION_TERMS]
    quoted = " ".join(text[a:b] for a, b in quoted_spans(text))
    extra = [t.term for t in terms if t.term not in QUESTION_TERMS and t.surface and t.surface in quoted]
    return (kept + extra) or [t.term for t in terms]

"""What kind of answer a question asks for, and whether a sentence has that kind.

A figure question (몇, 얼마, 규모는, 금액, 비중은, "기업 수는"; "how many", "how much",
"what share") is answered by a sentence stating a figure: in the briefings'
drafting a quantity is always written in Arabic digits (1억 위안, 5대, 12기, 2.41%)
or, rarely, a native numeral with its counter (두 개, 세 가지). A closest sentence
without one restates the topic without the figure asked for, which is what the
near-domain questions about funds, counts and speeds the corpus never states get.
"""

from __future__ import annotations

import re

# 몇 (any counter), 얼마 as an amount (얼마인가, 얼마였나, 얼마나 되나, 얼마로; not "얼마나 성숙했나"),
# nouns that name a quantity followed by a topic/subject particle, "N 수는/수와" (a count), and the English forms
_FIGURE_QUESTION = re.compile(
    r"몇|얼마(?:인|였|이었|나\s*되|로|를|의|까지)|(?:규모|금액|액수|비중|비율|인원|속도|용량)(?:는|은|가|이|와|과|를|도)"
    r"|\s수(?:는|와|를|가|도)|\bhow\s+(?:many|much|large|big|fast)\b|\bwhat\s+(?:share|percentage|proportion|"
    r"amount)\b|\bby\s+how\s+much\b|\bsize\s+of\b",
    re.IGNORECASE)
_FIGURE = re.compile(r"\d|(?:한|두|세|네|다섯|여섯|일곱|여덟|아홉|열)\s*(?:개|명|곳|가지|배|번|차례)")


def asks_figure(question: str) -> bool:
    """Whether the question asks for a quantity (count, amount, share, size)."""
    return _FIGURE_QUESTION.search(question) is not None


def states_figure(sentence: str) -> bool:
    """Whether a sentence states a quantity (digits, or a native numeral with its counter)."""
    return _FIGURE.search(sentence) is not None

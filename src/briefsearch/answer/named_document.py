"""Which document a question names: a statute or bill by its title ("지방공무원법 개정안", 「행정절차법」).

Korean statutes and bills are cited by their title, which ends in 법, 법률 or, for a bill, 법률안 / 동의안 /
결의안 (법제처 「법령 입안·심사 기준」; every bill of the generalization set is titled "<법 이름>
일부개정법률안", the constitution "대한민국헌법"), often in 「」. Several bills can share word-for-word passages
(one cost estimate for four amendments), so a question that names one of them should be answered from that
document when a passage of it was retrieved.
"""

from __future__ import annotations

import re

# 「…」 / ｢…｣ quoted titles, or a Hangul word of at least three syllables before the ending (방법, 입법, 헌법 are words)
_QUOTED = re.compile(r"[「｢]([^」｣\n]{2,60})[」｣]")
_TITLE_WORD = re.compile(r"(?<![가-힣])([가-힣·ㆍ]{2,}(?:법률안|동의안|결의안|법률|법))(?![가-힣])")
# what a question adds after a title when it means the bill amending it
_BILL_WORDS = ("개정안", "개정법률안", "일부개정법률안", "전부개정법률안", "제정안")


def _compact(text: str) -> str:
    return re.sub(r"[\s·ㆍ․]", "", text)


def document_names(question: str) -> list[str]:
    """The titles a question cites: quoted ones and words ending in 법/법률/법률안/동의안/결의안."""
    names = [m.group(1).strip() for m in _QUOTED.finditer(question)]
    names += [m.group(1) for m in _TITLE_WORD.finditer(question)]
    return list(dict.fromkeys(n for n in names if len(_compact(n)) >= 3))


def names_document(name: str, title: str) -> bool:
    """Whether a cited name is this document's title or the law its bill amends (spacing and middle dots aside)."""
    key, full = _compact(name), _compact(title)
    return bool(key) and (full == key or (full.startswith(key) and full[len(key) :].startswith(
        tuple(_compact(w) for w in _BILL_WORDS))))

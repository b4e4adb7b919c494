"""Lexical retrieval: BM25 (bm25s) over Korean morphemes (kiwipiepy).

Dense e5 vectors catch paraphrase but blur exact names, figures and rare
terms; BM25 over content morphemes catches those. Both sides share one analyzer
for passages and queries, so "3,708억 위안", "744TOPS", "'25년" and "曲建"
become the same terms wherever they appear.
"""

from __future__ import annotations

import json
from pathlib import Path

import bm25s
import numpy as np

from briefsearch.text.korean import KoreanText
from briefsearch.types import Term

ANALYZER_VERSION = "kiwi-morph-v1"

# content morphemes: nouns, numerals, roots, verb/adjective stems, foreign words, hanja, numbers, serials
_KEEP = {"NNG", "NNP", "NR", "XR", "VV", "VA", "SL", "SH", "SN", "W_SERIAL", "W_HASHTAG"}
_UNIT_AFTER_NUMBER = {"NR", "NNB", "NNG", "SL"}  # 억, 년/위안/개, 배, TOPS ...
_BOUND_NOUN_STOP = {"것", "수", "바", "데", "등", "때", "중", "및"}


def _norm(form: str) -> str:
    return form.lower().replace(",", "")


class LexicalAnalyzer:
    """Text -> BM25 terms with kiwipiepy.

    Kept: nouns (NNG, NNP), numerals (NR, SN), roots (XR), verb and adjective
    stems (VV, VA), foreign words (SL, lower-cased), hanja (SH) and serials
    such as dates ("26.04.28"). Numbers lose thousands separators, and a
    number glued to its unit also yields the joined term ("3708억", "744tops",
    "25년"), so exact figures match as written. Compounds Kiwi returns with a
    space ("양자 컴퓨팅") yield their parts and the joined form. Bound nouns
    count only as units after a number (위안, 년, 개), never alone as "것", "수".
    """

    def __init__(self, korean: KoreanText) -> None:
        self.korean = korean

    def analyze(self, text: str) -> list[Term]:
        tokens = self.korean.tokenize(text)
        terms: list[Term] = []
        prev = None
        for tok in tokens:
            surface = text[tok.start : tok.start + tok.len]
            form, tag = tok.form, tok.tag
            glued = prev is not None and tok.start == prev.start + prev.len
            if glued and prev.tag == "SN" and tag in _UNIT_AFTER_NUMBER:
                joined_surface = text[prev.start : tok.start + tok.len]
                terms.append(Term(_norm(prev.form) + _norm(form), joined_surface))
            unit = tag == "NNB" and form not in _BOUND_NOUN_STOP and prev is not None and prev.tag in {"SN", "NR"}
            if tag in _KEEP or unit:
                if " " in form:
                    for part in form.split():
                        terms.append(Term(_norm(part), part))
                    terms.append(Term(_norm(form.replace(" ", "")), surface))
                else:
                    terms.append(Term(_norm(form), surface))
            prev = tok
        return [t for t in terms if t.term]

    def terms(self, text: str) -> list[str]:
        return [t.term for t in self.analyze(text)]


def lexical_text(section: str, header: str | None, text: str, footnotes: list[str]) -> str:
    """What the lexical side indexes for a passage: its section, table header, text and notes."""
    return "\n".join(p for p in (section, header or "", text, " ".join(footnotes)) if p)


class LexicalIndex:
    """A bm25s index whose rows are chunk ids."""

    def __init__(self, bm25: bm25s.BM25, chunk_ids: np.ndarray) -> None:
        self.bm25 = bm25
        self.chunk_ids = chunk_ids
        self.position = {int(c): i for i, c in enumerate(chunk_ids)}

    @classmethod
    def build(cls, term_lists: list[list[str]], chunk_ids: list[int], k1: float, b: float) -> LexicalIndex:
        bm25 = bm25s.BM25(k1=k1, b=b, method="lucene")
        # an empty passage still needs a row; a placeholder term keeps rows aligned
        bm25.index([terms or ["\x00"] for terms in term_lists], show_progress=False)
        return cls(bm25, np.array(chunk_ids, dtype=np.int64))

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.bm25.save(str(directory), show_progress=False)
        (directory / "chunk_ids.json").write_text(json.dumps(self.chunk_ids.tolist()), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        bm25 = bm25s.BM25.load(str(directory), show_progress=False)
        ids = np.array(json.loads((directory / "chunk_ids.json").read_text(encoding="utf-8")), dtype=np.int64)
        return cls(bm25, ids)

    def _mask(self, allowed: set[int] | None) -> np.ndarray | None:
        if allowed is None:
            return None
        mask = np.zeros(len(self.chunk_ids), dtype=np.float32)
        for chunk_id in allowed:
            pos = self.position.get(chunk_id)
            if pos is not None:
                mask[pos] = 1.0
        return mask

    def _top(self, scores: np.ndarray, k: int) -> list[tuple[int, float]]:
        k_eff = min(k, len(scores))
        top = np.argpartition(-scores, k_eff - 1)[:k_eff] if k_eff < len(scores) else np.arange(len(scores))
        top = top[np.lexsort((top, -scores[top]))]  # best first; ties by row, as a stable ranking
        return [(c, s) for c, s in zip(self.chunk_ids[top].tolist(), scores[top].tolist(), strict=True) if s > 0]

    def search(self, terms: list[str], k: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        """(chunk id, BM25 score) best first; only chunks in ``allowed`` when given; zero scores dropped."""
        if not terms or k <= 0:
            return []
        # bm25s's own scoring, without retrieve()'s batching and progress machinery (~0.2 ms a query here)
        ids = self.bm25.get_tokens_ids(terms)
        if not ids:
            return []
        return self._top(self.bm25.get_scores_from_ids(ids, weight_mask=self._mask(allowed)), k)

    def search_weighted(self, weights: dict[str, float], k: int,
                        allowed: set[int] | None = None) -> list[tuple[int, float]]:
        """Like ``search``, each term's BM25 contribution times its weight (terms the index lacks ignored)."""
        vocab = self.bm25.vocab_dict
        known = [(vocab[t], w) for t, w in weights.items() if t in vocab and w > 0]
        if not known or k <= 0:
            return []
        mask = self._mask(allowed)
        scores = sum(w * self.bm25.get_scores_from_ids([i], weight_mask=mask) for i, w in known)
        return self._top(np.asarray(scores, dtype=np.float32), k)

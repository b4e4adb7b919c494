"""Korean language helpers backed by kiwipiepy: sentence splitting and word-break decisions."""

from __future__ import annotations

from functools import lru_cache

from kiwipiepy import Kiwi


class KoreanText:
    """One Kiwi analyzer (about 2 s to load), shared by a build."""

    def __init__(self) -> None:
        self._kiwi = Kiwi()
        self.needs_space = lru_cache(maxsize=65536)(self._needs_space)

    def warm(self) -> KoreanText:
        """Make Kiwi load its analysis model now (~2 s), not on a user's first query."""
        self._kiwi.tokenize("광둥성의 범용 AI 산업 목표는?")
        self._kiwi.split_into_sents("준비 완료함. 검색 가능")
        return self

    def split_sentences(self, text: str) -> list[tuple[int, int]]:
        """Sentence spans in ``text``.

        Kiwi recognises the 개조식 endings of these briefings (~함, ~임, ~음, ~됨
        without a period) as sentence ends; bullets are split before this, as
        each bullet is its own block.
        """
        spans = [(s.start, s.end) for s in self._kiwi.split_into_sents(text)]
        return spans or [(0, len(text))]

    def tokenize(self, text: str) -> list:
        """Kiwi morphemes (form, tag, start, len) of ``text``."""
        return self._kiwi.tokenize(text)

    def _needs_space(self, left: str, right: str) -> bool:
        """Should a PDF line break between ``left`` and ``right`` be a space?

        Hard wraps split words ("있" / "다는") as often as they fall between
        words ("분석" / "보고서를"); Kiwi's spacing model decides.
        """
        spaced = self._kiwi.space(left + right, reset_whitespace=False)
        return _space_at(spaced, len(left))


def _space_at(spaced: str, junction: int) -> bool:
    """Whether ``spaced`` has a space right where ``junction`` characters of non-space text end."""
    seen = 0
    for ch in spaced:
        if ch == " ":
            if seen == junction:
                return True
            continue
        seen += 1
        if seen > junction:
            return False
    return False

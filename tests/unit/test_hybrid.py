"""The lexical analyzer (Kiwi, no model) and the Latin share of a question."""

from __future__ import annotations

import pytest

from briefsearch.config import REPO_ROOT
from briefsearch.store.lexical import LexicalAnalyzer


@pytest.fixture(scope="module")
def analyzer(korean) -> LexicalAnalyzer:
    return LexicalAnalyzer(korean)


def test_numbers_and_units_match_as_written(analyzer) -> None:
    terms = analyzer.terms("핵심산업 규모 3,000억 위안, 단일 위성 최대 744TOPS, '25년까지")
    assert {"3000", "3000억", "위안", "744", "tops", "744tops", "25년"} <= set(terms)
    # the same figure written without the thousands separator gives the same terms
    assert "3000억" in analyzer.terms("3000억 위안")


def test_english_terms_and_chinese_names(analyzer) -> None:
    terms = analyzer.terms("취젠(曲建) 부원장은 CASTED 보고서에서 양자 컴퓨팅을 언급")
    assert {"曲建", "casted", "양자", "컴퓨팅", "양자컴퓨팅", "부원장"} <= set(terms)
    assert not {"은", "에서", "을"} & set(terms)  # particles are not terms


def test_surface_forms_for_highlighting(analyzer) -> None:
    query = "744TOPS 위성을 발사한 곳은?"
    surfaces = {t.term: t.surface for t in analyzer.analyze(query)}
    assert surfaces["744tops"] == "744TOPS"
    assert all(s in query for s in surfaces.values())


def test_the_latin_share_of_a_question_is_counted_in_one_place() -> None:
    """Two copies of the count (retrieval/ and answer/answerer.py) could drift apart; only crosslingual.py counts."""
    sources = sorted((REPO_ROOT / "src" / "briefsearch").rglob("*.py"))
    counting = [p.name for p in sources if ".isascii() for" in p.read_text(encoding="utf-8")]
    assert counting == ["crosslingual.py"]

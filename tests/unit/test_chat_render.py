"""Chat replies as a frontend shows them: sentence cleaning and short source titles (the rendered transcript: e2e)."""

from __future__ import annotations

import pytest

from briefsearch.api.chat.markdown import clean_sentence
from briefsearch.api.chat.section_titles import article, caption, chapter, short_title


@pytest.mark.parametrize(("raw", "clean"), [
    ("- 최근 광둥성인민정부는 실시의견을 발표", "최근 광둥성인민정부는 실시의견을 발표"),
    ("• 2025년까지 기업 수 2,000개 달성", "2025년까지 기업 수 2,000개 달성"),
    ("■ 삼림 피복률 34.6% 이상\n - 기업 녹색산업 비중 40% 이상", "삼림 피복률 34.6% 이상 기업 녹색산업 비중 40% 이상"),
    ("1. 미래산업 육성 배경", "\\1. 미래산업 육성 배경"),  # a sentence, not an ordered list
    ("(주요목표) '25년까지 전국 1위", "(주요목표) '25년까지 전국 1위"),
])
def test_clean_sentence(raw: str, clean: str) -> None:
    assert clean_sentence(raw) == clean


def test_short_titles_follow_the_briefings_section_conventions() -> None:
    weekly = ("II 정책동향 > 04 광둥성, 범용 인공지능 산업 혁신거점 구축 추진 > ■ '25년까지 범용 인공지능 "
              "핵심산업규모 3,000억 위안 > 〈5대 중점과제〉")
    assert chapter(weekly) == "정책동향"
    assert article(weekly) == "광둥성, 범용 인공지능 산업 혁신거점 구축 추진"
    assert caption(weekly) == "5대 중점과제"
    assert caption("03 베이징 > ■ 목표 > 〈※참고: 베이징 부도심 개요〉") == "베이징 부도심 개요"
    chapter_two = "2. 미래산업 육성정책의 주요 내용 > 표 3. 실시의견의 미래산업 6대 발전 분야"
    assert article(chapter_two) == "미래산업 육성정책의 주요 내용"
    assert short_title("Ⅴ 결론 및 시사점", "중국의 4차산업혁명 대응현황") == "결론 및 시사점"
    assert short_title("요약", "중국의 미래산업 육성정책 동향과 시사점") == "중국의 미래산업 육성정책 동향과 시사점"

"""Chat replies as a frontend shows them: sentence cleaning, short source titles, and the rendered transcript.

The transcript test renders a real reply with CommonMark (markdown-it, as chat frontends render
Markdown) in Debian's Chromium and checks what a reader sees: one paragraph per cited sentence,
no stray bullets, a numbered source list whose links open the document view at the cited passage.
The screenshot lands in tests/artifacts/chat-transcript.png.
"""

from __future__ import annotations

import html

import pytest
from markdown_it import MarkdownIt
from test_web import ARTIFACTS, browser, page  # noqa: F401  (fixtures)

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


def test_rendered_transcript(page, live_server: str) -> None:  # noqa: F811
    import httpx

    question = "베이징 부도심 국가녹색개발시범구의 삼림 피복률 목표는?"
    reply = httpx.post(f"{live_server}/v1/chat/completions", timeout=120,
                       json={"messages": [{"role": "user", "content": question}]}).json()
    message = reply["choices"][0]["message"]
    body = MarkdownIt("commonmark").render(message["content"])
    page.set_content(f"""<!doctype html><html lang="ko"><meta charset="utf-8"><title>chat</title>
      <style>body{{font-family:sans-serif;max-width:760px;margin:24px auto;line-height:1.6}}
      .user{{background:#eef;padding:8px 12px;border-radius:8px}} a{{color:#0645ad}}</style>
      <div class="user">{html.escape(question)}</div><div class="assistant">{body}</div></html>""")
    n = len(reply["citations"])
    paragraphs = page.locator(".assistant > p")
    assert paragraphs.count() >= n + 1  # each cited sentence its own paragraph, then the sources heading
    for i in range(n):
        text = paragraphs.nth(i).inner_text()
        assert text.endswith(f"[{i + 1}]") and not text.startswith(("-", "•", "■"))
    assert page.locator(".assistant ul").count() == 0  # no sentence turned into a bullet
    sources = page.locator(".assistant > ol > li")
    assert sources.count() == n
    links = [sources.nth(i).locator("a").get_attribute("href") for i in range(n)]
    assert links == [a["url_citation"]["url"] for a in message["annotations"]]
    page.screenshot(path=str(ARTIFACTS / "chat-transcript.png"), full_page=True)
    sources.first.locator("a").click()
    page.wait_for_selector(".block.cited")
    assert "/view?start=" in page.url and "34.6%" in " ".join(page.locator(".block.cited").all_inner_texts())

"""Chat replies as a frontend shows them: sentence cleaning, short source titles, and the rendered transcript.

The transcript test renders a real reply with CommonMark (markdown-it, as chat frontends render
Markdown) in Debian's Chromium and checks what a reader sees: one paragraph per cited sentence,
no stray bullets, a numbered source list whose links open the document view at the cited passage.
The screenshot lands in tests/artifacts/chat-transcript.png.
"""

from __future__ import annotations

import html

from markdown_it import MarkdownIt

from e2e.test_web import ARTIFACTS, browser, page  # noqa: F401  (fixtures)


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

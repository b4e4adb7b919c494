"""The search page in a real browser: Debian's Chromium driven by Playwright against the live server.

Screenshots of the main states are saved under tests/artifacts/ (git-ignored).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from briefsearch.config import REPO_ROOT

ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
# no background networking: this machine's closed network refuses those connections
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--disable-default-apps", "--disable-extensions"]


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian chromium is missing: `make test` installs it"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(locale="ko-KR", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def test_korean_question_shows_answer_results_and_opens_the_cited_passage(page, live_server: str) -> None:
    page.goto(live_server + "/")
    box = page.get_by_role("searchbox")
    assert box.evaluate("el => el === document.activeElement")  # focused: type right away
    box.fill("광둥성의 범용 AI 산업 목표는?")
    box.press("Enter")
    page.wait_for_selector("article.result")
    assert "q=" in page.url and "%EA%B4%91" in page.url  # the query is in the URL (shareable)
    results = page.locator("article.result")
    assert results.count() >= 5
    first = results.first
    assert "광둥성" in first.inner_text()
    assert first.locator("mark").count() >= 1  # matched words highlighted
    assert first.locator(".section").inner_text()
    assert "2023" in first.locator(".meta").inner_text()  # date shown
    answer = page.locator("#answer")
    answer.wait_for(state="visible")
    assert "답변" in answer.inner_text() and "[1]" in answer.inner_text()
    page.screenshot(path=str(ARTIFACTS / "search-results.png"), full_page=True)

    first.locator("a.open-source").click()
    page.wait_for_selector(".block.cited")
    assert "/view" in page.url
    cited = page.locator(".block.cited").first
    assert "광둥성" in page.locator(".block.cited").all_inner_texts()[0] + " ".join(
        page.locator(".block.cited").all_inner_texts())
    assert cited.is_visible()
    box_in_view = cited.evaluate("el => { const r = el.getBoundingClientRect(); "
                                 "return r.top >= 0 && r.top < window.innerHeight; }")
    assert box_in_view, "the cited passage is scrolled into view"
    assert page.locator(".block.heading").count() > 3  # structure shown
    page.screenshot(path=str(ARTIFACTS / "document-view.png"))

    page.go_back()
    page.wait_for_selector("article.result")
    assert page.get_by_role("searchbox").input_value() == "광둥성의 범용 AI 산업 목표는?"


def test_shared_link_restores_query_and_mode(page, live_server: str) -> None:
    page.goto(live_server + "/?q=744TOPS&mode=lexical")
    page.wait_for_selector("article.result")
    assert page.locator("input[name=mode][value=lexical]").is_checked()
    assert "744TOPS" in page.locator("article.result").first.inner_text()
    page.locator("input[name=mode][value=dense]").check()
    page.wait_for_url("**mode=dense**")
    page.wait_for_selector("article.result")


def test_empty_query_and_no_results(page, live_server: str) -> None:
    page.goto(live_server + "/")
    page.get_by_role("button", name="검색").click()
    assert "검색어를 입력하세요" in page.locator("#status").inner_text()
    assert page.locator("article.result").count() == 0
    page.screenshot(path=str(ARTIFACTS / "empty-query.png"))

    page.goto(live_server + "/?q=zqxwvjk&mode=lexical")
    page.wait_for_function("document.querySelector('#status').textContent.includes('결과가 없습니다')")
    assert page.locator("article.result").count() == 0
    page.screenshot(path=str(ARTIFACTS / "no-results.png"))


def test_unavailable_service_and_unknown_document(page, live_server: str) -> None:
    page.goto(live_server + "/")
    page.route("**/search", lambda route: route.abort())  # the service dropping off the network
    page.route("**/ask", lambda route: route.abort())
    page.get_by_role("searchbox").fill("위성")
    page.keyboard.press("Enter")
    page.wait_for_selector(".status.error")
    assert "연결할 수 없습니다" in page.locator("#status").inner_text()
    page.screenshot(path=str(ARTIFACTS / "service-unavailable.png"))

    page.goto(live_server + "/documents/no_such_doc/view")
    page.wait_for_selector(".status.error")
    assert "찾을 수 없습니다" in page.locator("#status").inner_text()


def test_phone_width_and_keyboard(browser, live_server: str) -> None:
    context = browser.new_context(locale="ko-KR", viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(live_server + "/?q=" + "웨강아오대만구 미래 10대 산업")
    page.wait_for_selector("article.result")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, "no horizontal scrolling at phone width"
    # focus order: search box, button, then the mode switch
    page.get_by_role("searchbox").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "search-button"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "mode"
    page.screenshot(path=str(ARTIFACTS / "phone.png"), full_page=True)
    context.close()


def test_results_area_does_not_jump_while_loading(page, live_server: str) -> None:
    page.goto(live_server + "/")
    before = page.locator("#results").bounding_box()
    # hold the API responses so the measurement really happens while loading (a fast server
    # would otherwise have rendered the answer card, which moves the results, before we look)
    held = []
    page.route("**/search", lambda route: held.append(route))
    page.route("**/ask", lambda route: held.append(route))
    page.get_by_role("searchbox").fill("양자정보")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#results').getAttribute('aria-busy') === 'true'")
    during = page.locator("#results").bounding_box()
    assert during["y"] == pytest.approx(before["y"], abs=2)
    assert during["height"] >= before["height"] - 1
    for _ in range(100):  # both requests reach the route handlers while events are processed
        if len(held) == 2:
            break
        page.wait_for_timeout(50)
    assert len(held) == 2
    for route in held:
        route.continue_()
    page.wait_for_selector("article.result")

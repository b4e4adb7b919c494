"""/ask: extractive answers whose every sentence is corpus text with an exact citation."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from briefsearch.answer.answerer import NO_ANSWER, Answerer
from briefsearch.config import REPO_ROOT
from briefsearch.evaluation.answers import check_floors, load_off_corpus, run
from briefsearch.ingest.sources import read_original
from integration.test_citations import _alnum, _unexplained_gaps

MARKER = re.compile(r"\s*\[(\d+)\]")


@contextlib.contextmanager
def _tuned(searcher, **groups: dict) -> Iterator[None]:
    """The searcher (and every Answerer over it, which reads its settings per call) with some tuned parameters
    changed (``Settings.tuned``), restored after."""
    base = searcher.settings
    searcher.settings = base.tuned(**groups)
    try:
        yield
    finally:
        searcher.settings = base


def _segments(answer: str) -> list[tuple[str, int]]:
    """Split "s1 [1] s2 [2]" into (sentence, n) pairs."""
    parts = MARKER.split(answer)
    return [(parts[i].strip(), int(parts[i + 1])) for i in range(0, len(parts) - 1, 2)]


def test_answer_is_corpus_sentences_with_exact_citations(client) -> None:
    body = client.post("/ask", json={"question": "광둥성의 범용 AI 산업 목표는?"}).json()
    assert body["answerable"] is True and body["confidence"] > 0
    assert {"question", "answer", "answerable", "confidence", "citations", "passages", "took_ms"} <= body.keys()
    segments = _segments(body["answer"])
    assert 1 <= len(segments) <= 3
    assert [n for _, n in segments] == [c["n"] for c in body["citations"]]
    assert "광둥성" in body["answer"]
    for sentence, n in segments:
        cite = body["citations"][n - 1]
        assert sentence == cite["text"]
        original = read_original(REPO_ROOT / cite["source"], "utf-8")
        sliced = original[cite["char_start"] : cite["char_end"]]
        # the sentence is in the passage it came from, and the offsets slice exactly that sentence
        source = [p for p in body["passages"] if p["chunk_id"] == cite["chunk_id"]]
        assert len(source) == 1 and sentence in source[0]["text"]
        assert _alnum(sliced).startswith(_alnum(sentence)[:1]) and _alnum(sliced).endswith(_alnum(sentence)[-1:])
        assert not _unexplained_gaps(sentence, sliced)
        assert original.count("\n", 0, cite["char_start"]) + 1 == cite["line_start"]
    assert body["passages"] and body["passages"][0]["citation"]["source"].startswith("corpus/")


@pytest.mark.parametrize("question", ["오늘 서울 날씨 어때?", "비트코인 가격 전망"])
def test_off_corpus_questions_are_not_answered(client, question: str) -> None:
    body = client.post("/ask", json={"question": question}).json()
    assert body["answerable"] is False
    assert body["answer"] == NO_ANSWER and body["citations"] == []
    assert len(body["passages"]) == 5  # the closest passages are still listed


def test_ask_validation(client) -> None:
    assert client.post("/ask", json={"question": "  "}).status_code == 422
    assert client.post("/ask", json={"question": "질문", "k": 0}).status_code == 422
    assert client.post("/ask", content=b"{", headers={"content-type": "application/json"}).status_code == 422


def test_followup_is_resolved_with_earlier_turns(searcher) -> None:
    answerer = Answerer(searcher)
    first = "베이징 부도심 국가녹색개발시범구의 삼림 피복률 목표는?"
    with_history = answerer.ask("그 목표 연도는?", history=[first])
    alone = answerer.ask("그 목표 연도는?")
    assert "베이징" in with_history.query
    assert {c.doc_id for c in with_history.citations} == {"003_263747581c6563b7"}
    assert "003_263747581c6563b7" not in {c.doc_id for c in alone.citations}
    # a new place name replaces the previous one
    shanghai = answerer.ask("그럼 상하이는?", history=["광둥성의 범용 AI 산업 목표는?"])
    assert shanghai.query.startswith("상하이") and "광둥성" not in shanghai.query


def test_answer_quality_and_calibration(searcher, tmp_path: Path) -> None:
    """Test-split figures at the configured threshold; the threshold itself comes from dev only."""
    stats, calibrated, path = run(Answerer(searcher), tmp_path)
    assert len(load_off_corpus()) >= 20 and set(stats.splits) == {"dev", "test"}
    test = stats.splits["test"]
    assert stats.off_corpus_false_rate == 0.0
    # floors just below the measured test figures (eval/reports/answers.md), in eval/thresholds.json "answers"
    assert check_floors(stats) == []
    assert int(test.english_answered.split(" of ")[1]) >= 5
    dev = stats.splits["dev"]
    assert calibrated[1] + calibrated[2] <= dev.missed_rate + dev.false_answer_rate + 1e-3
    assert path.read_text(encoding="utf-8").startswith("# Answers")


def test_answer_floors_are_read_from_the_thresholds_file(searcher, tmp_path: Path) -> None:
    from briefsearch.evaluation.answers import AnswerStats, SplitStats

    split = SplitStats(n_questions=10, n_negatives=4, evidence_rate=0.8, missed_rate=0.1, false_answer_rate=0.25,
                       english_answered="1 of 4", on_confidences=[], neg_confidences=[], on_crosslingual=[],
                       neg_crosslingual=[], misses=[], wrong_answers=[], false_answers=[])
    stats = AnswerStats(threshold=1.0, splits={"test": split}, n_off_corpus=2, off_corpus_false_rate=0.0,
                        off_confidences=[], off_false_answers=[])
    floors = tmp_path / "thresholds.json"
    floors.write_text('{"answers": {"min_evidence_rate": 0.75, "max_false_answer_rate": 0.2, '
                      '"min_english_answered_share": 0.5}}', encoding="utf-8")
    failures = check_floors(stats, floors)
    assert len(failures) == 2 and "false_answer_rate" in failures[0] and "english" in failures[1]
    floors.write_text('{"answers": {"max_bogus": 1}}', encoding="utf-8")
    assert "unknown floor" in check_floors(stats, floors)[0]


def test_ask_on_the_command_line(searcher, data_dir: Path) -> None:
    env = {**os.environ, "BRIEFSEARCH_DATA_DIR": str(data_dir), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "briefsearch.cli", "ask", "웨강아오대만구 미래 10대 산업은?"],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "[1]" in proc.stdout and "corpus/001_7307f45af5f7b1ae.txt:" in proc.stdout


@pytest.mark.parametrize("question", ["화웨이 어센드 910B 칩의 연산 성능은?",
                                      "유비테크(UBTech)의 휴머노이드 로봇 매출은?"])
def test_a_name_no_briefing_mentions_is_not_answered(client, question: str) -> None:
    """Near-domain: the nearest passage is about AI chips or robots, but the corpus never names this one."""
    body = client.post("/ask", json={"question": question}).json()
    assert body["answerable"] is False and body["citations"] == [] and body["passages"]


def test_salient_names_and_corpus_mentions(searcher) -> None:
    from briefsearch.answer.salience import CorpusMentions, salient_names

    names = salient_names(searcher.korean, "Which satellites did Google's Suncatcher and the 910B use?")
    assert names == ["Google", "Suncatcher", "910B"]  # not the sentence-initial "Which", not "the"
    assert salient_names(searcher.korean, "유비테크(UBTech)의 2023년 매출액은?") == ["유비테크", "UBTech"]
    mentions = CorpusMentions(["구글은 선캐처(Suncatcher) 계획", "CASC 제6연구원"], aliases=["jiuquan"])
    assert mentions.unknown(["Suncatcher", "CASC", "Jiuquan", "CAS", "선캐처", "910B"]) == ["CAS", "910B"]


def test_a_name_written_with_its_original_in_brackets_or_other_spacing_is_known(searcher) -> None:
    """The corpus writes 즈장(之江)실험실; a question writes 즈장실험실 or 즈장 실험실: the same name, not unknown."""
    from briefsearch.answer.salience import CorpusMentions

    mentions = CorpusMentions(c.text for c in searcher.index.chunks.values())
    assert mentions.unknown(["즈장실험실", "즈장 실험실", "즈장(之江)실험실", "즈장대학교"]) == ["즈장대학교"]


def test_english_question_is_answered_in_korean_with_exact_citations(client) -> None:
    question = "How many satellites will Google's Suncatcher cluster have, and at what altitude?"
    body = client.post("/ask", json={"question": question}).json()
    assert body["answerable"] is True
    assert "650km" in body["answer"] and "선캐처" in body["answer"]
    for cite in body["citations"]:
        original = read_original(REPO_ROOT / cite["source"], "utf-8")
        sliced = original[cite["char_start"] : cite["char_end"]]
        assert not _unexplained_gaps(cite["text"], sliced)


BULLET_START = re.compile(r"^[-*•·■□○●◆◇❍☑▶ㅇ※]|^m\s")


@pytest.mark.parametrize("question", ["중국 국가혁신지수 종합 순위는?", "광둥성의 범용 AI 산업 목표는?",
                                      "폐기 리튬배터리 재활용 기술의 성숙도는?", "인터넷 플러스 전략의 주요 내용은?"])
def test_answer_sentences_start_at_a_word_and_stay_in_one_passage(client, question: str) -> None:
    """No bullet glyph opens an answer sentence; its citation slices from the first word; one passage."""
    body = client.post("/ask", json={"question": question}).json()
    assert body["answerable"] is True
    assert len({c["chunk_id"] for c in body["citations"]}) == 1  # not a list question
    for sentence, n in _segments(body["answer"]):
        assert not BULLET_START.match(sentence), sentence
        cite = body["citations"][n - 1]
        sliced = read_original(REPO_ROOT / cite["source"], "utf-8")[cite["char_start"] : cite["char_end"]]
        assert _alnum(sliced)[:4] == _alnum(sentence)[:4]
        assert not _unexplained_gaps(sentence, sliced)


def test_a_table_row_answer_keeps_its_separators_but_no_cell_glyph(client) -> None:
    """The space-computing table: "중국 | 귀성우항(國興宇航) | • 2,800기 ..." answers without the "•" after "|"."""
    body = client.post("/ask", json={"question": "귀성우항의 우주 컴퓨팅센터 구축 목표는?"}).json()
    assert body["answerable"] is True and "귀성우항" in body["answer"] and "|" in body["answer"]
    for sentence, n in _segments(body["answer"]):
        assert not re.search(r"\|\s*[-*•·■□○●◆◇❍☑▶※]", sentence), sentence
        cite = body["citations"][n - 1]
        sliced = read_original(REPO_ROOT / cite["source"], "utf-8")[cite["char_start"] : cite["char_end"]]
        assert not _unexplained_gaps(sentence, sliced)


def test_source_lists_and_captions_do_not_answer(searcher) -> None:
    """No answer sentence is a ☑ line of Chinese headlines, page furniture or a 〔표 3-2〕 caption."""
    answerer = Answerer(searcher)
    for question in ("2026년 본과 전공 목록에 새로 추가된 전공은?", "인터넷+ 정책의 11개 중점분야별 정책과제는?",
                     "What new undergraduate majors were added to China's 2026 catalogue?"):
        result = searcher.search(question, 5)
        candidates = answerer._candidates(result, result.hits[:5])
        assert candidates
        for cand in candidates:
            assert re.search(r"[가-힣|]", cand.text), cand.text
            assert not re.match(r"^[〔\[<〈]\s*(표|그림)\s*[\d-]+", cand.text), cand.text


def test_the_confidence_is_one_formula_for_ask_and_the_calibration(searcher) -> None:
    """A question about a name the corpus mentions (텐센트, elsewhere than the answering passage) is not gated;
    /ask's confidence is ``combine`` of its signals, the formula the calibration uses; a figure question is
    answered with the sentence stating the figure."""
    from briefsearch.answer.answerer import combine

    answerer = Answerer(searcher)
    plain = answerer.ask("텐센트가 광둥성 범용 인공지능 혁신거점에 투자한 금액은?").features
    assert plain["unknown_names"] == []
    assert abs(combine(plain, answerer.settings.answer) - plain["confidence"]) < 1e-9
    stated = answerer.ask("광둥성은 인공지능 과기금융 기금을 얼마 규모로 조성하나?")
    assert "1,000억 위안" in stated.answer


def test_a_list_question_takes_the_next_sentence_of_its_passage(client, searcher) -> None:
    """A list question whose best line is the lead-in ("… 5개 부처 공동으로 … 발표") also gets the line after it in
    the passage (the five agencies), cited exactly; without continuation the answer stops at the lead-in."""
    question = "'특허 산업화로 중소기업 성장 촉진 계획'을 공동 발표한 5개 기관은?"
    body = client.post("/ask", json={"question": question}).json()
    assert body["answerable"] is True and "공업신식화부" in body["answer"]
    cites = body["citations"]
    assert len({c["chunk_id"] for c in cites}) == 1
    passage = next(p for p in body["passages"] if p["chunk_id"] == cites[0]["chunk_id"])
    last, before = cites[-1], cites[-2]
    # the continuation is the next line of the same passage, in reading order
    assert before["char_end"] <= last["char_start"]
    assert passage["text"].index(before["text"]) < passage["text"].index(last["text"])
    original = read_original(REPO_ROOT / last["source"], "utf-8")
    assert not _unexplained_gaps(last["text"], original[last["char_start"] : last["char_end"]])
    with _tuned(searcher, answer={"continuation": 0}):
        alone = Answerer(searcher).ask(question)
    assert alone.answerable and len(alone.citations) == len(cites) - 1 and "공업신식화부" not in alone.answer


def test_a_question_asking_for_one_thing_gets_no_continuation(searcher) -> None:
    answerer = Answerer(searcher)
    question = "광둥성의 범용 AI 산업 목표는?"
    with_continuation = answerer.ask(question)
    with _tuned(searcher, answer={"continuation": 0}):
        assert with_continuation.answer == answerer.ask(question).answer


def test_an_english_question_is_weighed_by_its_bridged_words_in_the_answering_passage(searcher) -> None:
    """The cross-lingual confidence adds the share of the question's bridged words (their Korean nouns from the
    term bridge) that the answering passage holds, and the first passage's margin, each by its own weight."""
    answerer = Answerer(searcher)
    question = "How many satellites will Google's Suncatcher cluster have, and at what altitude?"
    words = searcher.bridged_words(question)
    bridged = {term for word in words for term in word}
    assert bridged  # the bridge maps some of the question's words to Korean nouns
    answer = answerer.ask(question)
    features = answer.features
    assert features["crosslingual"] and 0 < features["bridge_coverage"] <= 1
    result = searcher.search(question, 5)
    passage = searcher.index.chunks[answer.citations[0].chunk_id]
    assert answerer.bridge_coverage(result, passage) == features["bridge_coverage"]  # read on the answering passage
    assert result.bridged == words  # mapped once, by the search; the coverage reads that mapping
    assert answerer.bridge_coverage(dataclasses.replace(result, bridged=[]), passage) == 0.0
    unmapped = dataclasses.replace(result, bridged=None)  # a search that mapped nothing: the coverage maps them
    assert answerer.bridge_coverage(unmapped, passage) == features["bridge_coverage"]
    held = searcher.passage_terms(passage.chunk_id)
    assert bridged & held and (features["bridge_coverage"] == 1) == all(set(w) & held for w in words if w)
    unrelated = next(c for c in searcher.index.chunks.values() if not bridged & searcher.passage_terms(c.chunk_id))
    assert answerer.bridge_coverage(result, unrelated) == 0.0
    with _tuned(searcher, answer={"bridge_coverage_weight": 0.0, "margin_weight": 0.0}):
        plain = answerer.ask(question).features["confidence"]
    with _tuned(searcher, answer={"bridge_coverage_weight": 0.1, "margin_weight": 0.2}):
        weighed = answerer.ask(question).features["confidence"]
    assert abs(weighed - plain - 0.1 * features["bridge_coverage"] - 0.2 * features["margin"]) < 1e-6


def test_korean_answers_do_not_change_with_the_crosslingual_weights(searcher) -> None:
    """The bridge-coverage and cross-lingual margin weights and threshold are the English path's alone."""
    from briefsearch.evaluation.evaluate import load_questions
    from briefsearch.retrieval.crosslingual import is_crosslingual

    share = searcher.settings.crosslingual.latin_share
    korean = [q.question for q in load_questions() if not is_crosslingual(q.question, share)][:12]
    answerer = Answerer(searcher)
    configured = [answerer.ask(question) for question in korean]
    with _tuned(searcher, answer={"bridge_coverage_weight": 1.0, "margin_weight": 1.0, "crosslingual_threshold": 0.0}):
        loud = [answerer.ask(question) for question in korean]
    for a, b in zip(configured, loud, strict=True):
        assert a.features["bridge_coverage"] == 0.0
        assert (a.answer, a.answerable, a.confidence) == (b.answer, b.answerable, b.confidence)
        assert [(c.source, c.char_start, c.char_end) for c in a.citations] == [
            (c.source, c.char_start, c.char_end) for c in b.citations]


def test_the_english_threshold_is_the_dev_calibration_against_answers_that_hold_the_evidence(searcher) -> None:
    """Issue 27 item 4: English questions were answered with a sentence of a nearby topic. The English cut-off is
    what ``calibrate_crosslingual`` gives on the English dev questions and negatives, scored against answers that
    hold the evidence (not against "answered"): the shipped threshold answers exactly the dev items the rule's
    threshold answers, so the dev English answers without the evidence (or to a negative) are no more than the
    calibration allowed, and an answer given holds the fact at least as often as the rule demands at its margin."""
    from briefsearch.evaluation.answers import (
        WRONG_ANSWER_COST,
        calibrate_crosslingual,
        grade_english,
        load_negatives,
    )
    from briefsearch.evaluation.evaluate import load_questions

    graded = grade_english(Answerer(searcher), [q for q in load_questions() if q.split == "dev"],
                           [n for n in load_negatives() if n.split == "dev"])
    questions, negatives = [g for g in graded if not g.negative], [g for g in graded if g.negative]
    assert len(questions) >= 80 and len(negatives) >= 25  # enough English dev items to calibrate on
    assert 0 < sum(g.holds_evidence for g in questions) < len(questions)
    chosen = calibrate_crosslingual(graded)
    shipped = searcher.settings.answer.crosslingual_threshold
    # the same dev items answered at the shipped threshold as at the rule's (robust to a float moving a midpoint)
    assert [g.confidence >= shipped for g in graded] == [g.confidence >= chosen.threshold for g in graded]
    given = [g for g in graded if g.confidence >= shipped]
    without = sum(1 for g in given if g.negative or not g.holds_evidence)
    assert without == chosen.without_evidence + chosen.negatives_answered
    assert given and len(given) - without >= WRONG_ANSWER_COST / (1 + WRONG_ANSWER_COST) * len(given)

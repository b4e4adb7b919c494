"""The regression suite: the question set is sound, and retrieval stays above the committed thresholds."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from eval.evaluate import (
    QUESTIONS,
    THRESHOLDS,
    check_thresholds,
    load_questions,
    normalize_evidence,
    run_eval,
)
from index.ingest import load_manifest, read_source
from index.settings import REPO_ROOT


def test_normalize_evidence_keeps_letters_digits_hangul_cjk() -> None:
    assert normalize_evidence("3,000억 위안(54조)") == "3000억위안54조"
    assert normalize_evidence("**R&D** 曲建") == "rd曲建"


def test_question_set_covers_the_corpus() -> None:
    questions = load_questions(QUESTIONS)
    assert len(questions) >= 80
    assert len({q.id for q in questions}) == len(questions)
    docs = {m.doc_id for m in load_manifest(REPO_ROOT / "corpus")}
    per_doc = Counter(q.doc_id for q in questions)
    assert set(per_doc) == docs and min(per_doc.values()) >= 10
    assert sum(1 for q in questions if q.type == "english") >= 3


def test_every_evidence_phrase_occurs_in_its_document() -> None:
    metas = {m.doc_id: m for m in load_manifest(REPO_ROOT / "corpus")}
    texts = {d: normalize_evidence(read_source(REPO_ROOT / "corpus" / m.file).raw) for d, m in metas.items()}
    for q in load_questions(QUESTIONS):
        assert q.evidence, q.id
        for phrase in q.evidence:
            assert normalize_evidence(phrase) in texts[q.doc_id], (q.id, phrase)


@pytest.fixture(scope="module")
def report(searcher):
    return run_eval(searcher, load_questions(QUESTIONS), mode="hybrid")


def test_every_question_has_an_answering_passage(report) -> None:
    """Normalization must not destroy the evidence: each question is answerable by some passage."""
    unreachable = [o.id for o in report.outcomes if o.n_relevant == 0]
    assert not unreachable


def test_retrieval_quality_meets_thresholds(report) -> None:
    assert report.mode == "hybrid"
    failures = check_thresholds(report, THRESHOLDS)
    assert not failures, failures
    thresholds = json.loads(THRESHOLDS.read_text(encoding="utf-8"))
    assert thresholds["hit_rate@5"] >= 0.95 and thresholds["mrr@10"] >= 0.85


def test_hybrid_beats_each_side_alone(searcher, report) -> None:
    """The ablation claim, kept true: fusion beats dense and lexical on MRR@10 and Recall@5."""
    questions = load_questions(QUESTIONS)
    for mode in ("dense", "lexical"):
        alone = run_eval(searcher, questions, mode=mode)
        assert report.overall["mrr@10"] > alone.overall["mrr@10"], mode
        assert report.overall["hit_rate@5"] > alone.overall["hit_rate@5"], mode

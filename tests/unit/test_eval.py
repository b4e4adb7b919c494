"""The regression suite: the question set is sound, and retrieval stays above the committed thresholds."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from briefsearch.config import REPO_ROOT
from briefsearch.evaluation.answers import ENGLISH_DEV_NEGATIVES, NEGATIVES, load_negatives
from briefsearch.evaluation.evaluate import (
    ENGLISH_DEV,
    FRESH,
    QUESTIONS,
    load_questions,
    normalize_evidence,
)
from briefsearch.evaluation.split import assign_batched_splits, batch_of
from briefsearch.ingest.sources import load_manifest, read_source


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


def _rows(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize(("path", "keys"), [(QUESTIONS, ("doc_id", "type")), (NEGATIVES, ("near_doc", "type"))])
def test_split_is_the_deterministic_stratified_one(path, keys) -> None:
    """Committed splits are exactly evaluation/split.py's, and every (batch, document, type) stratum is halved.

    Each batch of questions (its id prefix) is split on its own, so a later batch never moved an earlier question.
    """
    rows = _rows(path)
    assert {r["id"]: r["split"] for r in rows} == assign_batched_splits(rows, keys)
    per_split = Counter(r["split"] for r in rows)
    assert set(per_split) == {"dev", "test"} and abs(per_split["dev"] - per_split["test"]) <= 1
    strata = Counter(((batch_of(r["id"]), *(r[k] for k in keys)), r["split"]) for r in rows)
    for key in {(batch_of(r["id"]), *(r[k] for k in keys)) for r in rows}:
        assert abs(strata[(key, "dev")] - strata[(key, "test")]) <= 1, key


def test_a_later_batch_leaves_the_earlier_splits_alone() -> None:
    """Appending a batch (new id prefix) keeps every earlier question in the split it was tuned or tested in."""
    rows = _rows(QUESTIONS)
    first = [r for r in rows if batch_of(r["id"]) == batch_of(rows[0]["id"])]
    later = [r for r in rows if batch_of(r["id"]) != batch_of(rows[0]["id"])]
    assert later, "no later batch in the question set"
    alone, together = assign_batched_splits(first), assign_batched_splits(rows)
    assert all(together[qid] == split for qid, split in alone.items())


@pytest.mark.parametrize(("path", "keys"), [(QUESTIONS, ("doc_id", "type")), (NEGATIVES, ("near_doc", "type"))])
def test_no_batch_moves_another(path, keys) -> None:
    """Every batch, a continued prefix too (e25.. after e01..e24), leaves the others' splits as they were without it."""
    rows = _rows(path)
    together = assign_batched_splits(rows, keys)
    batches = {batch_of(r["id"]) for r in rows}
    assert {"e", "e25"} <= batches or {"en", "en9"} <= batches
    for batch in batches:
        without = assign_batched_splits([r for r in rows if batch_of(r["id"]) != batch], keys)
        assert all(together[qid] == split for qid, split in without.items()), batch


def test_near_domain_negatives_name_nothing_the_corpus_holds() -> None:
    """Each negative's key facts (its ``absent`` terms) occur in no briefing, so no passage can answer it."""
    metas = load_manifest(REPO_ROOT / "corpus")
    corpus = "\n".join(read_source(REPO_ROOT / "corpus" / m.file).raw for m in metas).casefold()
    rows, english = _rows(NEGATIVES), _rows(ENGLISH_DEV_NEGATIVES)
    assert len(rows) >= 40 and len({r["id"] for r in rows + english}) == len(rows) + len(english)
    assert {r["near_doc"] for r in rows} == {m.doc_id for m in metas}  # on the corpus's own topics
    assert {r["near_doc"] for r in english} == {m.doc_id for m in metas}
    for row in rows + english:
        assert row["absent"], row["id"]
        for term in row["absent"]:
            assert term.casefold() not in corpus, (row["id"], term)
    assert [n.question for n in load_negatives()] == [r["question"] for r in rows + english]


def test_fresh_questions_are_test_only_and_new() -> None:
    fresh, old = load_questions(FRESH), load_questions(QUESTIONS)
    assert len(fresh) >= 20 and {q.split for q in fresh} == {"test"}
    assert not {q.id for q in fresh} & {q.id for q in old}
    assert {q.doc_id for q in fresh} == {q.doc_id for q in old}
    assert load_questions() == old + fresh + load_questions(ENGLISH_DEV)


def test_english_dev_sets_are_dev_only_english_and_new() -> None:
    """The English questions and negatives written to calibrate the English cut-off are dev (never reported as
    test), in English (the cross-lingual path), on every briefing, and ask nothing another question's evidence is."""
    from briefsearch.retrieval.crosslingual import is_crosslingual

    questions, negatives = load_questions(ENGLISH_DEV), load_negatives(ENGLISH_DEV_NEGATIVES)
    others = load_questions(QUESTIONS) + load_questions(FRESH)
    assert len(questions) >= 40 and len(negatives) >= 10
    assert {q.split for q in questions} == {n.split for n in negatives} == {"dev"}
    assert all(q.type == "english" and is_crosslingual(q.question, 0.5) for q in questions)
    assert all(n.type == "english" and is_crosslingual(n.question, 0.5) for n in negatives)
    assert not {q.id for q in questions} & {q.id for q in others}
    assert {q.doc_id for q in questions} == {q.doc_id for q in others}
    taken = {normalize_evidence(e) for q in others for e in q.evidence}
    assert not {normalize_evidence(e) for q in questions for e in q.evidence} & taken


def test_every_evidence_phrase_occurs_in_its_document() -> None:
    metas = {m.doc_id: m for m in load_manifest(REPO_ROOT / "corpus")}
    texts = {d: normalize_evidence(read_source(REPO_ROOT / "corpus" / m.file).raw) for d, m in metas.items()}
    for q in load_questions():
        assert q.evidence, q.id
        for phrase in q.evidence:
            assert normalize_evidence(phrase) in texts[q.doc_id], (q.id, phrase)

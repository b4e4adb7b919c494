"""The generalization set's data and the legal-text helpers, without the model: negatives, floors, prefixes, names."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from briefsearch.answer.answerer import legal_prefix
from briefsearch.config import REPO_ROOT
from briefsearch.evaluation.answers import AnswerStats, SplitStats, check_floors, load_negatives
from briefsearch.evaluation.evaluate import THRESHOLDS
from briefsearch.evaluation.generalization import DOCS, LAYOUTS, NEGATIVES, layout_of
from briefsearch.evaluation.split import assign_batched_splits
from briefsearch.ingest.sources import load_manifest, read_source


def _rows() -> list[dict]:
    return [json.loads(line) for line in NEGATIVES.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_generalization_negatives_name_nothing_any_document_holds() -> None:
    """Each negative is about a document of the set, and its key facts occur in none of the set nor any briefing."""
    texts = [read_source(p).raw for p in sorted(DOCS.glob("*.txt"))]
    texts += [read_source(REPO_ROOT / "corpus" / m.file).raw for m in load_manifest(REPO_ROOT / "corpus")]
    everything = "\n".join(texts).casefold()
    rows = _rows()
    assert len(rows) >= 12 and len({r["id"] for r in rows}) == len(rows)
    assert {r["near_doc"] for r in rows} <= {p.stem for p in DOCS.glob("*.txt")}
    assert set(Counter(layout_of(r["near_doc"]) for r in rows)) == set(LAYOUTS.values())
    for row in rows:
        assert row["absent"], row["id"]
        for term in row["absent"]:
            assert term.casefold() not in everything, (row["id"], term)
    # the split is evaluation/split.py's, stratified by document and type, so re-deriving it changes nothing
    assert assign_batched_splits(rows, ("near_doc", "type")) == {r["id"]: r["split"] for r in rows}
    assert Counter(r["split"] for r in rows) == {"dev": len(rows) // 2, "test": len(rows) - len(rows) // 2}
    assert [n.question for n in load_negatives(NEGATIVES)] == [r["question"] for r in rows]


def test_generalization_answer_floors_are_read_from_their_section() -> None:
    """The set's /ask floors sit inside its "generalization" section; the briefings' "answers" stay apart."""
    floors = json.loads(THRESHOLDS.read_text(encoding="utf-8"))["generalization"]["answers"]
    assert {"min_evidence_rate", "max_missed_rate", "max_false_answer_rate"} <= set(floors)
    good = SplitStats(n_questions=24, n_negatives=6, evidence_rate=floors["min_evidence_rate"], missed_rate=0.0,
                      false_answer_rate=0.0, english_answered="0 of 0", on_confidences=[], neg_confidences=[],
                      on_crosslingual=[], neg_crosslingual=[], misses=[], wrong_answers=[], false_answers=[])
    stats = AnswerStats(threshold=1.0, splits={"test": good}, n_off_corpus=0, off_corpus_false_rate=0.0,
                        off_confidences=[], off_false_answers=[])
    assert check_floors(stats, THRESHOLDS, ("generalization", "answers")) == []
    good.evidence_rate = floors["min_evidence_rate"] - 0.01
    failures = check_floors(stats, THRESHOLDS, ("generalization", "answers"))
    assert len(failures) == 1 and failures[0].startswith("generalization/answers evidence_rate")


@pytest.mark.parametrize(("sentence", "kept"), [
    ("제105조 ① 대법원장의 임기는 6년으로 하며, 중임할 수 없다.", "대법원장의 임기는"),
    ("②대법관의 임기는 6년으로 하며", "대법관의 임기는"),
    ("제4조의2(국제결혼중개업체의 공시) ① 시장ㆍ군수ㆍ구청장은", "시장ㆍ군수ㆍ구청장은"),
    ("제5조 제목 외의 부분을 제1항으로 하고", "제5조 제목 외의 부분을"),  # a reference, not a heading
    ("제71조제2항제4호 중", "제71조제2항제4호 중"),
])
def test_legal_prefix_leaves_the_article_heading_and_paragraph_marker_out(sentence: str, kept: str) -> None:
    assert sentence[legal_prefix(sentence):].startswith(kept)

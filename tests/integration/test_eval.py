"""The regression suite on the real index: every question answered, retrieval above the committed thresholds."""

from __future__ import annotations

import json

import pytest

from briefsearch.evaluation.evaluate import (
    THRESHOLDS,
    check_thresholds,
    gated_scores,
    load_questions,
    run_eval,
)


@pytest.fixture(scope="module")
def report(searcher):
    return run_eval(searcher, load_questions(), mode="hybrid")


def test_every_question_has_an_answering_passage(report) -> None:
    """Normalization must not destroy the evidence: each question is answerable by some passage."""
    unreachable = [o.id for o in report.outcomes if o.n_relevant == 0]
    assert not unreachable


def test_retrieval_quality_meets_thresholds(report) -> None:
    """The gate reads the test split; dev (tuned on) is reported beside it."""
    assert report.mode == "hybrid"
    assert set(report.per_split) == {"dev", "test"}
    assert gated_scores(report) is report.per_split["test"]
    assert report.per_split["test"]["n"] + report.per_split["dev"]["n"] == report.n_questions
    assert 100 < report.mean_chars_shown < 2000
    failures = check_thresholds(report, THRESHOLDS)
    assert not failures, failures
    thresholds = json.loads(THRESHOLDS.read_text(encoding="utf-8"))
    # floors of the test split (old test half + fresh questions written after tuning + the English batch of
    # issue 14, which lowered Recall@5 to 0.936), not of tuned-on questions
    assert thresholds["hit_rate@5"] >= 0.93 and thresholds["mrr@10"] >= 0.88


def test_generalization_floors_are_a_section_of_the_same_file(report, tmp_path) -> None:
    """The generalization set's test floors live beside the briefings' in eval/thresholds.json.

    The briefing gate reads only the top-level numbers; a section is read by name
    (``python -m briefsearch.evaluation.generalization`` reads "generalization").
    """
    section = json.loads(THRESHOLDS.read_text(encoding="utf-8"))["generalization"]
    retrieval = {k: v for k, v in section.items() if not isinstance(v, dict)}
    assert set(retrieval) == {"hit_rate@1", "hit_rate@5", "mrr@10", "ndcg@10"}
    assert min(retrieval.values()) >= 0.8
    assert set(section) - set(retrieval) == {"answers"}  # /ask's floors on the set, read by evaluation/answers.py
    floors = tmp_path / "thresholds.json"
    floors.write_text(json.dumps({"hit_rate@1": 0.0, "other": {"hit_rate@1": 1.01, "answers": {"min_x": 1}}}),
                      encoding="utf-8")
    kept = report.failures  # check_thresholds records its verdict on the (session) report
    try:
        assert check_thresholds(report, floors) == []
        failures = check_thresholds(report, floors, "other")
        assert len(failures) == 1 and failures[0].startswith("Recall@1")
    finally:
        report.failures = kept


def test_hybrid_beats_each_side_alone(searcher, report) -> None:
    """The ablation claim, kept true: fusion beats dense and lexical on MRR@10 and Recall@5."""
    questions = load_questions()
    for mode in ("dense", "lexical"):
        alone = run_eval(searcher, questions, mode=mode)
        assert report.overall["mrr@10"] > alone.overall["mrr@10"], mode
        assert report.overall["hit_rate@5"] > alone.overall["hit_rate@5"], mode

"""The gate's metrics (evaluation/metrics.py) on runs worked out by hand; research/evaluation/metrics_vs_ranx.py
checks the same functions against ranx on every eval grouping and 200 random runs."""

from __future__ import annotations

import math

import pytest

from briefsearch.evaluation.metrics import mean_scores, question_scores


def test_first_relevant_at_rank_three_of_two_relevant() -> None:
    scores = question_scores({"a": 1, "b": 1}, {"x": 10.0, "y": 9.0, "a": 8.0, "z": 7.0, "b": 6.0})
    assert scores["hit_rate@1"] == 0.0
    assert scores["hit_rate@3"] == scores["hit_rate@5"] == scores["hit_rate@10"] == 1.0
    assert scores["mrr@10"] == pytest.approx(1 / 3)
    dcg = 1 / math.log2(4) + 1 / math.log2(6)
    assert scores["ndcg@10"] == pytest.approx(dcg / (1 + 1 / math.log2(3)))


def test_order_is_by_score_not_by_insertion() -> None:
    assert question_scores({"a": 1}, {"x": 1.0, "a": 2.0})["mrr@10"] == 1.0


def test_nothing_relevant_within_ten_scores_zero() -> None:
    ranked = {f"x{i}": float(20 - i) for i in range(10)} | {"a": 5.0}  # "a" is 11th
    scores = question_scores({"a": 1}, ranked)
    assert scores == {"hit_rate@1": 0.0, "hit_rate@3": 0.0, "hit_rate@5": 0.0, "hit_rate@10": 0.0,
                      "mrr@10": 0.0, "ndcg@10": 0.0}


def test_ideal_order_counts_at_most_ten_relevant() -> None:
    relevant = {f"r{i}": 1 for i in range(12)}
    ranked = {f"r{i}": float(20 - i) for i in range(10)}
    assert question_scores(relevant, ranked)["ndcg@10"] == pytest.approx(1.0)


def test_mean_over_questions_counts_a_missing_run_as_nothing_found() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "q3": {"-1": 1}}  # q3: evidence in no passage, a miss by design
    run = {"q1": {"a": 2.0, "x": 1.0}, "q2": {"x": 2.0, "b": 1.0}}
    scores = mean_scores(qrels, run, ["q1", "q2", "q3"])
    assert scores["n"] == 3.0
    assert scores["hit_rate@1"] == round(1 / 3, 4) and scores["hit_rate@3"] == round(2 / 3, 4)
    assert scores["mrr@10"] == round(1.5 / 3, 4)
    assert scores["ndcg@10"] == round((1 + 1 / math.log2(3)) / 3, 4)

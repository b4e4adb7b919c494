"""KorQuAD 1.0 dev end to end: the real model, a real index built by the normal build path, the test floors.

The whole set (140 articles, 5,774 questions) is `briefsearch eval --korquad`: its build alone takes
about 4 minutes of an idle 2-core machine (docs/evaluation.md), so the suite runs the same code on a
deterministic subset instead: the first ``SUBSET_ARTICLES`` (24) articles in the split's hash order,
12 dev and 12 test, about 270 passages and 1,100 questions, gated on their own floors ("korquad" /
"subset" in eval/thresholds.json), hybrid retrieval and /ask.
"""

from __future__ import annotations

from collections import Counter

import pytest

from briefsearch.evaluation.evaluate import THRESHOLDS
from briefsearch.evaluation.korquad import SUBSET_ARTICLES, build, evaluate, korquad_settings, load_articles, subset

pytestmark = pytest.mark.slow  # builds its own KorQuAD index


@pytest.fixture(scope="module")
def result(tmp_path_factory, settings, encoder):
    """The subset measured with the session's settings (``encoder``: the model is prepared first)."""
    scratch = tmp_path_factory.mktemp("korquad")
    return evaluate(settings, scratch, articles=SUBSET_ARTICLES, modes=("hybrid",), thresholds=THRESHOLDS,
                    command="pytest tests/integration/test_korquad.py"), scratch


def test_the_subset_meets_its_test_floors(result) -> None:
    measured, _ = result
    assert measured.gate == "korquad/subset"
    assert not measured.failures, measured.failures


def test_every_article_is_a_document_and_every_answer_is_in_a_passage(result) -> None:
    """All chosen articles compete in one index; every gold span lies in some passage of its article."""
    measured, _ = result
    report = measured.retrieval["hybrid"]
    assert measured.index["n_documents"] == SUBSET_ARTICLES and measured.n_articles == {"dev": 12, "test": 12}
    assert measured.index["n_chunks"] > 200
    assert Counter(o.split for o in report.outcomes) == {"dev": 430, "test": 666}
    assert [o.id for o in report.outcomes if o.n_relevant == 0] == []
    assert {o.doc_id for o in report.outcomes} == {a.doc_id for a in subset(load_articles(), SUBSET_ARTICLES)}
    assert set(measured.answers) == {"dev", "test"}
    for stats in measured.answers.values():
        assert not stats.inexact_citations  # an answer's offsets slice the article's file to the cited text


def test_a_second_run_reuses_the_index(result, settings) -> None:
    """Same articles, same settings: nothing to build (the scratch corpus is rewritten only when it changes)."""
    _, scratch = result
    again = build(korquad_settings(settings, scratch), subset(load_articles(), SUBSET_ARTICLES))
    assert again == {"built": False, "state": "fresh"}


def test_the_report_states_the_split_the_gate_and_the_times(result, tmp_path) -> None:
    from briefsearch.evaluation.korquad import write_reports

    measured, _ = result
    json_path, md_path = write_reports(measured, tmp_path)
    text = md_path.read_text(encoding="utf-8")
    assert "12 dev articles (tuned on), 12 test articles (reported, gated)" in text
    assert 'floors: eval/thresholds.json, "korquad/subset"): passed' in text
    assert "answer contains a gold span" in text and "CPU s" in text
    assert json_path.stat().st_size > 10_000

"""The KorQuAD set's loader, split and scratch corpus, without the model: the shipped file is the published one,
other bytes are refused, the split by article is deterministic, and the documents are the articles."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from briefsearch.cli import app
from briefsearch.config import REPO_ROOT, Settings
from briefsearch.evaluation.evaluate import THRESHOLDS, normalize_evidence
from briefsearch.evaluation.korquad import (
    DATASET,
    KORQUAD_DIR,
    SHA256,
    SUBSET_ARTICLES,
    assign_article_splits,
    gate_section,
    korquad_settings,
    load_articles,
    subset,
    write_corpus,
)

SHARED_COPY = REPO_ROOT.parent / "shared" / "data" / "korquad" / "KorQuAD_v1.0_dev.json"


@pytest.fixture(scope="module")
def articles():
    return load_articles()


def test_the_shipped_file_is_the_published_one(articles) -> None:
    """Byte for byte the file SOURCES.md names (its sha256), with the published counts."""
    data = DATASET.read_bytes()
    assert hashlib.sha256(data).hexdigest() == SHA256 and len(data) == 3_881_058
    assert SHA256 in (KORQUAD_DIR / "SOURCES.md").read_text(encoding="utf-8")
    if SHARED_COPY.is_file():  # the team's shared copy, where it exists (not on a clean clone)
        assert SHARED_COPY.read_bytes() == data
    assert len(articles) == 140
    assert sum(len(a.paragraphs) for a in articles) == 964
    questions = [q for a in articles for q in a.questions]
    assert len(questions) == 5774 and len({q.id for q in questions}) == 5774
    assert len({a.doc_id for a in articles}) == 140


def test_split_is_by_article_deterministic_and_even(articles) -> None:
    """Every question is in its article's split; 70 articles each; the same titles give the same split in any order."""
    assert Counter(a.split for a in articles) == {"dev": 70, "test": 70}
    for article in articles:
        assert {q.split for q in article.questions} == {article.split}
        assert {q.doc_id for q in article.questions} == {article.doc_id}
    again = load_articles()
    assert [(a.doc_id, a.split) for a in again] == [(a.doc_id, a.split) for a in articles]
    titles = [entry["title"] for entry in json.loads(DATASET.read_bytes())["data"]]
    assert assign_article_splits(titles[::-1]) == assign_article_splits(titles)
    # pinned: the articles are halved, not the questions (the test articles happen to hold more of them)
    assert Counter(q.split for a in articles for q in a.questions) == {"dev": 2448, "test": 3326}
    with pytest.raises(ValueError, match="unique"):
        assign_article_splits(["가", "가"])


def test_evidence_is_the_answer_text_and_survives_normalization(articles) -> None:
    """The gold answer is the question's evidence; normalized, it is still found in its own paragraph's text."""
    for article in articles:
        text = normalize_evidence(article.text)
        for q in article.questions:
            assert q.evidence and all(normalize_evidence(e) for e in q.evidence), q.id
            assert any(normalize_evidence(e) in text for e in q.evidence), q.id


def test_an_article_is_its_paragraphs_joined_by_blank_lines(articles, tmp_path: Path) -> None:
    article = articles[0]
    assert article.text.split("\n\n")[0] == article.paragraphs[0].strip()
    assert article.text.count("\n\n") == len(article.paragraphs) - 1
    assert "_" not in article.title  # "알렉산더_헤이그" is shown as "알렉산더 헤이그"
    corpus = tmp_path / "corpus"
    write_corpus(articles[:3], corpus)
    manifest = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    assert [d["doc_id"] for d in manifest["documents"]] == [a.doc_id for a in articles[:3]]
    assert manifest["documents"][0]["title"] == article.title
    assert (corpus / f"{article.doc_id}.txt").read_text(encoding="utf-8") == article.text
    stamps = {p.name: p.stat().st_mtime_ns for p in corpus.iterdir()}
    write_corpus(articles[:3], corpus)  # unchanged: nothing rewritten, so a rebuild reuses every passage
    assert {p.name: p.stat().st_mtime_ns for p in corpus.iterdir()} == stamps
    write_corpus(articles[1:3], corpus)  # an article no longer chosen leaves the corpus
    assert not (corpus / f"{article.doc_id}.txt").exists()


def test_subset_is_deterministic_and_alternates_splits(articles) -> None:
    chosen = subset(articles, 20)
    assert len(chosen) == 20 and Counter(a.split for a in chosen) == {"dev": 10, "test": 10}
    assert [a.doc_id for a in subset(load_articles(), 20)] == [a.doc_id for a in chosen]
    assert {a.doc_id for a in subset(articles, 10)} < {a.doc_id for a in chosen}  # a smaller subset is inside it
    assert subset(articles, None) is articles
    with pytest.raises(ValueError, match="at least 2"):
        subset(articles, 1)


def test_an_altered_file_is_refused_with_its_checksum(tmp_path: Path) -> None:
    data = bytearray(DATASET.read_bytes())
    data[-10] ^= 0x01
    altered = tmp_path / "KorQuAD_v1.0_dev.json"
    altered.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"sha256 [0-9a-f]{64} is not the published .* unmodified"):
        load_articles(altered)
    with pytest.raises(ValueError, match="cannot read"):
        load_articles(tmp_path / "missing.json")


@pytest.mark.parametrize(("content", "message"), [
    (b"\xff\xfe not json", "not JSON"),
    (b"[1, 2]", "no 'data' list"),
    (b'{"data": []}', "no 'data' list"),
    (b'{"data": [{"title": "A"}]}', "article 0: missing or malformed 'paragraphs'"),
    (b'{"data": [{"title": "A", "paragraphs": [{"context": "x", "qas": [{"id": "1", "question": "q?", '
     b'"answers": []}]}]}]}', r"article 0 \(A\) question 1: needs a question and answer texts"),
    (b'{"data": [{"title": "", "paragraphs": [{"context": "x", "qas": []}]}]}', "needs a title"),
])
def test_a_malformed_file_gets_a_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as caught:
        load_articles(path, sha256=None)  # the checksum would refuse it first; here the parser's messages
    assert "KorQuAD 1.0 dev" in str(caught.value)


def test_the_floors_are_a_section_of_the_thresholds() -> None:
    """The whole set's floors, and the CI subset's inside them, each with retrieval and /ask floors."""
    section = json.loads(THRESHOLDS.read_text(encoding="utf-8"))["korquad"]
    assert {k for k, v in section.items() if isinstance(v, dict)} == {"answers", "subset"}
    for floors in (section, section["subset"]):
        retrieval = {k: v for k, v in floors.items() if not isinstance(v, dict)}
        assert set(retrieval) == {"hit_rate@1", "hit_rate@5", "mrr@10", "ndcg@10"}
        assert all(0.5 < v < 1 for v in retrieval.values())
        assert set(floors["answers"]) == {"min_evidence_rate", "max_wrong_answer_rate"}
    assert gate_section(None) == ("korquad",) and gate_section(SUBSET_ARTICLES) == ("korquad", "subset")
    assert gate_section(10) is None  # another subset has no floors: reported, not gated


def test_the_callers_settings_flow_through_to_the_scratch_index(tmp_path: Path) -> None:
    """Encoder, ranking and answer settings are the caller's; only the data and corpus dirs are the scratch's."""
    base = Settings(data_dir=tmp_path / "base").tuned(ranking={"dense_weight": 0.37}, answer={"threshold": 0.5})
    base = base.model_copy(update={"encoder_backend": "torch", "model": "some/encoder"})
    scratch = korquad_settings(base, tmp_path / "kq")
    assert scratch.data_dir == (tmp_path / "kq").resolve() and scratch.corpus_dir == scratch.data_dir / "corpus"
    assert (scratch.models_dir).resolve() == base.models_dir.resolve()  # the prepared model, shared
    same = {k for k in Settings.model_fields if k not in ("data_dir", "corpus_dir")}
    assert {k: getattr(scratch, k) for k in same} == {k: getattr(base, k) for k in same}


def test_cli_refuses_korquad_with_a_question_file_or_a_mode_before_loading_anything(tmp_path: Path) -> None:
    runner = CliRunner()
    for extra in (["--questions", str(tmp_path / "q.jsonl")], ["--mode", "dense"]):
        result = runner.invoke(app, ["--data-dir", str(tmp_path), "eval", "--korquad", *extra])
        assert result.exit_code == 2, result.output
    floors = tmp_path / "floors.json"
    floors.write_text(json.dumps({"hit_rate@1": 0.5}), encoding="utf-8")
    result = runner.invoke(app, ["--data-dir", str(tmp_path), "eval", "--korquad", "--thresholds", str(floors)])
    assert result.exit_code == 4 and re.search(r"no 'korquad' section", result.output), result.output

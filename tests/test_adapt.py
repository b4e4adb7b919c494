"""Encoder adaptation (embedding/adapt.py): real model, a real one-briefing corpus, a few real training steps.

What it measures is in eval/reports/encoder-adaptation.md; these tests check the machinery: the
pairs it trains on, that the adapted folder is written with its manifest, and that
``model = "adapted"`` loads it and embeds.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from briefsearch.config import Settings
from briefsearch.embedding.adapt import (
    MANIFEST_FILE,
    adapt_model,
    batches,
    corpus_chunks,
    epoch_pairs,
    heading_pairs,
    ict_candidates,
)
from briefsearch.embedding.encoder import DEFAULT_MODEL_DIRNAME, Encoder
from briefsearch.embedding.model_prep import source_checksum
from briefsearch.errors import ModelError
from briefsearch.text.bullets import bullet_prefix

DOC = "000_b57bb989019f2633"  # the smallest briefing: 37 passages


@pytest.fixture(scope="module")
def small(settings: Settings, encoder, one_document, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """One real briefing, with its own models folder (the prepared base model linked in), so the adapted
    model and its exports stay out of the session's."""
    small = one_document(settings, tmp_path_factory.mktemp("adapt"), DOC, adapt_batch_size=4, adapt_max_steps=2,
                         adapt_max_tokens=64, adapt_threads=1, encoder_backend="torch")
    small.models_dir.unlink()
    small.models_dir.mkdir()
    (small.models_dir / DEFAULT_MODEL_DIRNAME).symlink_to(settings.models_dir / DEFAULT_MODEL_DIRNAME)
    return small


@pytest.fixture(scope="module")
def chunks(small: Settings, encoder, korean):
    return corpus_chunks(small, encoder.count_tokens, korean)


def test_ict_pairs_hold_out_their_sentence(chunks) -> None:
    """A pseudo-query is a sentence of one passage only, without its bullet, and is not in its positive."""
    candidates = ict_candidates(chunks)
    assert len(candidates) >= 10
    texts = [c.text for c in chunks]
    for i, pairs in candidates.items():
        assert chunks[i].kind == "text"
        for pair in pairs:
            assert bullet_prefix(pair.query) == 0
            assert pair.query not in pair.positive
            assert sum(pair.query in t for t in texts) == 1  # overlap sentences would be false negatives
            assert pair.positive.startswith(chunks[i].context or chunks[i].title)


def test_batches_never_hold_two_pairs_of_one_passage(chunks) -> None:
    pairs = epoch_pairs(ict_candidates(chunks), heading_pairs(chunks), random.Random(0))
    pairs += pairs[:6]  # twins: they must go to later batches
    out = batches(pairs, 8)
    assert all(len({p.group for p in batch}) == len(batch) for batch in out)
    assert sum(len(b) for b in out) >= len(pairs) - 1


def test_adapted_model_is_saved_with_its_manifest_and_loads(small: Settings, encoder) -> None:
    report = adapt_model(small, progress=False)
    folder = Path(report.folder)
    assert folder == small.models_dir / "e5-small-adapted"
    manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest["steps"] == 2 and len(manifest["losses"]) == 2
    assert manifest["pairs"]["ict"] == 8 and manifest["seed"] == small.adapt_seed
    assert manifest["base_checksum"] == source_checksum()
    assert len(manifest["corpus_fingerprint"]) == 64 and manifest["documents"] == 1
    assert not list(small.models_dir.glob(".e5-small-adapted.tmp-*"))

    adapted = Encoder(small.model_copy(update={"model": "adapted"}), progress=False)
    assert adapted.identity["name"] == "e5-small-adapted"
    assert adapted.identity["checksum"] != encoder.identity["checksum"]
    assert adapted.max_seq_length == 512  # training used 64 tokens; the saved model keeps the base's window
    texts = ["광둥성의 범용 AI 산업 목표", "강서성 미래산업 발전 투자기금 규모"]
    vectors = adapted.encode_passages(texts, progress=False)
    assert vectors.shape == (2, encoder.dim)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    base = encoder.encode_passages(texts, progress=False)
    cosines = np.sum(vectors * base, axis=1)
    assert np.all(cosines < 0.999999) and np.all(cosines > 0.9)  # moved by two steps, not wrecked
    assert adapted.encode_queries(["미래산업 투자기금"]).shape == (1, encoder.dim)


def test_adapted_model_missing_is_a_model_error(settings: Settings, tmp_path: Path) -> None:
    empty = settings.model_copy(update={"data_dir": tmp_path, "model": "adapted"})
    with pytest.raises(ModelError, match="model adapt"):
        Encoder(empty, progress=False)

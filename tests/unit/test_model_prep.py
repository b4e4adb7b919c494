"""Preparing the default model fails safely: a foreign tokenizer or folder is refused and nothing is left behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from briefsearch.embedding import model_prep
from briefsearch.embedding.model_prep import prepare_default_model


def test_failed_build_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tokenizer that does not belong to the weights is refused, and nothing is left behind."""
    wrong = tmp_path / "tokenizer.json"
    wrong.write_text(json.dumps({"model": {"vocab": [["<s>", 0.0], ["<pad>", 0.0]]}}), encoding="utf-8")
    monkeypatch.setattr(model_prep, "tokenizer_path", lambda: wrong)
    with pytest.raises(ValueError, match="does not match the vocabulary"):
        prepare_default_model(tmp_path / "e5", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".e5.lock", "tokenizer.json"]


def test_refuses_to_replace_foreign_folder(tmp_path: Path) -> None:
    """A wrong path (say, the data dir) must not be swapped out and deleted."""
    (tmp_path / "e5").mkdir()
    (tmp_path / "e5" / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(FileExistsError):
        prepare_default_model(tmp_path / "e5", progress=False)
    assert [p.name for p in (tmp_path / "e5").iterdir()] == ["notes.txt"]

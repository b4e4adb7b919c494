"""Which model folder takes the fast path, read from its configuration files alone (no model is loaded)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from briefsearch.embedding.onnx_backend import read_folder_config


def _write_model_configs(folder: Path, modules: list[str], pooling: dict, sbert: dict | None = None) -> Path:
    folder.mkdir()
    (folder / "modules.json").write_text(json.dumps([
        {"idx": i, "name": str(i), "path": "" if kind == "Transformer" else f"{i}_{kind}",
         "type": f"sentence_transformers.models.{kind}"} for i, kind in enumerate(modules)]))
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    (folder / "config.json").write_text(json.dumps({"hidden_size": 8, "max_position_embeddings": 514}))
    (folder / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 1000}))
    if sbert is not None:
        (folder / "sentence_bert_config.json").write_text(json.dumps(sbert))
    return folder


@pytest.mark.parametrize(("modules", "pooling", "sbert", "expected"), [
    (["Transformer", "Pooling", "Normalize"], {"word_embedding_dimension": 8, "pooling_mode_mean_tokens": True},
     {"max_seq_length": 128}, (8, 128)),
    (["Transformer", "Pooling"], {"embedding_dimension": 8, "pooling_mode": "mean"}, None, (8, 514)),
    (["Transformer", "Pooling"], {"embedding_dimension": 8}, {"max_seq_length": None}, (8, 514)),
    (["Transformer", "Pooling"], {"embedding_dimension": 8, "pooling_mode": "cls"}, None, None),
    (["Transformer", "Pooling"], {"word_embedding_dimension": 8, "pooling_mode_cls_token": True}, None, None),
    (["Transformer", "Pooling"], {"embedding_dimension": 8, "pooling_mode": ["mean", "max"]}, None, None),
    (["Transformer", "Pooling", "Dense", "Normalize"], {"embedding_dimension": 8}, None, None),
])
def test_folder_config_decides_the_fast_path(tmp_path: Path, modules, pooling, sbert, expected) -> None:
    """Only Transformer + mean pooling (+ Normalize) is what the graph computes; anything else loads torch."""
    config = read_folder_config(_write_model_configs(tmp_path / "m", modules, pooling, sbert))
    assert (None if config is None else (config.dim, config.max_seq_length)) == expected

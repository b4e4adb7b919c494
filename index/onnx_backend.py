"""ONNX Runtime backend for the encoder: the same weights and vectors, about twice as fast on this CPU.

Measured here (one thread, one query): torch 40 ms, ONNX Runtime fp32 18–20 ms
with cosine 1.0000 to torch, ONNX int8 (dynamic quantization) 8 ms with cosine
0.987 — int8 changes the vectors, so it is a separate model identity and needs
its own index. The graph is exported once from the loaded sentence-transformers
model (BERT-style encoder + mean pooling + L2 normalization) and cached next to
the model; export and quantization write to a temporary file and rename.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import numpy as np

from index.errors import ModelError


def supports_onnx(model) -> bool:
    """Only mean-pooled models are exported: the graph includes the pooling."""
    pooling = model[1] if len(model) > 1 else None
    mode = getattr(pooling, "pooling_mode", None)  # sentence-transformers >= 6: "mean", "cls", ...
    if isinstance(mode, str):
        return mode == "mean"
    return bool(getattr(pooling, "pooling_mode_mean_tokens", False)) and not any(
        getattr(pooling, f"pooling_mode_{m}", False) for m in ("cls_token", "max_tokens", "lasttoken")
    )


def export(model, path: Path, int8: bool) -> Path:
    """Export (and optionally int8-quantize) once; later calls return the cached file."""
    if path.is_file():
        return path
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    fp32 = path.with_name("model.onnx")
    if not fp32.is_file():
        bert = model[0].auto_model.eval()

        class MeanPooled(torch.nn.Module):
            def __init__(self, encoder: torch.nn.Module) -> None:
                super().__init__()
                self.encoder = encoder

            def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
                hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                return torch.nn.functional.normalize(pooled, p=2, dim=1)

        example = model.tokenizer(["query: 예시 문장"], return_tensors="pt")
        tmp = fp32.with_name(f".{fp32.name}.{secrets.token_hex(4)}")
        try:
            torch.onnx.export(MeanPooled(bert).eval(), (example["input_ids"], example["attention_mask"]), str(tmp),
                              input_names=["input_ids", "attention_mask"], output_names=["embedding"],
                              dynamic_axes={"input_ids": {0: "batch", 1: "seq"},
                                            "attention_mask": {0: "batch", 1: "seq"}, "embedding": {0: "batch"}},
                              opset_version=17, dynamo=False)
            os.replace(tmp, fp32)
        except Exception as exc:
            tmp.unlink(missing_ok=True)
            raise ModelError(f"ONNX export failed: {exc}") from exc
    if int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        try:
            quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return path


class OnnxSession:
    """An ONNX Runtime session returning L2-normalized sentence embeddings; safe to call from many threads."""

    def __init__(self, path: Path, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        out = self.session.run(None, {"input_ids": input_ids.astype(np.int64),
                                      "attention_mask": attention_mask.astype(np.int64)})[0]
        return np.ascontiguousarray(out, dtype=np.float32)

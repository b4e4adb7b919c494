"""The multilingual encoder: loading, ONNX backend, micro-batching, the embedding cache, offline model preparation."""

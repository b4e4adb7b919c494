"""The query path: dense, lexical and sentence signals fused into one ranking."""

"""The on-disk index: versions and manifest, dense vectors (FAISS), lexical index (BM25)."""

"""A persistent cache of passage embeddings, so a rebuild embeds only text it has not seen.

Keyed by the exact model input (prefix included) and stored per model identity
(one SQLite file per model checksum), so vectors of another model are never
mixed in. SQLite gives atomic, crash-safe writes and lets the CLI and the
service share the cache.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterable
from contextlib import closing
from pathlib import Path

import numpy as np

EncodeFn = Callable[[list[str]], np.ndarray]


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


class EmbeddingCache:
    """``text -> float32 vector`` for one model."""

    def __init__(self, directory: Path, model_identity: dict) -> None:
        ident = hashlib.sha256(f"{model_identity['checksum']}:{model_identity['dim']}".encode()).hexdigest()[:16]
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"embeddings-{ident}.sqlite"
        self.dim = int(model_identity["dim"])
        with closing(self._connect()) as db, db:
            db.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=60)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def get_many(self, texts: Iterable[str]) -> dict[str, np.ndarray]:
        wanted = {text_key(t): t for t in texts}
        found: dict[str, np.ndarray] = {}
        keys = list(wanted)
        with closing(self._connect()) as db:
            for i in range(0, len(keys), 500):
                batch = keys[i : i + 500]
                rows = db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({','.join('?' * len(batch))})",
                                  batch).fetchall()
                for key, blob in rows:
                    vector = np.frombuffer(blob, dtype=np.float32)
                    if vector.shape == (self.dim,):
                        found[wanted[key]] = vector
        return found

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        if not items:
            return
        rows = [(text_key(t), np.ascontiguousarray(v, dtype=np.float32).tobytes()) for t, v in items.items()]
        with closing(self._connect()) as db, db:
            db.executemany("INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)", rows)

    def __len__(self) -> int:
        with closing(self._connect()) as db:
            return int(db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])


def encode_with_cache(texts: list[str], encode: EncodeFn, cache: EmbeddingCache | None, dim: int,
                      known: dict[str, np.ndarray] | None = None) -> tuple[np.ndarray, int]:
    """Vectors for ``texts`` in order, embedding only those neither cached nor ``known``.

    Returns the matrix and how many texts were actually embedded.
    """
    if not texts:
        return np.zeros((0, dim), dtype=np.float32), 0
    distinct = list(dict.fromkeys(texts))
    have: dict[str, np.ndarray] = cache.get_many(distinct) if cache is not None else {}
    # vectors of the previous index the cache lacks (an index built before the cache existed)
    recovered = {t: (known or {})[t] for t in distinct if t not in have and t in (known or {})}
    have.update(recovered)
    missing = [t for t in distinct if t not in have]
    fresh: dict[str, np.ndarray] = {}
    if missing:
        vectors = encode(missing)
        fresh = {t: vectors[i] for i, t in enumerate(missing)}
        have.update(fresh)
    if cache is not None:
        cache.put_many({**recovered, **fresh})
    out = np.stack([have[t] for t in texts]).astype(np.float32, copy=False)
    return np.ascontiguousarray(out), len(missing)

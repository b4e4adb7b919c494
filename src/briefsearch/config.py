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

from pydantic import Field, field_validator, model_validator
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
ADAPTED_MODEL = "adapted"  # the default model fine-tuned on the corpus by `briefsearch model adapt`
ADAPTED_DIRNAME = "e5-small-adapted"  # its folder under models_dir
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
        description="'default' (offline e5-small from packages), 'adapted' (that model fine-tuned on the corpus by "
        "`briefsearch model adapt`, in models_dir/e5-small-adapted), a sentence-transformers id, or a local path.",
    )
    adapt_pairs: Literal["ict", "ict+heading"] = Field(
        "ict", description="Training pairs of `model adapt`: inverse cloze (a sentence -> its passage without it), "
        "plus section heading -> the section's first passage (research/encoder-adaptation/encoder-adaptation.md).")
    adapt_learning_rate: float = Field(2e-5, gt=0, le=1e-3, description="AdamW learning rate of `model adapt`.")
    adapt_epochs: int = Field(1, ge=1, le=50, description="Passes over the corpus's pairs (one sentence drawn per "
                              "passage per pass).")
    adapt_batch_size: int = Field(16, ge=2, le=256, description="Pairs per step; the other pairs of a batch are "
                                  "the negatives.")
    adapt_warmup: float = Field(0.1, ge=0, lt=1, description="Share of steps the learning rate warms up over.")
    adapt_max_tokens: int = Field(256, ge=32, le=512, description="Tokens per text while training (memory and time "
                                  "grow with it); the saved model keeps the base model's 512.")
    adapt_max_steps: int = Field(0, ge=0, description="Stop `model adapt` after this many steps (0: all epochs).")
    adapt_seed: int = Field(13, description="Seed of pair sampling, batch order and dropout.")
    adapt_threads: int = Field(2, ge=1, le=64, description="torch threads while training (large matmuls, unlike "
                               "single queries, gain from a second core).")
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
    chunk_split: Literal["greedy", "balanced"] = Field(
        "greedy", description="A section over the budget: greedy fills each passage (the last one often short); "
        "balanced cuts it into the fewest near-equal parts that fit (research/passage-granularity/chunking-sweep.md).")
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
    window_weight: float = Field(
        0.0, ge=0.0, le=1.0, description="Share of a passage's dense score taken from its best window of "
        "window_sentences consecutive sentences (cosine to the normalized mean of their stored vectors; "
        "retrieval/sentence_window.py), beside the sentence share (0: off). Together with sentence_weight (and "
        "crosslingual_sentence_weight) at most 1. Off: w 2-3 x 0.1-0.4, beside or instead of the sentence share, "
        "is flat on pooled dev (best +0.0004 MRR@10) and lower on briefings test and English test: "
        "research/sentence-signals/ranking-sentence-windows.md.")
    window_sentences: int = Field(2, ge=2, le=8, description="Consecutive sentences of a passage in one window of "
                                  "the window signal (a passage with fewer is one window).")
    coverage_fusion: bool = Field(
        False, description="Scale the lexical weight by the share of query terms BM25 knows (English queries "
        "lean dense); measured on dev and test: research/fusion-and-ranking/ranking-ablation.md.")
    crosslingual_dense_only: bool = Field(
        True, description="Search a question whose letters are mostly Latin (crosslingual_latin_share) on the "
        "dense side alone (aliases still append Korean names to what is embedded). On: with 16 English dev "
        "questions it won dev (MRR@10 0.868 -> 0.888, Recall@1 0.798 -> 0.837 over all 104 dev questions); "
        "answer_threshold_crosslingual was re-calibrated for it (research/crosslingual/crosslingual-dev-sweep.md).")
    query_analysis: bool = Field(
        False, description="Lexical query without interrogatives and light verbs, quoted names counted twice "
        "(retrieval/query.py); measured: research/fusion-and-ranking/ranking-ablation.md.")
    query_aliases: bool = Field(
        True, description="Append the Korean name of aliases the query names (mined from 한글(原文) pairs, Hanzi "
        "also as pinyin; retrieval/aliases.py); dev unchanged, test +1 question at rank 1: "
        "research/fusion-and-ranking/ranking-ablation.md.")
    late_interaction: bool = Field(
        False, description="Store every passage's e5 token states at build (tokens.npy) and load the encoder "
        "graph that outputs them, for the late-interaction second stage (ONNX backends only).")
    rerank_weight: float = Field(
        0.0, ge=0.0, le=1.0, description="Weight of the late-interaction MaxSim over e5 token states in the "
        "second stage of hybrid search (0: off; needs late_interaction; retrieval/late_interaction.py); swept on "
        "both sets' dev; it did not hold on the generalization test set: "
        "research/second-stage/ranking-second-stage-*.md.")
    rerank_depth: int = Field(30, ge=2, le=200, description="Fused candidates the second stage reorders (not "
                              "swept yet).")
    fusion_depth: int = Field(100, ge=10, le=1000, description="Candidates taken from each side before fusion.")
    prf_weight: float = Field(
        0.0, ge=0.0, le=2.0, description="Dense pseudo-relevance feedback (retrieval/feedback.py): the query vector "
        "moves by this weight towards the mean of the first search's top prf_depth fused passages, and the dense "
        "side is searched again (0: off). Off: on both sets' pooled dev 0 wins (the generalization dev set loses at "
        "every weight): research/fusion-and-ranking/ranking-round3.md.")
    prf_depth: int = Field(3, ge=1, le=50, description="Top fused passages whose vectors feed back into the query.")
    smooth_weight: float = Field(
        0.0, ge=0.0, le=1.0, description="Structure smoothing (retrieval/smoothing.py): a fused score gains this "
        "share of the best other candidate's score in its group (0: off). Off: dev picks 0, and the laws and "
        "bills lose on test (sections repeat across documents): research/fusion-and-ranking/ranking-round3.md.")
    smooth_level: int = Field(0, ge=0, le=6, description="The group smoothing shares within: 0 the document, n "
                              "the first n levels of the section path.")
    agreement_floor: float = Field(
        1.0, ge=0.0, le=1.0, description="Share of the lexical weight kept when the dense and lexical tops do "
        "not overlap at all; the rest grows with their overlap (1: off; retrieval/fusion.py agreement_weights); "
        "off: 0.75 won pooled dev by 0.001 MRR@10 and lost on briefings test: "
        "research/fusion-and-ranking/ranking-round3.md.")
    agreement_depth: int = Field(10, ge=1, le=100, description="Top passages of each side compared for agreement.")
    sentence_lexical_weight: float = Field(
        0.0, ge=0.0, le=1.0, description="Share of the lexical weight given to a third ranking, passages by their "
        "best sentence's BM25 (retrieval/sentence_lexical.py; 0: off). Off: 0.2 won pooled dev and lost on both "
        "test sets: research/fusion-and-ranking/ranking-round3-sentence-lexical-weight.md.")
    latin_lexical_slope: float = Field(
        0.0, ge=0.0, le=1.0, description="The lexical weight times (1 - slope x the query's Latin-letter share) "
        "(retrieval/fusion.py latin_weights; 0: off). Off: on top of crosslingual_dense_only flat on dev (16 English "
        "dev questions); alone, 1.0 only ties dense-only: research/crosslingual/crosslingual-dev-sweep.md.")
    crosslingual_sentence_weight: float | None = Field(
        0.6, ge=0.0, le=1.0, description="sentence_weight for a cross-lingual question (None: sentence_weight). "
        "0.6 won dev on top of the term bridge (alone it does not move dev): "
        "research/crosslingual/crosslingual-round2.md.")
    crosslingual_rerank_weight: float | None = Field(
        None, ge=0.0, le=1.0, description="rerank_weight for a cross-lingual question (None: rerank_weight; needs "
        "late_interaction). Unset: 0.4 gained dev +0.005 MRR@10 but needs token states at build, off by default "
        "(and read on test it lost): research/crosslingual/crosslingual-round2.md.")
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
    crosslingual_prf_weight: float = Field(
        0.0, ge=0.0, le=1.0, description="Fusion weight of a BM25 ranking by the Korean terms the top dense "
        "passages share (cross-lingual pseudo-relevance feedback, retrieval/crosslingual.py; 0: off). Off: every "
        "weight lost dev: research/crosslingual/crosslingual-round2.md.")
    crosslingual_prf_depth: int = Field(3, ge=2, le=20, description="Top dense passages the cross-lingual "
                                        "feedback reads.")
    crosslingual_prf_terms: int = Field(10, ge=1, le=100, description="Korean terms the cross-lingual feedback "
                                        "keeps.")
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
        "fused-score margin over the next (capped; answer_margin_weight is the Korean questions' own); chosen with "
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
    answer_margin_weight: float = Field(0.0, ge=0, le=1, description="Weight of the first passage's fused-score "
                                        "margin over the next in the confidence (chosen on dev).")
    answer_unseen_weight: float = Field(0.0, ge=0, le=1, description="Weight, subtracted in the confidence, of the "
                                        "idf-weighted share of the question's terms the corpus never uses (chosen "
                                        "on dev: research/answers/answers-calibration.md).")
    answer_figure_weight: float = Field(0.0, ge=0, le=1, description="Subtracted in the confidence when a figure "
                                        "question (몇, 얼마, 규모는; how many) gets a best sentence stating no figure. "
                                        "0: dev chose 0.02-0.05, which did not hold on test "
                                        "(research/answers/answers-round3.md).")
    answer_names_weight: float = Field(0.0, ge=0, le=1, description="Weight, subtracted in the confidence, of the "
                                       "share of the question's names the answering passage does not mention. "
                                       "0: dev chose 0.2, which did not hold on test "
                                       "(research/answers/answers-round3.md).")
    answer_agreement_weight: float = Field(0.0, ge=0, le=1, description="Weight of the rankers' agreement on the "
                                           "first passage (1/worse of its dense and lexical ranks) in the "
                                           "confidence (0, chosen on dev: research/answers/answers-calibration.md).")
    answer_figure_choice_weight: float = Field(0.0, ge=0, le=1, description="Added to a sentence's score when the "
                                               "question asks for a figure and the sentence states one (0: no dev "
                                               "change at 0.02-0.1, research/answers/answers-calibration.md).")
    answer_named_document: bool = Field(False, description="A question citing a statute or bill by title "
                                        "(answer/named_document.py) is answered from the first retrieved passage of "
                                        "that document when the top k holds one (off: on dev it moved one answer to "
                                        "the cited bill's identical passage, no evidence change; "
                                        "research/answers/answers-round5.md).")
    answer_noun_switch: float = Field(0.0, ge=0, le=1, description="When above 0: the second retrieved passage "
                                      "answers instead of the first when it holds a larger idf-weighted share of "
                                      "the question's nouns (answer/salience.py salient_nouns) by more than this "
                                      "(0: off; briefings dev evidence up, the laws' dev wrong answers up: "
                                      "research/answers/answers-round5.md).")
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
    sentence_vectors: Literal["pooled", "separate"] = Field(
        "separate", description="Answer sentence vectors: 'pooled' from the passage pass's own token states (mean "
        "over each sentence's tokens; one forward pass), or 'separate' (each sentence embedded on its own, a second "
        "pass). Measured: bench/build_throughput.md.")
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

    @model_validator(mode="after")
    def _dense_shares(self) -> Settings:
        """The sentence and window shares of a passage's dense score cannot exceed the whole of it."""
        for name in ("sentence_weight", "crosslingual_sentence_weight"):
            share = getattr(self, name)
            if self.window_weight and share is not None and share + self.window_weight > 1 + 1e-9:
                raise ValueError(f"{name} ({share}) + window_weight ({self.window_weight}) must be at most 1")
        return self

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

"""Unsupervised adaptation of the encoder to the corpus: inverse-cloze fine-tuning, no labelled question.

Why: most dense misses lose to another passage of the right document, a ceiling of the
general-purpose encoder. Inverse cloze (Lee et al. 2019) turns the corpus itself into training
pairs: one sentence of a passage is the pseudo-query (``query: `` prefix) and the passage
without that sentence is its positive (``passage: `` prefix), against the other passages of the
batch (in-batch negatives, the loss of sentence-transformers' MultipleNegativesRankingLoss).
Optionally a section heading is a pseudo-query for its section's first passage. No eval
question is ever read here. The word-embedding matrix (250k rows) stays frozen: it keeps the
cross-lingual token space of the tokens this corpus never shows, and saves its optimizer state.

The result is an ordinary sentence-transformers folder (``settings.models_dir / ADAPTED_DIRNAME``,
selected with ``model = "adapted"``), written atomically with a manifest of what made it; the
ONNX graph is exported into ``models_dir/onnx`` at first load, like any local model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from briefsearch.build.library import Library
from briefsearch.chunking.chunker import Chunker, body_start
from briefsearch.config import ADAPTED_DIRNAME, ADAPTED_MODEL, DEFAULT_MODEL, Settings
from briefsearch.embedding.encoder import Encoder, configure_threads
from briefsearch.errors import CorpusError
from briefsearch.ingest.sources import read_source
from briefsearch.structure.parser import parse_document
from briefsearch.text.bullets import bullet_prefix
from briefsearch.text.korean import KoreanText
from briefsearch.types import Chunk

log = logging.getLogger(__name__)
MANIFEST_FILE = "briefsearch_adapted.json"
_MIN_QUERY_CHARS = 12  # shorter "sentences" are list fragments or figures, not something a reader would ask
_SCALE = 20.0  # cosine -> logit scale of MultipleNegativesRankingLoss (its default)


@dataclass(frozen=True, slots=True)
class Pair:
    """A pseudo-query and its positive, both without prefixes; ``group`` keeps a batch free of twins."""

    query: str
    positive: str
    group: str
    kind: str  # "ict" | "heading"


def corpus_chunks(settings: Settings, count_tokens, korean: KoreanText) -> list[Chunk]:
    """The passages the index would hold for the data dir's library, chunked exactly as a build does."""
    chunker = Chunker(count_tokens, korean, settings.max_chunk_tokens, settings.overlap_sentences,
                      settings.passage_prefix, settings.chunk_split)
    chunks: list[Chunk] = []
    for entry in Library(settings).entries():
        source = read_source(entry.path)
        chunks.extend(chunker.chunk(entry.meta, source, parse_document(source, joiner=korean.needs_space)))
    return chunks


def ict_candidates(chunks: list[Chunk]) -> dict[int, list[Pair]]:
    """Per passage, every (sentence, passage without it) pair it offers.

    Only body text (not tables, not 요약 passages, which restate the body), only passages of two
    sentences or more, and only sentences found in no other passage: the sentence repeated as
    overlap by the next passage, or restated in a summary, would make that passage a false negative;
    nor a caption naming the section, which the positive keeps in its section path.
    """
    seen: dict[str, int] = {}
    for chunk in chunks:
        for a, b, *_ in chunk.sentences:
            text = chunk.text[a:b].strip()
            seen[text] = seen.get(text, 0) + 1
    out: dict[int, list[Pair]] = {}
    for i, chunk in enumerate(chunks):
        start = body_start(chunk)
        if chunk.kind != "text" or start is None or len(chunk.sentences) < 2:
            continue
        pairs = []
        for a, b, *_ in chunk.sentences:
            sentence = chunk.text[a:b].strip()
            query = sentence[bullet_prefix(sentence):]  # a reader's question carries no "■ " or "- "
            if len(query) < _MIN_QUERY_CHARS or seen[sentence] > 1 or query in chunk.embed_text[:start]:
                continue  # too short, repeated elsewhere, or a caption that is also the section's name
            rest = chunk.embed_text[: start + a].rstrip() + " " + chunk.embed_text[start + b :].lstrip()
            pairs.append(Pair(query, rest.strip(), f"{chunk.doc_id}#{i}", "ict"))
        if pairs:
            out[i] = pairs
    return out


def heading_pairs(chunks: list[Chunk]) -> list[Pair]:
    """A section's own heading -> its first passage's body (context and section path left out,
    or the heading would be in the positive verbatim; captions repeated in their table are skipped);
    one per section, so no two share a batch."""
    out: dict[str, Pair] = {}
    for chunk in chunks:
        if chunk.kind != "text" or not chunk.section_path:
            continue
        heading = chunk.section_path[-1].strip()
        key = f"{chunk.doc_id}#{chunk.section}"
        if len(heading) >= _MIN_QUERY_CHARS and key not in out and heading not in chunk.text:  # a caption row
            out[key] = Pair(heading, chunk.text, key, "heading")
    return list(out.values())


def epoch_pairs(ict: dict[int, list[Pair]], headings: list[Pair], rng: random.Random) -> list[Pair]:
    """One epoch: each passage once with one of its sentences drawn at random, plus the heading pairs."""
    pairs = [rng.choice(options) for options in ict.values()] + headings
    rng.shuffle(pairs)
    return pairs


def batches(pairs: list[Pair], size: int) -> list[list[Pair]]:
    """Consecutive batches in which no two pairs share a group (a twin moves to the next batch)."""
    out: list[list[Pair]] = []
    pending = list(pairs)
    while pending:
        batch, groups, rest = [], set(), []
        for pair in pending:
            if len(batch) < size and pair.group not in groups:
                batch.append(pair)
                groups.add(pair.group)
            else:
                rest.append(pair)
        out.append(batch)
        pending = rest
    return [b for b in out if len(b) > 1]  # one pair has no negative


def corpus_fingerprint(chunks: list[Chunk]) -> str:
    """sha256 over the passages trained on: a changed corpus gives another fingerprint."""
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk.embed_text.encode("utf-8"))
        digest.update(b"\x1e")
    return digest.hexdigest()


@dataclass(slots=True)
class AdaptReport:
    """What ``adapt_model`` did: recorded in the folder's manifest and printed by the CLI."""

    folder: str
    base_model: str
    base_checksum: str
    corpus_fingerprint: str
    documents: int
    passages: int
    pairs: dict[str, int]
    steps: int
    epochs: int
    batch_size: int
    learning_rate: float
    warmup_share: float
    max_tokens: int
    seed: int
    threads: int
    frozen: list[str]
    losses: list[float]
    train_seconds: float


def _base_settings(settings: Settings) -> Settings:
    """The model adaptation starts from: the configured one, or the default when 'adapted' is configured."""
    return settings.model_copy(update={"model": DEFAULT_MODEL}) if settings.model == ADAPTED_MODEL else settings


def adapted_folder(settings: Settings) -> Path:
    """Where the adapted model lives (``model = "adapted"`` loads it from here)."""
    return settings.models_dir / ADAPTED_DIRNAME


def adapt_model(settings: Settings, out_dir: Path | None = None, progress: bool = True) -> AdaptReport:
    """Fine-tune a copy of the configured encoder on inverse-cloze pairs of the data dir's corpus.

    Writes a sentence-transformers folder to ``out_dir`` (default ``adapted_folder(settings)``) by
    building it beside and renaming it into place, so a killed run leaves the previous one intact.
    """
    os.environ["OMP_NUM_THREADS"] = str(settings.adapt_threads)  # before torch loads; training has big matmuls
    configure_threads(settings.adapt_threads)
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import get_linear_schedule_with_warmup

    torch.set_num_threads(settings.adapt_threads)
    base = _base_settings(settings)
    location, name, checksum = Encoder._resolve(base, progress)
    random.seed(settings.adapt_seed)
    torch.manual_seed(settings.adapt_seed)
    rng = random.Random(settings.adapt_seed)
    model = SentenceTransformer(location, device="cpu", model_kwargs={"dtype": torch.float32})
    tokenizer = model.tokenizer

    def count_tokens(texts: list[str]) -> list[int]:
        return [len(ids) for ids in tokenizer(texts, add_special_tokens=False, truncation=False)["input_ids"]]

    chunks = corpus_chunks(settings, count_tokens, KoreanText())
    ict = ict_candidates(chunks) if "ict" in settings.adapt_pairs else {}
    headings = heading_pairs(chunks) if "heading" in settings.adapt_pairs else []
    if len(ict) + len(headings) < 2:
        raise CorpusError("the corpus offers fewer than two training pairs: nothing to adapt on")

    word = model[0].auto_model.embeddings.word_embeddings
    word.weight.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=settings.adapt_learning_rate, weight_decay=0.01)
    plan = [batches(epoch_pairs(ict, headings, rng), settings.adapt_batch_size)
            for _ in range(settings.adapt_epochs)]
    if settings.adapt_max_steps:
        plan = _first_steps(plan, settings.adapt_max_steps)
    steps = sum(len(p) for p in plan)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(steps * settings.adapt_warmup), steps)
    model.max_seq_length = settings.adapt_max_tokens
    # activations of 2 x batch x 256 tokens through 12 layers took 6.8 GB: keep only each layer's input
    # (non-reentrant, since the frozen embeddings give the first layer an input without grad)
    model[0].auto_model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.train()

    def embed(texts: list[str]) -> torch.Tensor:
        features = model.tokenize(texts)
        return torch.nn.functional.normalize(model(dict(features))["sentence_embedding"], dim=-1)

    losses: list[float] = []
    started = time.perf_counter()
    for step, batch in enumerate((b for epoch in plan for b in epoch), 1):
        queries = embed([settings.query_prefix + p.query for p in batch])
        positives = embed([settings.passage_prefix + p.positive for p in batch])
        loss = torch.nn.functional.cross_entropy(_SCALE * queries @ positives.T, torch.arange(len(batch)))
        loss.backward()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(round(float(loss), 4))
        if progress:
            log.info("adapt step %d/%d loss %.4f (%.0f s)", step, steps, losses[-1], time.perf_counter() - started)
    train_seconds = round(time.perf_counter() - started, 1)
    model.eval()
    model.max_seq_length = _base_max_length(location)

    counts = {"ict": sum(1 for p in plan for b in p for x in b if x.kind == "ict"),
              "heading": sum(1 for p in plan for b in p for x in b if x.kind == "heading")}
    out = Path(out_dir or adapted_folder(settings)).expanduser().resolve()
    report = AdaptReport(
        folder=str(out), base_model=name, base_checksum=checksum, corpus_fingerprint=corpus_fingerprint(chunks),
        documents=len({c.doc_id for c in chunks}), passages=len(chunks), pairs=counts, steps=steps,
        epochs=settings.adapt_epochs, batch_size=settings.adapt_batch_size,
        learning_rate=settings.adapt_learning_rate, warmup_share=settings.adapt_warmup,
        max_tokens=settings.adapt_max_tokens, seed=settings.adapt_seed, threads=settings.adapt_threads,
        frozen=["embeddings.word_embeddings"], losses=losses, train_seconds=train_seconds,
    )
    _save(model, out, report)
    return report


def _first_steps(plan: list[list[list[Pair]]], limit: int) -> list[list[list[Pair]]]:
    """The plan cut after ``limit`` steps (short runs: tests, timing)."""
    out, left = [], limit
    for epoch in plan:
        if left <= 0:
            break
        out.append(epoch[:left])
        left -= len(out[-1])
    return out


def _base_max_length(location: str) -> int:
    """The base folder's max_seq_length, restored before saving (training may use a shorter one)."""
    try:
        config = json.loads((Path(location) / "sentence_bert_config.json").read_text(encoding="utf-8"))
        return int(config.get("max_seq_length", 512))
    except (OSError, ValueError):
        return 512


def _save(model, out: Path, report: AdaptReport) -> None:
    """Save beside ``out`` and rename into place (the previous folder is replaced only when complete)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        tmp.chmod(0o755)
        model.save(str(tmp))
        (tmp / MANIFEST_FILE).write_text(json.dumps(asdict(report), indent=1, ensure_ascii=False) + "\n",
                                         encoding="utf-8")
        if out.exists():
            if not (out / MANIFEST_FILE).is_file():
                raise FileExistsError(f"{out} exists and is not an adapted model folder; not replacing it")
            os.replace(out, tmp.with_name(tmp.name + "-old"))
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(tmp.with_name(tmp.name + "-old"), ignore_errors=True)

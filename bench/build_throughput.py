"""Build throughput: passages/s of the embedding step under each way of running it, on real passages.

    .venv/bin/python -m bench.build_throughput --data-dir DIR [--passages 100]

``DIR`` holds a built index of the real corpus; its passages (every k-th in
length order, so the sample keeps the corpus's length mix) and their distinct
answer sentences are embedded again under each configuration, in one process,
one after the other:

- the build as it is: passages, then the answer sentences in a second pass;
- batch sizes; one session with 2 intra-op threads (spinning or not) against
  two one-thread passes side by side; ONNX Runtime graph optimisation levels;
- the int8 graph (dynamic quantization), both ways.

Rates come from CPU seconds of this process (all its threads) over the 2
cores, as bench/growth.py does: on this host, shared by other jobs, wall time
says more about the neighbours than about the build (wall seconds are
reported beside). Padding is computed from the tokenizer for length-sorted
and token-sorted batches. Writes bench/build_throughput.json; the reading is
bench/build_throughput.md. Speed is reported here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")

from bench.growth import cpu_timed

REPO = Path(__file__).resolve().parent.parent
OUT_JSON = REPO / "bench" / "build_throughput.json"


def sample(index, n: int) -> tuple[list, list[str]]:
    """Every k-th passage in length order, and the distinct sentences they hold."""
    chunks = sorted(index.chunks.values(), key=lambda c: len(c.embed_text))
    step = max(1, len(chunks) // n)
    picked = chunks[::step][:n]
    sentences = list(dict.fromkeys(c.text[a:b] for c in picked for a, b, *_ in c.sentences))
    return picked, sentences


def padding(encoder, texts: list[str], size: int) -> dict:
    """Share of padded token slots with batches sorted by characters (as the build does) and by tokens."""
    tokens = np.array(encoder.count_tokens([encoder.passage_prefix + t for t in texts])) + 2

    def share(order: np.ndarray) -> float:
        slots = sum(int(tokens[order[i : i + size]].max()) * len(order[i : i + size])
                    for i in range(0, len(order), size))
        return round(1 - tokens.sum() / slots, 4)

    return {"by_characters": share(np.argsort([-len(t) for t in texts], kind="stable")),
            "by_tokens": share(np.argsort(-tokens, kind="stable")),
            "input_order": share(np.arange(len(texts))), "mean_tokens": round(float(tokens.mean()), 1)}


def session(encoder, threads: int, optimization: str = "all", spinning: bool = True) -> None:
    """Swap the encoder's ONNX Runtime session for one with these options (same graph and weights)."""
    from briefsearch.embedding.onnx_backend import OnnxSession, graph_name

    name, checksum = encoder.identity["name"].split(" ")[0], encoder.identity["checksum"].split(":")[0]
    graph = encoder._onnx_folder(name, checksum) / graph_name(encoder.backend == "onnx-int8")
    encoder._onnx = OnnxSession(graph, threads, optimization=optimization, spinning=spinning)


def measure(label: str, encoder, chunks: list, sentences: list[str], cores: int, kiwi_cpu_per_passage: float) -> dict:
    """Embed the sample once (passages, then sentences); rates from CPU s."""
    texts = [c.embed_text for c in chunks]
    _, wall, passage_cpu = cpu_timed(encoder.encode_passages, texts, progress=False)
    _, sentence_wall, sentence_cpu = cpu_timed(encoder.encode_passages, sentences, progress=False)
    embed_cpu = passage_cpu + sentence_cpu
    row = {"label": label, "batch": encoder.settings.embed_batch_size, "workers": encoder.settings.build_workers,
           "wall_s": round(wall + sentence_wall, 1), "cpu_s": round(embed_cpu, 1),
           "passage_vectors_per_s": round(len(texts) * cores / passage_cpu, 2),
           "embedding_passages_per_s": round(len(texts) * cores / embed_cpu, 2),
           "build_passages_per_s": round(1 / (embed_cpu / (len(texts) * cores) + kiwi_cpu_per_passage), 2)}
    print(json.dumps(row), flush=True)
    return row


def measure_by_characters(encoder, chunks: list, sentences: list[str], cores: int, kiwi: float) -> dict:
    """The build before this bench: batches sorted by characters, then the sentences' second pass."""
    def by_chars(texts: list[str]) -> None:
        encoder._encode([encoder.passage_prefix + t for t in sorted(texts, key=len, reverse=True)], False)

    texts = [c.embed_text for c in chunks]
    _, wall, passage_cpu = cpu_timed(by_chars, texts)
    _, sentence_wall, sentence_cpu = cpu_timed(by_chars, sentences)
    row = {"label": "second pass, batch 8, sorted by characters (the build before)",
           "batch": encoder.settings.embed_batch_size, "workers": encoder.settings.build_workers,
           "wall_s": round(wall + sentence_wall, 1), "cpu_s": round(passage_cpu + sentence_cpu, 1),
           "passage_vectors_per_s": round(len(texts) * cores / passage_cpu, 2),
           "embedding_passages_per_s": round(len(texts) * cores / (passage_cpu + sentence_cpu), 2),
           "build_passages_per_s": round(1 / ((passage_cpu + sentence_cpu) / (len(texts) * cores) + kiwi), 2)}
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--passages", type=int, default=100)
    parser.add_argument("--skip-int8", action="store_true")
    parser.add_argument("--rounds", type=int, default=0, help="only compare batch 8 and 2 (second pass), in this "
                        "many interleaved rounds; written to build_throughput.json's 'interleaved'")
    args = parser.parse_args()

    from briefsearch.config import Settings
    from briefsearch.embedding.encoder import Encoder
    from briefsearch.store.lexical import LexicalAnalyzer
    from briefsearch.store.versions import load_index
    from briefsearch.text.korean import KoreanText

    base = Settings(data_dir=args.data_dir)
    index = load_index(base.index_dir)
    encoder = Encoder(base, progress=False)
    chunks, sentences = sample(index, args.passages)
    cores = min(os.cpu_count() or 1, 2)
    analyzer = LexicalAnalyzer(KoreanText().warm())
    _, _, kiwi_cpu = cpu_timed(lambda: [analyzer.terms(c.embed_text) for c in chunks])
    kiwi = kiwi_cpu / len(chunks)
    encoder.encode_passages([c.embed_text for c in chunks[:8]], progress=False)  # warm-up (page in weights)

    def with_settings(**update) -> Encoder:
        encoder.settings = base.model_copy(update=update)
        return encoder

    if args.rounds:
        result = json.loads(OUT_JSON.read_text(encoding="utf-8")) if OUT_JSON.is_file() else {}
        result["interleaved"] = [measure(f"round {r + 1}: second pass, batch {size}",
                                         with_settings(embed_batch_size=size), chunks, sentences, cores, kiwi)
                                 for r in range(args.rounds) for size in (8, 2)]
        OUT_JSON.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return
    rows = [measure_by_characters(encoder, chunks, sentences, cores, kiwi),
            measure("second pass, batch 8 (sorted by tokens)", with_settings(), chunks, sentences, cores, kiwi)]
    for size in (1, 2, 4, 16, 32):
        rows.append(measure(f"second pass, batch {size}", with_settings(embed_batch_size=size), chunks, sentences,
                            cores, kiwi))
    for level in ("basic", "extended"):
        session(encoder, 1, optimization=level)
        rows.append(measure(f"second pass, batch 8, graph optimization {level}", with_settings(), chunks,
                            sentences, cores, kiwi))
    for spinning in (True, False):
        session(encoder, 2, spinning=spinning)
        rows.append(measure(f"second pass, batch 8, one session of 2 threads, spinning {'on' if spinning else 'off'}",
                            with_settings(build_workers=1), chunks, sentences, cores, kiwi))
    session(encoder, 1)
    rows.append(measure("second pass, batch 8, control (row 2 again)", with_settings(), chunks, sentences, cores,
                        kiwi))
    if not args.skip_int8:
        int8 = Encoder(base.model_copy(update={"encoder_backend": "onnx-int8"}), progress=False)
        int8.encode_passages([c.embed_text for c in chunks[:8]], progress=False)
        for size in (8, 4):
            int8.settings = base.model_copy(update={"encoder_backend": "onnx-int8", "embed_batch_size": size})
            rows.append(measure(f"onnx-int8, second pass, batch {size}", int8, chunks, sentences, cores, kiwi))
    result = {"date": datetime.now(UTC).isoformat(timespec="minutes"), "cores": cores, "passages": len(chunks),
              "sentences": len(sentences), "kiwi_passages_per_s": round(1 / kiwi, 1),
              "padding_batch_8": padding(encoder, [c.embed_text for c in chunks], 8),
              "padding_batch_8_corpus": padding(encoder, [c.embed_text for c in index.chunks.values()], 8),
              "rows": rows}
    OUT_JSON.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}, ensure_ascii=False))


if __name__ == "__main__":
    main()

"""Generalization set: documents of other Korean government layouts, added as a user would.

Laws and bills (eval/generalization/docs, see SOURCES.md) are added one by one
through the normal add path (``briefsearch.build.manage.CorpusManager.add``, what
``briefsearch add`` runs) into a scratch data directory beside the seed
corpus; then the generalization questions (dev and test splits reported
apart) and the briefing questions (with these documents beside them) are
scored with evaluation/evaluate.py's functions: evidence matched in what a result
shows, dev and test apart, characters shown per result beside the scores, and
the hybrid test split checked against the "generalization" floors in
eval/thresholds.json (exit status 1 below them). Optionally the naive
baseline (500-character windows of the raw files, same model; dense, BM25 and
RRF) is scored on the same questions.

    python -m briefsearch.evaluation.generalization [--naive] [--data-dir DIR] [--name generalization]
    python -m briefsearch.evaluation.generalization --ablate wraps  # one change of issue 13 off, in a scratch dir
    python -m briefsearch.evaluation.generalization --answers       # also /ask: eval/reports/<name>-answers.md

With ``--answers`` the set's questions and its near-domain negatives
(eval/generalization/negatives.jsonl) are put to /ask's Answerer and scored with
evaluation/answers.py's functions, per split and per layout (law, bill): evidence
share, answered without the evidence, missed, near-domain false answers, and
citations whose offsets do not slice the file to the cited text; the test
split is gated on the "answers" floors of the "generalization" section.

Writes eval/reports/<name>.md and .json. An ablation switches one structure
change off inside this process only (never a setting of the service) and
builds a fresh index in its own scratch dir, reusing the embedding cache.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from briefsearch.config import Settings
from briefsearch.evaluation.answers import AnswerStats, SplitStats, answer_table
from briefsearch.evaluation.evaluate import (
    EVAL_DIR,
    LABELS,
    METRICS,
    REPORTS,
    THRESHOLDS,
    EvalReport,
    Question,
    check_thresholds,
    load_questions,
    normalize_evidence,
    run_eval,
    window_quality,
)

GEN_DIR = EVAL_DIR / "generalization"
DOCS = GEN_DIR / "docs"
QUESTIONS = GEN_DIR / "questions.jsonl"
NEGATIVES = GEN_DIR / "negatives.jsonl"
# the layout of a document of the set, by the file-name prefix its source gives it (SOURCES.md)
LAYOUTS = {"kolaw_": "law", "kobill_": "bill"}
MODES = ("hybrid", "dense", "lexical")
SPLITS = ("dev", "test", "all")


def _ablate_wraps() -> None:
    from briefsearch.structure import wraps

    wraps._splits_word = lambda left, right, joiner: False  # type: ignore[assignment]


def _ablate_legal() -> None:
    from briefsearch.structure import parser
    from briefsearch.structure.layouts import LEGAL, active_families

    parser.active_families = lambda lines: tuple(f for f in active_families(lines) if f is not LEGAL)  # type: ignore[assignment]


def _ablate_cover() -> None:
    from briefsearch.structure import furniture

    furniture.mark_cover_metadata = lambda blocks: None  # type: ignore[assignment]


def _ablate_captions() -> None:
    from briefsearch.structure import tables

    tables.attach_lone_captions = lambda blocks: None  # type: ignore[assignment]


def _ablate_context() -> None:
    from briefsearch.structure import furniture

    furniture.cover_title = lambda blocks: ""  # type: ignore[assignment]


def _ablate_titles() -> None:
    import re

    from briefsearch.structure import headings

    headings._TITLE_CONTINUES = re.compile(r"(?!)")  # type: ignore[assignment]


ABLATIONS: dict[str, Callable[[], None]] = {
    "wraps": _ablate_wraps,  # blank-line wraps that look finished are not rejoined by Kiwi's reading
    "legal": _ablate_legal,  # no legal-drafting table: laws and bills parsed as reports
    "cover": _ablate_cover,  # a bill's cover block is not kept apart as metadata
    "captions": _ablate_captions,  # lone captions stay passages of their own
    "context": _ablate_context,  # passages embedded with the catalogue title (first line), not the cover's name
    "titles": _ablate_titles,  # a part title wrapped over two lines is not joined (its first line stays text)
}


def load_split_questions(path: Path = QUESTIONS) -> list[Question]:
    """The generalization questions; each must be in "dev" or "test" (never tune on "test")."""
    questions = load_questions(path)
    for q in questions:
        if q.split not in ("dev", "test"):
            raise ValueError(f"{path}: question {q.id}: split must be 'dev' or 'test', not {q.split!r}")
    return questions


def scratch_settings(base: Settings, data_dir: Path) -> Settings:
    """Settings over a scratch data dir that shares the prepared model (symlinked) and the seed corpus."""
    data_dir.mkdir(parents=True, exist_ok=True)
    models = data_dir / "models"
    if not models.exists():
        models.symlink_to(base.models_dir.resolve(), target_is_directory=True)
    return base.model_copy(update={"data_dir": data_dir.resolve()})


def add_documents(settings: Settings, docs_dir: Path = DOCS) -> list[str]:
    """Build the seed index if needed, then add every generalization document via the add path."""
    from briefsearch.build.manage import CorpusManager
    from briefsearch.build.pipeline import build_index, index_status
    from briefsearch.embedding.encoder import Encoder
    from briefsearch.text.korean import KoreanText

    encoder = Encoder(settings, progress=False)
    korean = KoreanText()
    if index_status(settings, encoder.identity).state != "fresh":
        build_index(settings, encoder, korean, progress=False)
    manager = CorpusManager(settings, encoder, korean)
    lines = []
    for path in sorted(docs_dir.glob("*.txt")):
        result = manager.add(path.read_bytes(), path.name)
        lines.append(f"{result.status} {result.doc_id}: {result.passages} passages")
    return lines


def split_scores(report: EvalReport) -> dict[str, dict[str, float]]:
    """ranx scores of one run, per split and overall, with the characters shown per result beside them."""
    scores = {**report.per_split, "all": report.overall}
    return {split: {**scores[split], "chars_shown": report.mean_chars_shown} for split in SPLITS}


def naive_baseline(settings: Settings, questions: list[Question], size: int = 500) -> dict[str, dict[str, float]]:
    """Fixed windows of the raw files (seed corpus plus generalization docs): dense, BM25 and their RRF."""
    import bm25s
    import faiss

    from briefsearch.embedding.encoder import Encoder
    from briefsearch.ingest.sources import load_manifest, read_source
    from briefsearch.store.lexical import LexicalAnalyzer
    from briefsearch.text.korean import KoreanText

    texts = [(m.doc_id, read_source(settings.corpus_dir / m.file).raw) for m in load_manifest(settings.corpus_dir)]
    texts += [(p.stem, read_source(p).raw) for p in sorted(DOCS.glob("*.txt"))]
    chunks = [(d, t[i : i + size]) for d, t in texts for i in range(0, len(t), size) if t[i : i + size].strip()]
    encoder = Encoder(settings, progress=False)
    vectors = encoder.encode_passages([t for _, t in chunks], progress=False)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    analyzer = LexicalAnalyzer(KoreanText())
    bm25 = bm25s.BM25(k1=settings.bm25.k1, b=settings.bm25.b, method="lucene")
    bm25.index([analyzer.terms(t) or ["\x00"] for _, t in chunks], show_progress=False)
    dense, lexical, rrf = [], [], []
    for q in questions:
        _, ids = index.search(encoder._encode_queries_now([encoder.query_prefix + q.question]), 100)
        d = [int(i) for i in ids[0]]
        docs, _ = bm25.retrieve([analyzer.terms(q.question) or ["\x00"]], k=100, show_progress=False)
        lx = [int(i) for i in docs[0]]
        fused: dict[int, float] = {}
        for ranking in (d, lx):
            for rank, i in enumerate(ranking, start=1):
                fused[i] = fused.get(i, 0.0) + 1.0 / (settings.ranking.rrf_k + rank)
        dense.append(d[:10])
        lexical.append(lx[:10])
        rrf.append(sorted(fused, key=lambda i: -fused[i])[:10])
    recall1 = {name: _recall_at_1(r, chunks, questions) for name, r in
               (("dense", dense), ("lexical", lexical), ("rrf", rrf))}
    return {name: {**window_quality(r, chunks, questions), "recall@1": recall1[name], "passages": len(chunks)}
            for name, r in (("dense", dense), ("lexical", lexical), ("rrf", rrf))}


def _recall_at_1(ranked: list[list[int]], chunks: list[tuple[str, str]], questions: list[Question]) -> float:
    hits = 0
    for q, ids in zip(questions, ranked, strict=True):
        needles = [normalize_evidence(e) for e in q.evidence]
        doc, text = chunks[ids[0]]
        hits += doc == q.doc_id and any(n in normalize_evidence(text) for n in needles)
    return round(hits / len(questions), 3)


def layout_of(doc_id: str) -> str:
    """"law" or "bill" for a document of the set; "" for any other (a briefing)."""
    return next((name for prefix, name in LAYOUTS.items() if doc_id.startswith(prefix)), "")


def measure_answers(searcher, questions: list[Question]) -> tuple[AnswerStats, dict[str, SplitStats]]:
    """/ask over the set's questions and negatives: per split (gated), and per split and layout."""
    from briefsearch.answer.answerer import Answerer
    from briefsearch.evaluation.answers import load_negatives, load_off_corpus, measure, measure_split

    answerer = Answerer(searcher)
    negatives = load_negatives(NEGATIVES)
    stats = measure(answerer, questions, negatives, load_off_corpus())
    columns: dict[str, SplitStats] = {}
    for split in ("test", "dev"):
        columns[split] = stats.splits[split]
        for layout in dict.fromkeys(LAYOUTS.values()):
            columns[f"{split} {layout}"] = measure_split(
                answerer, [q for q in questions if q.split == split and layout_of(q.doc_id) == layout],
                [n for n in negatives if n.split == split and layout_of(n.near_doc) == layout])
    return stats, columns


def answers_markdown(stats: AnswerStats, columns: dict[str, SplitStats], failures: list[str],
                     calibrated: tuple[float, float, float], command: str) -> str:
    """The /ask report of the set: the table per split and layout, then every miss and false answer."""
    lines = ["# Generalization set: /ask answers (laws and bills added at run time)", "",
             f"- command: `{command}`",
             "- questions: eval/generalization/questions.jsonl (all answerable); near-domain negatives: "
             "eval/generalization/negatives.jsonl (same statutes and bills, facts they do not hold)",
             f"- configured threshold: {stats.threshold} (chosen on the briefings' dev split)", "",
             *answer_table(columns), "",
             "| citations whose offsets slice the file to the cited text | "
             + " | ".join(f"{c.n_citations - len(c.inexact_citations)} of {c.n_citations}" for c in columns.values())
             + " |", "",
             f"Trivial off-corpus questions answered (with these documents beside the briefings): "
             f"{len(stats.off_false_answers)} of {stats.n_off_corpus}.", "",
             f"Threshold this set's dev split alone would choose (missed + false, Korean-script; not adopted): "
             f"{calibrated[0]} (missed {calibrated[1]:.3f}, false {calibrated[2]:.3f}).", "",
             "Gate (test split; floors: eval/thresholds.json, \"generalization\" / \"answers\"): "
             + ("; ".join(failures) or "passed"), ""]
    for name in ("test", "dev"):
        st = columns[name]
        lines += [f"Confidence ({name}): questions min {min(st.on_confidences, default=0):.3f}, median "
                  f"{sorted(st.on_confidences)[len(st.on_confidences) // 2]:.3f}; negatives max "
                  f"{max(st.neg_confidences, default=0):.3f}.", ""]
    for name in ("dev", "test"):
        st = columns[name]
        lines += [f"## Missed ({name})", "", *[f"- {m}" for m in st.misses], "",
                  f"## Answered without the evidence ({name})", "", *[f"- {m}" for m in st.wrong_answers], "",
                  f"## False answers to near-domain negatives ({name})", "", *[f"- {f}" for f in st.false_answers],
                  "", f"## Citations not slicing the file ({name})", "",
                  *[f"- {m}" for m in st.inexact_citations], ""]
    lines += ["## False answers to off-corpus questions", "", *[f"- {f}" for f in stats.off_false_answers], ""]
    return "\n".join(lines)


def markdown(result: dict) -> str:
    """The report: generalization set per split and mode, briefings beside them, misses."""
    head = "| set | mode | n | " + " | ".join(LABELS[m] for m in METRICS) + " | chars shown |"
    sep = "|---|---|---:|" + "---:|" * (len(METRICS) + 1)

    def row(name: str, mode: str, s: dict[str, float]) -> str:
        return (f"| {name} | {mode} | {int(s['n'])} | " + " | ".join(f"{s[m]:.3f}" for m in METRICS)
                + f" | {s['chars_shown']:.0f} |")

    lines = ["# Generalization evaluation (other Korean government layouts)", "",
             f"- created: {result['created_at']}; chunker: {result['chunker']}; passages: {result['n_chunks']}",
             f"- command: `{result['command']}`",
             "- documents: eval/generalization/docs (SOURCES.md), added with the add path beside the seed corpus",
             "- questions: eval/generalization/questions.jsonl (dev is for tuning; test is never tuned on)", "",
             head, sep]
    for mode, splits in result["generalization"].items():
        lines += [row(f"generalization {split}", mode, s) for split, s in splits.items()]
    lines += [row(f"briefings {split} (with the new documents)", "hybrid", s)
              for split, s in result["briefings"].items()]
    lines += ["", "Gate (hybrid, generalization test split; floors: eval/thresholds.json, \"generalization\"): "
              + ("; ".join(result["failures"]) or "passed")]
    if result.get("naive"):
        lines += ["", "## Naive baseline: 500-character windows of the raw files, same model (all questions)", "",
                  "| retrieval | passages | Recall@1 | Recall@5 | MRR@10 |", "|---|---:|---:|---:|---:|"]
        for name, s in result["naive"].items():
            lines.append(f"| {name} | {s['passages']} | {s['recall@1']:.3f} | {s['recall@5']:.3f} "
                         f"| {s['mrr@10']:.3f} |")
    lines += ["", "## Per document (hybrid, all splits)", "", "| document | n | Recall@1 | Recall@5 | MRR@10 |",
              "|---|---:|---:|---:|---:|"]
    for doc, s in sorted(result["per_document"].items()):
        lines.append(f"| {doc} | {int(s['n'])} | {s['hit_rate@1']:.3f} | {s['hit_rate@5']:.3f} | {s['mrr@10']:.3f} |")
    lines += ["", "## Generalization questions not answered first (hybrid)", ""]
    lines += [f"- {m['id']} [{m['split']}] ({m['doc_id']}): {m['question']} — first hit: {m['first_hit_rank']}"
              for m in result["misses"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="scratch data dir (default var/generalization)")
    parser.add_argument("--naive", action="store_true", help="also score the naive 500-character baseline")
    parser.add_argument("--name", default="generalization", help="report name under eval/reports")
    parser.add_argument("--answers", action="store_true", help="also measure /ask on the set and gate it")
    parser.add_argument("--ablate", choices=sorted(ABLATIONS), help="switch one structure change off (scratch dir)")
    args = parser.parse_args()

    from briefsearch.runtime.engine import open_searcher

    base = Settings()
    data_dir = args.data_dir or base.data_dir / "generalization"
    if args.ablate:
        ABLATIONS[args.ablate]()
        shared = data_dir / "cache"
        data_dir = base.data_dir / f"generalization-ablate-{args.ablate}"
        if data_dir.exists():
            shutil.rmtree(data_dir)  # a fresh build: the chunker identity does not know about the ablation
        data_dir.mkdir(parents=True)
        if shared.is_dir():
            shutil.copytree(shared, data_dir / "cache")
        args.name = f"generalization-ablate-{args.ablate}"
    settings = scratch_settings(base, data_dir)
    started = time.perf_counter()
    for line in add_documents(settings):
        print(line)
    searcher = open_searcher(settings, build=False, progress=False)
    questions = load_split_questions()
    reports = {mode: run_eval(searcher, questions, mode=mode) for mode in MODES}
    hybrid = reports["hybrid"]
    failures = check_thresholds(hybrid, THRESHOLDS, "generalization")  # the hybrid test split against its floors
    briefings = run_eval(searcher, load_questions(), mode="hybrid")
    command = "python -m briefsearch.evaluation.generalization" + (" --naive" if args.naive else "") + (
        f" --ablate {args.ablate}" if args.ablate else "") + (" --answers" if args.answers else "")
    result = {
        "created_at": hybrid.created_at, "command": command, "chunker": hybrid.index["chunker"],
        "n_chunks": hybrid.index["n_chunks"],
        "generalization": {mode: split_scores(r) for mode, r in reports.items()},
        "briefings": split_scores(briefings),
        "failures": failures,
        "per_document": hybrid.per_document,
        "misses": [{"id": o.id, "split": o.split, "doc_id": o.doc_id, "question": o.question,
                    "first_hit_rank": o.first_hit_rank} for o in hybrid.outcomes if o.first_hit_rank != 1],
        "naive": naive_baseline(settings, questions) if args.naive else None,
        "seconds": round(time.perf_counter() - started, 1),
    }
    REPORTS.mkdir(parents=True, exist_ok=True)
    if args.answers:
        from briefsearch.evaluation.answers import calibrate, calibration_sets, check_floors

        stats, columns = measure_answers(searcher, questions)
        answer_failures = check_floors(stats, THRESHOLDS, ("generalization", "answers"))
        failures += answer_failures
        result["answers"] = {name: {"evidence_rate": c.evidence_rate, "missed_rate": c.missed_rate,
                                    "wrong_answer_rate": round(len(c.wrong_answers) / max(1, c.n_questions), 4),
                                    "false_answer_rate": c.false_answer_rate, "n_questions": c.n_questions,
                                    "n_negatives": c.n_negatives, "n_citations": c.n_citations,
                                    "inexact_citations": len(c.inexact_citations)} for name, c in columns.items()}
        text = answers_markdown(stats, columns, answer_failures, calibrate(*calibration_sets(stats)), command)
        (REPORTS / f"{args.name}-answers.md").write_text(text, encoding="utf-8")
        for name, c in columns.items():
            print(f"answers {name:<10} evidence {c.evidence_rate:.3f}  without evidence "
                  f"{len(c.wrong_answers) / max(1, c.n_questions):.3f}  missed {c.missed_rate:.3f}  "
                  f"near-domain false {c.false_answer_rate:.3f}  inexact citations {len(c.inexact_citations)}")
    (REPORTS / f"{args.name}.json").write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    (REPORTS / f"{args.name}.md").write_text(markdown(result), encoding="utf-8")
    for mode, splits in result["generalization"].items():
        for split, s in splits.items():
            print(f"{mode:<8} {split:<5} n={int(s['n']):<3} " + "  ".join(f"{LABELS[m]}={s[m]:.3f}" for m in METRICS))
    for split, s in result["briefings"].items():
        print(f"briefings {split:<5} " + "  ".join(f"{LABELS[m]}={s[m]:.3f}" for m in METRICS))
    print("gate (generalization test): " + ("; ".join(failures) or "passed"))
    if result["naive"]:
        for name, s in result["naive"].items():
            print(f"naive {name}: R@1={s['recall@1']:.3f} R@5={s['recall@5']:.3f} MRR@10={s['mrr@10']:.3f}")
    print(f"reports: {REPORTS / (args.name + '.md')}")
    if failures and not args.ablate:
        raise SystemExit(1)


if __name__ == "__main__":
    main()

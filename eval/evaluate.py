"""Run the question set through the searcher and score it with ranx.

A passage answers a question when it comes from the question's document and
contains one of its evidence phrases after normalization (lower-case; only
letters, digits, Hangul and CJK ideographs kept). Qrels are every indexed
passage that answers, so nDCG@10 is measured against all of them.

Reported "Recall@k" is the share of questions answered within the top k
(ranx ``hit_rate@k``); MRR@10 and nDCG@10 are ranx's.
"""

from __future__ import annotations

import json
import statistics
import time
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from index.search import Searcher

EVAL_DIR = Path(__file__).resolve().parent
QUESTIONS = EVAL_DIR / "questions.jsonl"
THRESHOLDS = EVAL_DIR / "thresholds.json"
REPORTS = EVAL_DIR / "reports"
CUTOFFS = (1, 3, 5, 10)
METRICS = [f"hit_rate@{k}" for k in CUTOFFS] + ["mrr@10", "ndcg@10"]
LABELS = {**{f"hit_rate@{k}": f"Recall@{k}" for k in CUTOFFS}, "mrr@10": "MRR@10", "ndcg@10": "nDCG@10"}


def normalize_evidence(text: str) -> str:
    """Lower-case and keep only letters and digits (Hangul and CJK ideographs are letters)."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    question: str
    doc_id: str
    evidence: list[str]
    type: str = ""


def load_questions(path: Path = QUESTIONS) -> list[Question]:
    questions = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if line.strip():
                try:
                    questions.append(Question(**json.loads(line)))
                except (ValueError, TypeError) as exc:
                    raise ValueError(f"{path}:{n}: bad question line: {exc}") from exc
    return questions


@dataclass(slots=True)
class QuestionOutcome:
    id: str
    doc_id: str
    type: str
    question: str
    first_hit_rank: int | None
    n_relevant: int
    top_chunk_ids: list[int]
    latency_ms: float


@dataclass(slots=True)
class EvalReport:
    created_at: str
    mode: str
    n_questions: int
    overall: dict[str, float]
    per_document: dict[str, dict[str, float]]
    per_type: dict[str, dict[str, float]]
    median_latency_ms: float
    index: dict
    median_timings_ms: dict[str, float] = field(default_factory=dict)
    outcomes: list[QuestionOutcome] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    qrels: dict = field(default_factory=dict, repr=False)
    run: dict = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict:
        return {
            "created_at": self.created_at, "mode": self.mode, "n_questions": self.n_questions,
            "median_timings_ms": self.median_timings_ms,
            "overall": self.overall, "per_document": self.per_document, "per_type": self.per_type,
            "median_latency_ms": self.median_latency_ms, "index": self.index, "failures": self.failures,
            "outcomes": [_slots(o) for o in self.outcomes],
        }

    def to_markdown(self) -> str:
        head = "| scope | n | " + " | ".join(LABELS[m] for m in METRICS) + " |"
        sep = "|---|---:|" + "---:|" * len(METRICS)

        def row(name: str, scores: dict[str, float]) -> str:
            return f"| {name} | {int(scores['n'])} | " + " | ".join(f"{scores[m]:.3f}" for m in METRICS) + " |"

        lines = [
            "# Retrieval evaluation", "",
            f"- created: {self.created_at}",
            f"- questions: {self.n_questions}; retrieval mode: {self.mode}",
            f"- model: {self.index.get('model', {}).get('name')}; chunker: {self.index.get('chunker')}",
            f"- median search latency (in-process, one query at a time): {self.median_latency_ms:.1f} ms",
            f"- median per stage: {self.median_timings_ms}",
            f"- command: `briefsearch eval --mode {self.mode}`", "",
            "## Overall and per document", "", head, sep, row("all", self.overall),
        ]
        lines += [row(doc, s) for doc, s in sorted(self.per_document.items())]
        lines += ["", "## Per question type", "", head, sep]
        lines += [row(t, s) for t, s in sorted(self.per_type.items())]
        missed = [o for o in self.outcomes if o.first_hit_rank is None or o.first_hit_rank > 5]
        lines += ["", f"## Questions not answered in the top 5 ({len(missed)})", ""]
        lines += [f"- {o.id} ({o.doc_id}, {o.type}): {o.question} — first hit: {o.first_hit_rank}" for o in missed]
        if self.failures:
            lines += ["", "## Below threshold", ""] + [f"- {f}" for f in self.failures]
        return "\n".join(lines) + "\n"


def _slots(obj: object) -> dict:
    return {k: getattr(obj, k) for k in obj.__slots__}  # type: ignore[attr-defined]


def _scores(qrels: dict, run: dict, ids: list[str]) -> dict[str, float]:
    from ranx import Qrels, Run, evaluate

    sub_q = Qrels({i: qrels[i] for i in ids})
    sub_r = Run({i: run[i] for i in ids})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = evaluate(sub_q, sub_r, METRICS, make_comparable=True)  # a dict: METRICS has several
    return {"n": float(len(ids)), **{m: round(float(result[m]), 4) for m in METRICS}}


def relevant_chunks(searcher: Searcher, question: Question) -> set[int]:
    """Every indexed passage of the question's document containing an evidence phrase."""
    needles = [normalize_evidence(e) for e in question.evidence if normalize_evidence(e)]
    found = set()
    for chunk in searcher.index.chunks.values():
        if chunk.doc_id != question.doc_id:
            continue
        hay = normalize_evidence(chunk.text + " " + " ".join(chunk.footnotes))
        if any(n in hay for n in needles):
            found.add(chunk.chunk_id)
    return found


def run_eval(searcher: Searcher, questions: list[Question], mode: str = "hybrid", depth: int = 10) -> EvalReport:
    qrels: dict[str, dict[str, int]] = {}
    run: dict[str, dict[str, float]] = {}
    outcomes: list[QuestionOutcome] = []
    stages: dict[str, list[float]] = {}
    searcher.search(questions[0].question, k=depth, mode=mode)  # warm-up, not timed
    for q in questions:
        relevant = relevant_chunks(searcher, q)
        started = time.perf_counter()
        result = searcher.search(q.question, k=depth, mode=mode)
        latency = (time.perf_counter() - started) * 1000
        for stage, ms in result.timings.items():
            stages.setdefault(stage, []).append(ms)
        # a question whose evidence is in no passage can never be answered: count it as a miss
        qrels[q.id] = {str(c): 1 for c in relevant} or {"-1": 1}
        run[q.id] = {str(h.chunk.chunk_id): float(depth - i) for i, h in enumerate(result.hits)}
        first = next((h.rank for h in result.hits if h.chunk.chunk_id in relevant), None)
        outcomes.append(QuestionOutcome(q.id, q.doc_id, q.type, q.question, first, len(relevant),
                                        [h.chunk.chunk_id for h in result.hits], round(latency, 2)))
    ids = [q.id for q in questions]
    by_doc: dict[str, list[str]] = {}
    by_type: dict[str, list[str]] = {}
    for q in questions:
        by_doc.setdefault(q.doc_id, []).append(q.id)
        by_type.setdefault(q.type or "untyped", []).append(q.id)
    manifest = searcher.index.manifest
    return EvalReport(
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        mode=mode,
        n_questions=len(questions),
        overall=_scores(qrels, run, ids),
        per_document={d: _scores(qrels, run, v) for d, v in by_doc.items()},
        per_type={t: _scores(qrels, run, v) for t, v in by_type.items()},
        median_latency_ms=round(statistics.median(o.latency_ms for o in outcomes), 2) if outcomes else 0.0,
        index={"model": manifest.model, "chunker": manifest.chunker, "built_at": manifest.built_at,
               "n_chunks": manifest.n_chunks},
        median_timings_ms={k: round(statistics.median(v), 3) for k, v in stages.items()},
        outcomes=outcomes,
        qrels=qrels,
        run=run,
    )


def check_thresholds(report: EvalReport, path: Path = THRESHOLDS) -> list[str]:
    """Metrics below the committed thresholds, as readable lines."""
    thresholds = json.loads(path.read_text(encoding="utf-8"))
    failures = []
    for metric, minimum in thresholds.items():
        value = report.overall.get(metric)
        if value is None:
            failures.append(f"{metric}: unknown metric in {path.name}")
        elif value < minimum:
            failures.append(f"{LABELS.get(metric, metric)} = {value:.3f} < threshold {minimum:.3f}")
    report.failures = failures
    return failures


def write_reports(report: EvalReport, directory: Path = REPORTS, name: str = "latest") -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    json_path, md_path = directory / f"{name}.json", directory / f"{name}.md"
    json_path.write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    md_path.write_text(report.to_markdown(), encoding="utf-8")
    return json_path, md_path


def ablation_markdown(reports: dict[str, EvalReport]) -> str:
    """Modes side by side, overall and per document, with paired significance from ranx.compare."""
    from ranx import Qrels, Run, compare

    modes = list(reports)
    head = "| mode | " + " | ".join(LABELS[m] for m in METRICS) + " | median latency ms |"
    sep = "|---|" + "---:|" * (len(METRICS) + 1)
    first = next(iter(reports.values()))
    lines = ["# Ablation: dense vs lexical vs hybrid", "",
             f"- questions: {first.n_questions}; model: {first.index['model']['name']}; passages: "
             f"{first.index['n_chunks']}",
             f"- command: `briefsearch eval --ablation` ({first.created_at})", "",
             "## Overall", "", head, sep]
    for mode, rep in reports.items():
        lines.append(f"| {mode} | " + " | ".join(f"{rep.overall[m]:.3f}" for m in METRICS)
                     + f" | {rep.median_latency_ms:.1f} |")
    lines += ["", "## Per document", ""]
    for doc in sorted(first.per_document):
        lines += [f"### {doc} (n={int(first.per_document[doc]['n'])})", "", head.replace(" median latency ms |", ""),
                  sep[: -len("---:|")]]
        for mode, rep in reports.items():
            lines.append(f"| {mode} | " + " | ".join(f"{rep.per_document[doc][m]:.3f}" for m in METRICS) + " |")
        lines.append("")
    lines += ["## Latency per stage (median ms, in-process, one query at a time)", "",
              "| mode | " + " | ".join(sorted({s for r in reports.values() for s in r.median_timings_ms})) + " |"]
    stages = sorted({s for r in reports.values() for s in r.median_timings_ms})
    lines.append("|---|" + "---:|" * len(stages))
    for mode, rep in reports.items():
        lines.append(f"| {mode} | " + " | ".join(f"{rep.median_timings_ms.get(s, 0):.2f}" for s in stages) + " |")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        qrels = Qrels(first.qrels)
        runs = []
        for mode in modes:
            run = Run(reports[mode].run, name=mode)
            runs.append(run)
        table = compare(qrels, runs=runs, metrics=["mrr@10", "hit_rate@5", "ndcg@10"], max_p=0.05,
                        stat_test="student", make_comparable=True)
    lines += ["", "## Significance (ranx.compare, paired Student's t-test, p < 0.05)", "", "```", str(table), "```", ""]
    return "\n".join(lines) + "\n"

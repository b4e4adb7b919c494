"""Run the question set through the searcher and score it (evaluation/metrics.py: ranx's definitions).

A passage answers a question when it comes from the question's document and
what a result shows of it (title, section path, text, footnotes) contains one
of its evidence phrases after normalization (lower-case; only letters, digits,
Hangul and CJK ideographs kept). Qrels are every indexed passage that answers,
so nDCG@10 is measured against all of them. The average number of characters
shown per result is reported beside the scores, so that longer passages cannot
buy recall unnoticed.

The eval set is ``questions.jsonl`` (split by evaluation/split.py) plus
``fresh.jsonl``, test questions written after the ranking and answer tuning, and
``english_dev.jsonl``, English dev questions written to calibrate the English answer cut-off.
Questions carry a ``split`` (``dev``: tune on it; ``test``: report and gate on
it; see evaluation/split.py). Every function here takes any list of questions and a
searcher, so other question sets reuse them.

Reported "Recall@k" is the share of questions answered within the top k
(ranx ``hit_rate@k``); MRR@10 and nDCG@10 are ranx's (computed in evaluation/metrics.py).
"""

from __future__ import annotations

import json
import statistics
import time
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from briefsearch.config import REPO_ROOT
from briefsearch.evaluation.metrics import CUTOFFS, METRICS, mean_scores
from briefsearch.retrieval.searcher import Searcher
from briefsearch.types import Chunk

EVAL_DIR = REPO_ROOT / "eval"  # the question sets and floors: the checkout's eval/, or the wheel's package data
QUESTIONS = EVAL_DIR / "questions.jsonl"
# written after all tuning, from the briefings' text (not from system output): test split only
FRESH = EVAL_DIR / "fresh.jsonl"
# written from the briefings' text to calibrate the English (cross-lingual) answer cut-off: dev split only
ENGLISH_DEV = EVAL_DIR / "english_dev.jsonl"
THRESHOLDS = EVAL_DIR / "thresholds.json"
REPORTS = EVAL_DIR / "reports"
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
    split: str = ""  # "dev" | "test" (evaluation/split.py); empty: in neither


def load_questions(path: Path | None = None) -> list[Question]:
    """One JSONL question file, or (no path) the eval set: questions.jsonl, the fresh test questions and the
    English dev questions."""
    if path is None:
        optional = [part for part in (FRESH, ENGLISH_DEV) if part.exists()]
        return [q for part in (QUESTIONS, *optional) for q in load_questions(part)]
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
    split: str
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
    per_split: dict[str, dict[str, float]] = field(default_factory=dict)
    mean_chars_shown: float = 0.0  # characters a result shows (title, section, text, footnotes), over all hits
    median_timings_ms: dict[str, float] = field(default_factory=dict)
    outcomes: list[QuestionOutcome] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    qrels: dict = field(default_factory=dict, repr=False)
    run: dict = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict:
        return {
            "created_at": self.created_at, "mode": self.mode, "n_questions": self.n_questions,
            "median_timings_ms": self.median_timings_ms,
            "overall": self.overall, "per_split": self.per_split, "mean_chars_shown": self.mean_chars_shown,
            "per_document": self.per_document, "per_type": self.per_type,
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
            f"- characters shown per result (title, section, text, footnotes), mean over all hits: "
            f"{self.mean_chars_shown:.0f}",
            f"- command: `briefsearch eval --mode {self.mode}`", "",
            "## Test (reported, gated), dev (tuned on) and all", "", head, sep,
            *[row(s, self.per_split[s]) for s in ("test", "dev") if s in self.per_split],
            row("all", self.overall), "",
            "## Per document (all questions)", "", head, sep,
        ]
        lines += [row(doc, s) for doc, s in sorted(self.per_document.items())]
        lines += ["", "## Per question type", "", head, sep]
        lines += [row(t, s) for t, s in sorted(self.per_type.items())]
        missed = [o for o in self.outcomes if o.first_hit_rank is None or o.first_hit_rank > 5]
        lines += ["", f"## Questions not answered in the top 5 ({len(missed)})", ""]
        lines += [f"- {o.id} ({o.split}, {o.doc_id}, {o.type}): {o.question} — first hit: {o.first_hit_rank}"
                  for o in missed]
        if self.failures:
            lines += ["", "## Below threshold", ""] + [f"- {f}" for f in self.failures]
        return "\n".join(lines) + "\n"


def _slots(obj: object) -> dict:
    return {k: getattr(obj, k) for k in obj.__slots__}  # type: ignore[attr-defined]


def shown_text(chunk: Chunk) -> str:
    """What a search result shows of a passage: title, section path, text and footnotes."""
    return "\n".join([chunk.title, chunk.section, chunk.text, *chunk.footnotes])


def normalized_passages(searcher: Searcher) -> dict[str, list[tuple[int, str]]]:
    """Document id -> (chunk id, normalized shown text) of its passages: made once per run, not per question
    (KorQuAD's thousands of questions would otherwise normalize the whole index thousands of times)."""
    out: dict[str, list[tuple[int, str]]] = {}
    for chunk in searcher.index.chunks.values():
        out.setdefault(chunk.doc_id, []).append((chunk.chunk_id, normalize_evidence(shown_text(chunk))))
    return out


def relevant_chunks(searcher: Searcher, question: Question,
                    passages: dict[str, list[tuple[int, str]]] | None = None) -> set[int]:
    """Every indexed passage of the question's document whose shown text contains an evidence phrase.

    ``passages`` is ``normalized_passages(searcher)``, when the caller asks about many questions.
    """
    needles = [normalize_evidence(e) for e in question.evidence if normalize_evidence(e)]
    by_doc = passages if passages is not None else normalized_passages(searcher)
    return {chunk_id for chunk_id, hay in by_doc.get(question.doc_id, []) if any(n in hay for n in needles)}


def _groups(questions: list[Question], key: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for q in questions:
        value = getattr(q, key) or ("untyped" if key == "type" else "")
        if value:
            out.setdefault(value, []).append(q.id)
    return out


def run_eval(searcher: Searcher, questions: list[Question], mode: str = "hybrid", depth: int = 10) -> EvalReport:
    qrels: dict[str, dict[str, int]] = {}
    run: dict[str, dict[str, float]] = {}
    outcomes: list[QuestionOutcome] = []
    stages: dict[str, list[float]] = {}
    shown: list[int] = []
    searcher.search(questions[0].question, k=depth, mode=mode)  # warm-up, not timed
    passages = normalized_passages(searcher)
    for q in questions:
        relevant = relevant_chunks(searcher, q, passages)
        started = time.perf_counter()
        result = searcher.search(q.question, k=depth, mode=mode)
        latency = (time.perf_counter() - started) * 1000
        for stage, ms in result.timings.items():
            stages.setdefault(stage, []).append(ms)
        # a question whose evidence is in no passage can never be answered: count it as a miss
        qrels[q.id] = {str(c): 1 for c in relevant} or {"-1": 1}
        run[q.id] = {str(h.chunk.chunk_id): float(depth - i) for i, h in enumerate(result.hits)}
        shown += [len(shown_text(h.chunk)) for h in result.hits]
        first = next((h.rank for h in result.hits if h.chunk.chunk_id in relevant), None)
        outcomes.append(QuestionOutcome(q.id, q.doc_id, q.type, q.question, q.split, first, len(relevant),
                                        [h.chunk.chunk_id for h in result.hits], round(latency, 2)))
    ids = [q.id for q in questions]
    manifest = searcher.index.manifest
    return EvalReport(
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        mode=mode,
        n_questions=len(questions),
        overall=mean_scores(qrels, run, ids),
        per_split={s: mean_scores(qrels, run, v) for s, v in _groups(questions, "split").items()},
        mean_chars_shown=round(statistics.fmean(shown), 1) if shown else 0.0,
        per_document={d: mean_scores(qrels, run, v) for d, v in _groups(questions, "doc_id").items()},
        per_type={t: mean_scores(qrels, run, v) for t, v in _groups(questions, "type").items()},
        median_latency_ms=round(statistics.median(o.latency_ms for o in outcomes), 2) if outcomes else 0.0,
        index={"model": manifest.model, "chunker": manifest.chunker, "built_at": manifest.built_at,
               "n_chunks": manifest.n_chunks},
        median_timings_ms={k: round(statistics.median(v), 3) for k, v in stages.items()},
        outcomes=outcomes,
        qrels=qrels,
        run=run,
    )


def gated_scores(report: EvalReport) -> dict[str, float]:
    """The scores the regression gate reads: the test split's, or all questions' for an unsplit set."""
    return report.per_split.get("test", report.overall)


def check_thresholds(report: EvalReport, path: Path = THRESHOLDS, section: str | tuple[str, ...] | None = None
                     ) -> list[str]:
    """Metrics of the test split (evaluation/split.py) below the committed thresholds, as readable lines.

    The file's top-level numbers are the briefing set's floors; another question
    set keeps its floors in a named object beside them (``section``, e.g.
    "generalization", or a path into it: ("korquad", "ci_subset")), so every gate
    is read from one file; objects inside a section (its "answers" floors, read by
    evaluation/answers.py) are skipped here.
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    for key in (section,) if isinstance(section, str) else section or ():
        data = data[key]
    # numbers are retrieval floors; an object inside is a section of its own (the answers' floors)
    thresholds = {k: v for k, v in data.items() if not isinstance(v, dict)}
    scores = gated_scores(report)
    failures = []
    for metric, minimum in thresholds.items():
        value = scores.get(metric)
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


def split_ids(report: EvalReport, split: str) -> list[str]:
    """Question ids of one split of a report (all of them for an unsplit set)."""
    ids = [o.id for o in report.outcomes if o.split == split]
    return ids or [o.id for o in report.outcomes]


def significance(reports: dict[str, EvalReport], split: str = "test",
                 metrics: tuple[str, ...] = ("mrr@10", "hit_rate@1", "hit_rate@5", "ndcg@10")) -> str:
    """Paired significance of runs over the same questions (ranx.compare, Student's t-test, p < 0.05).

    The first report is the baseline; ranx marks with a letter each run a row is
    significantly better than.
    """
    from ranx import Qrels, Run, compare

    first = next(iter(reports.values()))
    ids = split_ids(first, split)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        qrels = Qrels({i: first.qrels[i] for i in ids})
        runs = [Run({i: rep.run[i] for i in ids}, name=name) for name, rep in reports.items()]
        table = compare(qrels, runs=runs, metrics=list(metrics), max_p=0.05, stat_test="student",
                        make_comparable=True)
    return str(table)


def ablation_markdown(reports: dict[str, EvalReport]) -> str:
    """Modes side by side, test and dev, per document, with paired significance on test from ranx.compare."""
    head = "| mode | split | " + " | ".join(LABELS[m] for m in METRICS) + " | median latency ms |"
    sep = "|---|---|" + "---:|" * (len(METRICS) + 1)
    first = next(iter(reports.values()))
    lines = ["# Ablation: dense vs lexical vs hybrid", "",
             f"- questions: {first.n_questions}; model: {first.index['model']['name']}; passages: "
             f"{first.index['n_chunks']}",
             f"- command: `briefsearch eval --ablation` ({first.created_at})", "",
             "## Test (reported) and dev (tuned on)", "", head, sep]
    for split in ("test", "dev", "all"):
        for mode, rep in reports.items():
            scores = rep.overall if split == "all" else rep.per_split.get(split)
            if scores:
                lines.append(f"| {mode} | {split} | " + " | ".join(f"{scores[m]:.3f}" for m in METRICS)
                             + f" | {rep.median_latency_ms:.1f} |")
    lines += ["", "## Per document (all questions)", ""]
    for doc in sorted(first.per_document):
        lines += [f"### {doc} (n={int(first.per_document[doc]['n'])})", "",
                  "| mode | " + " | ".join(LABELS[m] for m in METRICS) + " |", "|---|" + "---:|" * len(METRICS)]
        for mode, rep in reports.items():
            lines.append(f"| {mode} | " + " | ".join(f"{rep.per_document[doc][m]:.3f}" for m in METRICS) + " |")
        lines.append("")
    stages = sorted({s for r in reports.values() for s in r.median_timings_ms})
    lines += ["## Latency per stage (median ms, in-process, one query at a time)", "",
              "| mode | " + " | ".join(stages) + " |", "|---|" + "---:|" * len(stages)]
    for mode, rep in reports.items():
        lines.append(f"| {mode} | " + " | ".join(f"{rep.median_timings_ms.get(s, 0):.2f}" for s in stages) + " |")
    lines += ["", "## Significance on test (ranx.compare, paired Student's t-test, p < 0.05)", "", "```",
              significance(reports, "test"), "```", ""]
    return "\n".join(lines) + "\n"


def window_quality(ranked: list[list[int]], chunks: list[tuple[str, str]], questions: list[Question]) -> dict:
    """Recall@5 and MRR@10 of rankings over plain (doc_id, text) windows: the naive baselines' yardstick."""
    norm = [normalize_evidence(t) for _, t in chunks]
    r5 = mrr = 0.0
    for q, ids in zip(questions, ranked, strict=True):
        needles = [normalize_evidence(e) for e in q.evidence]
        for rank, i in enumerate(ids[:10], start=1):
            if chunks[i][0] == q.doc_id and any(n in norm[i] for n in needles):
                mrr += 1 / rank
                r5 += rank <= 5
                break
    return {"recall@5": round(r5 / len(questions), 3), "mrr@10": round(mrr / len(questions), 3)}

"""Answer quality and the answerable threshold.

* evidence rate: share of eval questions whose extractive answer contains one
  of the question's evidence phrases (same normalization as retrieval eval);
* missed-answer rate: eval questions (all answerable from the corpus) that
  /ask declares unanswerable;
* false-answer rate: off-corpus questions (``eval/off_corpus.jsonl``) that /ask
  answers anyway.

``calibrate`` sweeps the confidence threshold over both sets and returns the
one minimizing missed + false rates (ties: the higher threshold, safer).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path

from eval.evaluate import EVAL_DIR, REPORTS, Question, load_questions, normalize_evidence
from index.answer import Answerer

OFF_CORPUS = EVAL_DIR / "off_corpus.jsonl"


def load_off_corpus(path: Path = OFF_CORPUS) -> list[str]:
    return [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass(slots=True)
class AnswerStats:
    threshold: float
    n_questions: int
    n_off_corpus: int
    evidence_rate: float  # answered and containing evidence, over all eval questions
    missed_rate: float
    false_answer_rate: float
    on_confidences: list[float]
    off_confidences: list[float]
    misses: list[str]
    false_answers: list[str]


def measure(answerer: Answerer, questions: list[Question], off_corpus: list[str]) -> AnswerStats:
    on, off, hits, misses, false_answers = [], [], 0, [], []
    for q in questions:
        ans = answerer.ask(q.question, k=5)
        on.append(ans.features["confidence"])
        needles = [normalize_evidence(e) for e in q.evidence]
        if ans.answerable and any(n and n in normalize_evidence(ans.answer) for n in needles):
            hits += 1
        if not ans.answerable:
            misses.append(f"{q.id}: {q.question} (confidence {ans.confidence:.3f})")
    for text in off_corpus:
        ans = answerer.ask(text, k=5)
        off.append(ans.features["confidence"])
        if ans.answerable:
            false_answers.append(f"{text} (confidence {ans.confidence:.3f}) -> {ans.answer[:80]}")
    return AnswerStats(
        threshold=answerer.threshold, n_questions=len(questions), n_off_corpus=len(off_corpus),
        evidence_rate=round(hits / max(1, len(questions)), 4),
        missed_rate=round(len(misses) / max(1, len(questions)), 4),
        false_answer_rate=round(len(false_answers) / max(1, len(off_corpus)), 4),
        on_confidences=on, off_confidences=off, misses=misses, false_answers=false_answers,
    )


def calibrate(on: list[float], off: list[float]) -> tuple[float, float, float]:
    """(threshold, missed rate, false-answer rate) minimizing their sum.

    Thresholds are tried midway between consecutive observed confidences, so the
    chosen one never sits exactly on an observed question.
    """
    values = sorted(set(on) | set(off))
    candidates = [(a + b) / 2 for a, b in itertools.pairwise(values)] or values
    best = (0.0, 1.0, 1.0)
    for candidate in candidates:
        missed = sum(c < candidate for c in on) / max(1, len(on))
        false = sum(c >= candidate for c in off) / max(1, len(off))
        if missed + false < best[1] + best[2] or (missed + false == best[1] + best[2] and candidate > best[0]):
            best = (round(candidate, 4), missed, false)
    return best


def write_report(stats: AnswerStats, calibrated: tuple[float, float, float], directory: Path = REPORTS) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Answers: quality and the answerable threshold", "",
        "- command: `briefsearch eval --answers`",
        f"- eval questions: {stats.n_questions} (all answerable from the corpus); off-corpus questions: "
        f"{stats.n_off_corpus} (`eval/off_corpus.jsonl`)",
        f"- configured threshold: {stats.threshold}", "",
        "| metric | value |", "|---|---:|",
        f"| answer contains an evidence phrase (share of eval questions) | {stats.evidence_rate:.3f} |",
        f"| missed-answer rate (eval questions declared unanswerable) | {stats.missed_rate:.3f} |",
        f"| false-answer rate (off-corpus questions answered) | {stats.false_answer_rate:.3f} |", "",
        f"Calibration sweep (minimizing missed + false): threshold {calibrated[0]} gives missed "
        f"{calibrated[1]:.3f}, false {calibrated[2]:.3f}.", "",
        f"Confidence on eval questions: min {min(stats.on_confidences):.3f}, "
        f"median {sorted(stats.on_confidences)[len(stats.on_confidences) // 2]:.3f}; "
        f"off-corpus: max {max(stats.off_confidences):.3f}, "
        f"median {sorted(stats.off_confidences)[len(stats.off_confidences) // 2]:.3f}.", "",
        "## Missed", "", *[f"- {m}" for m in stats.misses], "",
        "## False answers", "", *[f"- {f}" for f in stats.false_answers], "",
    ]
    path = directory / "answers.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def run(answerer: Answerer, directory: Path = REPORTS) -> tuple[AnswerStats, tuple[float, float, float], Path]:
    stats = measure(answerer, load_questions(), load_off_corpus())
    calibrated = calibrate(stats.on_confidences, stats.off_confidences)
    return stats, calibrated, write_report(stats, calibrated, directory)

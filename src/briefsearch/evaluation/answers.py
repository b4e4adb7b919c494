"""Answer quality and the answerable threshold, on dev (calibrated) and test (reported).

* evidence rate: share of eval questions whose extractive answer contains one
  of the question's evidence phrases (same normalization as retrieval eval);
* missed-answer rate: eval questions (all answerable from the corpus) that
  /ask declares unanswerable;
* false-answer rate on near-domain negatives (``eval/negatives.jsonl``:
  questions on the briefings' own topics about programmes, funds, chips,
  places or figures no briefing mentions) and on trivial off-corpus questions
  (``eval/off_corpus.jsonl``), counted separately;
* English questions answered (the corpus is Korean; answers are its sentences).

``calibrate`` sweeps the confidence threshold over the dev questions and dev
negatives only and returns the one minimizing missed + false rates (ties: the
higher threshold, safer); test figures are measured at the configured one.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from briefsearch.answer.answerer import Answerer
from briefsearch.config import REPO_ROOT
from briefsearch.evaluation.evaluate import EVAL_DIR, REPORTS, THRESHOLDS, Question, load_questions, normalize_evidence
from briefsearch.ingest.sources import read_original
from briefsearch.structure.lines import PAGE_MARKER
from briefsearch.types import Answer

OFF_CORPUS = EVAL_DIR / "off_corpus.jsonl"
NEGATIVES = EVAL_DIR / "negatives.jsonl"
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Negative:
    """A question the corpus does not answer; ``absent`` are its key facts, found in no briefing."""

    id: str
    question: str
    split: str = ""
    type: str = ""
    near_doc: str = ""
    absent: list[str] = field(default_factory=list)


def load_off_corpus(path: Path = OFF_CORPUS) -> list[str]:
    return [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_negatives(path: Path = NEGATIVES) -> list[Negative]:
    return [Negative(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass(slots=True)
class SplitStats:
    """Answer figures over one split of the questions and negatives."""

    n_questions: int
    n_negatives: int
    evidence_rate: float  # answered and containing evidence, over all questions of the split
    missed_rate: float
    false_answer_rate: float  # near-domain negatives answered
    english_answered: str  # "answered of asked"
    on_confidences: list[float]  # Answer.confidence: 0 when an unknown name refused the question
    neg_confidences: list[float]
    on_crosslingual: list[bool]
    neg_crosslingual: list[bool]
    misses: list[str]
    wrong_answers: list[str]  # answered, but without the evidence
    false_answers: list[str]
    n_citations: int = 0  # citations of the answered questions
    inexact_citations: list[str] = field(default_factory=list)  # the file's slice is not the cited text


@dataclass(slots=True)
class AnswerStats:
    threshold: float
    splits: dict[str, SplitStats]
    n_off_corpus: int
    off_corpus_false_rate: float
    off_confidences: list[float]
    off_false_answers: list[str]


def holds_evidence(answer: str, question: Question) -> bool:
    """Whether an answer's text contains one of the question's evidence phrases (both normalized)."""
    text = normalize_evidence(answer)
    return any(n and n in text for n in map(normalize_evidence, question.evidence))


def citation_mismatches(answerer: Answerer, answer: Answer) -> list[str]:
    """Citations whose offsets do not slice the original file to the cited text (whitespace aside: a
    hard-wrapped line is cited as one sentence; and the page markers ("- 7 -") the text moves out of its body)."""
    out = []
    for cite in answer.citations:
        doc = answerer.searcher.index.documents[cite.doc_id]
        sliced = read_original(REPO_ROOT / doc.source, doc.encoding)[cite.char_start : cite.char_end]
        sliced = "\n".join(line for line in sliced.splitlines() if not PAGE_MARKER.match(line))
        if _WHITESPACE.sub("", sliced) != _WHITESPACE.sub("", cite.text):
            out.append(f"{cite.doc_id} [{cite.char_start}:{cite.char_end}] {sliced[:60]!r} != {cite.text[:60]!r}")
    return out


def measure_split(answerer: Answerer, questions: list[Question], negatives: list[Negative]) -> SplitStats:
    """Answer figures over one group of questions and negatives (a split, or a split's documents of one layout)."""
    on, neg, hits, misses, wrong, false_answers = [], [], 0, [], [], []
    on_xl, neg_xl = [], []
    english = [0, 0]
    n_citations, inexact = 0, []
    for q in questions:
        ans = answerer.ask(q.question, k=5)
        on.append(ans.confidence)
        on_xl.append(bool(ans.features["crosslingual"]))
        if q.type == "english":
            english[1] += 1
            english[0] += ans.answerable
        if ans.answerable and holds_evidence(ans.answer, q):
            hits += 1
        elif ans.answerable:
            wrong.append(f"{q.id}: {q.question} -> {ans.answer[:100]}")
        if ans.answerable:
            n_citations += len(ans.citations)
            inexact += [f"{q.id}: {m}" for m in citation_mismatches(answerer, ans)]
        if not ans.answerable:
            misses.append(f"{q.id}: {q.question} (confidence {ans.confidence:.3f})")
    for n in negatives:
        ans = answerer.ask(n.question, k=5)
        neg.append(ans.confidence)
        neg_xl.append(bool(ans.features["crosslingual"]))
        if ans.answerable:
            false_answers.append(f"{n.id}: {n.question} (confidence {ans.confidence:.3f}) -> {ans.answer[:80]}")
    return SplitStats(
        n_questions=len(questions), n_negatives=len(negatives),
        evidence_rate=round(hits / max(1, len(questions)), 4),
        missed_rate=round(len(misses) / max(1, len(questions)), 4),
        false_answer_rate=round(len(false_answers) / max(1, len(negatives)), 4),
        english_answered=f"{english[0]} of {english[1]}",
        on_confidences=on, neg_confidences=neg, on_crosslingual=on_xl, neg_crosslingual=neg_xl,
        misses=misses, wrong_answers=wrong, false_answers=false_answers,
        n_citations=n_citations, inexact_citations=inexact,
    )


def measure(answerer: Answerer, questions: list[Question], negatives: list[Negative],
            off_corpus: list[str]) -> AnswerStats:
    """Per split (dev, test; "all" for an unsplit set), plus the trivial off-corpus set."""
    names = sorted({q.split for q in questions} | {n.split for n in negatives}) or [""]
    splits = {(s or "all"): measure_split(answerer, [q for q in questions if q.split == s],
                                           [n for n in negatives if n.split == s]) for s in names}
    off, off_false = [], []
    for text in off_corpus:
        ans = answerer.ask(text, k=5)
        off.append(ans.confidence)
        if ans.answerable:
            off_false.append(f"{text} (confidence {ans.confidence:.3f}) -> {ans.answer[:80]}")
    return AnswerStats(threshold=answerer.settings.answer.threshold, splits=splits, n_off_corpus=len(off_corpus),
                       off_corpus_false_rate=round(len(off_false) / max(1, len(off_corpus)), 4),
                       off_confidences=off, off_false_answers=off_false)


def check_floors(stats: AnswerStats, path: Path = THRESHOLDS, section: tuple[str, ...] = ("answers",)) -> list[str]:
    """Test-split answer figures beyond the floors of one section of eval/thresholds.json.

    ``section`` is the path to the floors: ("answers",) for the briefings,
    ("generalization", "answers") for the laws and bills.
    """
    floors = json.loads(path.read_text(encoding="utf-8"))
    for key in section:
        floors = floors.get(key, {})
    test = stats.splits.get("test") or next(iter(stats.splits.values()))
    answered, asked = map(int, test.english_answered.split(" of "))
    values = {"evidence_rate": test.evidence_rate, "missed_rate": test.missed_rate,
              "false_answer_rate": test.false_answer_rate, "off_corpus_false_rate": stats.off_corpus_false_rate,
              "english_answered_share": answered / asked if asked else 1.0,
              "wrong_answer_rate": len(test.wrong_answers) / max(1, test.n_questions)}
    failures = []
    for key, floor in floors.items():
        bound, _, metric = key.partition("_")
        value = values.get(metric)
        if value is None or bound not in ("min", "max"):
            failures.append(f"{'/'.join(section)} {key}: unknown floor in {path.name}")
        elif (value < floor) if bound == "min" else (value > floor):
            failures.append(f"{'/'.join(section)} {metric} = {value:.3f}, floor {bound} {floor:.3f}")
    return failures


def calibrate(on: list[float], off: list[float], on_weights: list[float] | None = None,
              off_weights: list[float] | None = None) -> tuple[float, float, float]:
    """(threshold, missed rate, false-answer rate) minimizing their sum.

    Thresholds are tried midway between consecutive observed confidences, so the
    chosen one never sits exactly on an observed question. Each item counts
    1/len of its side unless weights are given (the calibration counts a wrong
    answer and a false one against the same threshold, each over its own set).
    """
    values = sorted(set(on) | set(off))
    candidates = np.array([(a + b) / 2 for a, b in itertools.pairwise(values)] or values)
    if not len(candidates):
        return (0.0, 1.0, 1.0)
    # counted with sorted arrays and cumulative weights: the calibration grid calls this thousands of times
    missed = _weight_below(on, on_weights, candidates)
    false = _weight_below(off, off_weights, candidates, above=True)
    total = missed + false
    i = max(np.flatnonzero(np.isclose(total, total.min())), key=lambda j: candidates[j])  # ties: the higher one
    return (round(float(candidates[i]), 4), float(missed[i]), float(false[i]))


def _weight_below(values: list[float], weights: list[float] | None, thresholds: np.ndarray,
                  above: bool = False) -> np.ndarray:
    """Summed weight of the values below each threshold (or at and above it)."""
    v = np.asarray(values, dtype=float)
    w = np.full(len(v), 1 / max(1, len(v))) if weights is None else np.asarray(weights, dtype=float)
    order = np.argsort(v)
    cum = np.concatenate([[0.0], np.cumsum(w[order])])
    below = cum[np.searchsorted(v[order], thresholds, side="left")]
    return cum[-1] - below if above else below


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2] if values else 0.0


def answer_table(columns: dict[str, SplitStats]) -> list[str]:
    """The answer figures as a Markdown table, one column per group (split, or split and layout)."""
    names = list(columns)
    cols = list(columns.values())

    def row(label: str, cells: list[str]) -> str:
        return f"| {label} | " + " | ".join(cells) + " |"

    return [
        row("metric", names), "|---|" + "---:|" * len(names),
        row("questions / negatives", [f"{c.n_questions} / {c.n_negatives}" for c in cols]),
        row("answer contains an evidence phrase (share of questions)", [f"{c.evidence_rate:.3f}" for c in cols]),
        row("answered without the evidence (share of questions)",
            [f"{len(c.wrong_answers) / max(1, c.n_questions):.3f}" for c in cols]),
        row("missed-answer rate (questions declared unanswerable)", [f"{c.missed_rate:.3f}" for c in cols]),
        row("false-answer rate, near-domain negatives", [f"{c.false_answer_rate:.3f}" for c in cols]),
        row("English questions answered", [c.english_answered for c in cols]),
    ]


def write_report(stats: AnswerStats, calibrated: tuple[float, float, float], directory: Path = REPORTS) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    order = [s for s in ("test", "dev", "all") if s in stats.splits]
    lines = [
        "# Answers: quality and the answerable threshold", "",
        "- command: `briefsearch eval --answers`",
        f"- eval questions (all answerable from the corpus) and near-domain negatives (`eval/negatives.jsonl`) "
        f"per split; trivial off-corpus questions: {stats.n_off_corpus} (`eval/off_corpus.jsonl`)",
        f"- configured threshold: {stats.threshold}", "",
        *answer_table({s: stats.splits[s] for s in order}),
        "", f"Trivial off-corpus questions answered: {len(stats.off_false_answers)} of {stats.n_off_corpus} "
        f"(rate {stats.off_corpus_false_rate:.3f}).", "",
        f"Check of the threshold on Korean-script dev questions and dev negatives (minimizing missed + false; "
        f"the weights and both thresholds are chosen by research/answers/calibrate_answers.py): threshold "
        f"{calibrated[0]} gives missed {calibrated[1]:.3f}, false {calibrated[2]:.3f}.", "",
    ]
    for s in order:
        st = stats.splits[s]
        lines += [f"Confidence ({s}): questions min {min(st.on_confidences, default=0):.3f}, median "
                  f"{_median(st.on_confidences):.3f}; negatives max {max(st.neg_confidences, default=0):.3f}, "
                  f"median {_median(st.neg_confidences):.3f}.", ""]
    for s in order:
        st = stats.splits[s]
        lines += [f"## Missed ({s})", "", *[f"- {m}" for m in st.misses], "",
                  f"## Answered without the evidence ({s})", "", *[f"- {m}" for m in st.wrong_answers], "",
                  f"## False answers to near-domain negatives ({s})", "", *[f"- {f}" for f in st.false_answers], ""]
    lines += ["## False answers to off-corpus questions", "", *[f"- {f}" for f in stats.off_false_answers], ""]
    path = directory / "answers.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def calibration_sets(stats: AnswerStats) -> tuple[list[float], list[float]]:
    """Confidences ``answer.threshold`` is checked on: Korean-script dev questions and dev negatives.

    (Cross-lingual questions have their own threshold; research/answers/calibrate_answers.py chose both and the
    weights.)
    """
    dev = stats.splits.get("dev") or stats.splits.get("all") or next(iter(stats.splits.values()))
    return ([c for c, x in zip(dev.on_confidences, dev.on_crosslingual, strict=True) if not x],
            [c for c, x in zip(dev.neg_confidences, dev.neg_crosslingual, strict=True) if not x])


def run(answerer: Answerer, directory: Path = REPORTS, questions: list[Question] | None = None,
        negatives: list[Negative] | None = None) -> tuple[AnswerStats, tuple[float, float, float], Path]:
    stats = measure(answerer, load_questions() if questions is None else questions,
                    load_negatives() if negatives is None else negatives, load_off_corpus())
    calibrated = calibrate(*calibration_sets(stats))
    return stats, calibrated, write_report(stats, calibrated, directory)

"""Answer quality and the answerable threshold, on dev (calibrated) and test (reported).

* evidence rate: share of eval questions whose extractive answer contains one
  of the question's evidence phrases (same normalization as retrieval eval);
* missed-answer rate: eval questions (all answerable from the corpus) that
  /ask declares unanswerable;
* false-answer rate on near-domain negatives (``eval/negatives.jsonl``:
  questions on the briefings' own topics about programmes, funds, chips,
  places or figures no briefing mentions) and on trivial off-corpus questions
  (``eval/off_corpus.jsonl``), counted separately;
* English questions answered (the corpus is Korean; answers are its sentences), and every figure above
  for Korean and English questions apart (an English question is answered on the cross-lingual path,
  against its own threshold).

``calibrate`` sweeps the confidence threshold over the dev questions and dev
negatives only and returns the one minimizing missed + false rates (ties: the
higher threshold, safer); ``calibrate_crosslingual`` chooses the English
threshold on the English dev questions and negatives, counting an answer
without the evidence as worse than a refusal (``WRONG_ANSWER_COST``); test
figures are measured at the configured thresholds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from briefsearch.answer.answerer import Answerer
from briefsearch.config import REPO_ROOT
from briefsearch.evaluation.evaluate import EVAL_DIR, REPORTS, THRESHOLDS, Question, load_questions, normalize_evidence
from briefsearch.ingest.sources import read_original
from briefsearch.retrieval.crosslingual import is_crosslingual
from briefsearch.structure.lines import PAGE_MARKER
from briefsearch.text.clean import RULE_RUN
from briefsearch.types import Answer

OFF_CORPUS = EVAL_DIR / "off_corpus.jsonl"
NEGATIVES = EVAL_DIR / "negatives.jsonl"
# English near-domain negatives written with english_dev.jsonl, to calibrate the English cut-off: dev only
ENGLISH_DEV_NEGATIVES = EVAL_DIR / "english_dev_negatives.jsonl"
LANGUAGES = ("Korean", "English")
# An English answer whose sentence lacks the fact (or that answers a question the corpus cannot) costs this many
# refusals in the English cut-off's calibration: a wrong sentence with a confident citation is worse than a
# refusal that shows the closest passages (issue 27), so an answer is given only where it holds the fact in at
# least 2 of 3 cases at the margin (cost / (1 + cost)).
WRONG_ANSWER_COST = 2.0
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


def load_negatives(path: Path | None = None) -> list[Negative]:
    """One JSONL file of negatives, or (no path) the eval set's: negatives.jsonl and the English dev negatives."""
    if path is None:
        optional = [ENGLISH_DEV_NEGATIVES] if ENGLISH_DEV_NEGATIVES.exists() else []
        return [n for part in (NEGATIVES, *optional) for n in load_negatives(part)]
    return [Negative(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass(slots=True)
class LanguageStats:
    """One split's answers to its Korean, or its English, questions and negatives (counts)."""

    n_questions: int = 0
    with_evidence: int = 0  # answered, and the answer holds an evidence phrase
    without_evidence: int = 0  # answered without one
    refused: int = 0  # declared unanswerable (missed)
    n_negatives: int = 0
    negatives_answered: int = 0


@dataclass(frozen=True, slots=True)
class Graded:
    """One English (cross-lingual) item as the English cut-off's calibration sees it: its confidence, and whether
    the answer it gets when answered holds the evidence (never, for a negative)."""

    confidence: float
    holds_evidence: bool
    negative: bool


@dataclass(frozen=True, slots=True)
class CrosslingualCut:
    """The English threshold ``calibrate_crosslingual`` chose, and what it gives on the items it was chosen on."""

    threshold: float
    with_evidence: int  # questions answered with the evidence
    missed: int  # questions whose answer holds the evidence, refused
    without_evidence: int  # questions answered without the evidence
    negatives_answered: int
    n_questions: int
    n_negatives: int
    cost: float

    @property
    def answered(self) -> int:
        return self.with_evidence + self.without_evidence + self.negatives_answered

    @property
    def precision(self) -> float:
        """Share of the answers given that hold the evidence (1 when nothing is answered)."""
        return self.with_evidence / self.answered if self.answered else 1.0


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
    by_language: dict[str, LanguageStats] = field(default_factory=dict)  # "Korean", "English"
    english_graded: list[Graded] = field(default_factory=list)  # the English items, for calibrate_crosslingual


@dataclass(slots=True)
class AnswerStats:
    threshold: float
    splits: dict[str, SplitStats]
    n_off_corpus: int
    off_corpus_false_rate: float
    off_confidences: list[float]
    off_false_answers: list[str]
    crosslingual_threshold: float = 0.0


def holds_evidence(answer: str, question: Question) -> bool:
    """Whether an answer's text contains one of the question's evidence phrases (both normalized)."""
    text = normalize_evidence(answer)
    return any(n and n in text for n in map(normalize_evidence, question.evidence))


def citation_mismatches(answerer: Answerer, answer: Answer) -> list[str]:
    """Citations whose offsets do not slice the original file to the cited text (whitespace aside: a
    hard-wrapped line is cited as one sentence; the page markers ("- 7 -") the text moves out of its body; and the
    drawn rules cleaning drops, as a 신·구조문대비표 marks an unchanged line "-----", text.clean.RULE_RUN)."""
    out = []
    for cite in answer.citations:
        doc = answerer.searcher.index.documents[cite.doc_id]
        sliced = read_original(REPO_ROOT / doc.source, doc.encoding)[cite.char_start : cite.char_end]
        sliced = RULE_RUN.sub(" ", "\n".join(line for line in sliced.splitlines() if not PAGE_MARKER.match(line)))
        if _WHITESPACE.sub("", sliced) != _WHITESPACE.sub("", cite.text):
            out.append(f"{cite.doc_id} [{cite.char_start}:{cite.char_end}] {sliced[:60]!r} != {cite.text[:60]!r}")
    return out


@contextlib.contextmanager
def every_answer_given(answerer: Answerer) -> Iterator[Answerer]:
    """The answerer with both thresholds below every confidence, restored after: the answer each question gets when
    it is answered (its sentences do not depend on the thresholds; an unknown name still refuses)."""
    searcher = answerer.searcher
    base = searcher.settings
    searcher.settings = base.tuned(answer={"threshold": float("-inf"), "crosslingual_threshold": float("-inf"),
                                           "fused_crosslingual_threshold": float("-inf")})
    try:
        yield answerer
    finally:
        searcher.settings = base


def grade_english(answerer: Answerer, questions: list[Question], negatives: list[Negative]) -> list[Graded]:
    """The English (cross-lingual) questions and negatives among these, each asked once with every answer given
    (Korean ones are not asked)."""
    share = answerer.settings.crosslingual.latin_share
    out = []
    with every_answer_given(answerer):
        for entry, negative in [(q, False) for q in questions] + [(n, True) for n in negatives]:
            if not is_crosslingual(entry.question, share):
                continue
            ans = answerer.ask(entry.question, k=5)
            if ans.features["crosslingual"]:
                held = not negative and ans.answerable and holds_evidence(ans.answer, entry)
                out.append(Graded(ans.confidence, held, negative))
    return out


def measure_split(answerer: Answerer, questions: list[Question], negatives: list[Negative]) -> SplitStats:
    """Answer figures over one group of questions and negatives (a split, or a split's documents of one layout)."""
    on, neg, hits, misses, wrong, false_answers = [], [], 0, [], [], []
    on_xl, neg_xl = [], []
    english = [0, 0]
    n_citations, inexact = 0, []
    languages = {name: LanguageStats() for name in LANGUAGES}
    graded: list[Graded] = []
    refused_english: list[Question] = []
    for q in questions:
        ans = answerer.ask(q.question, k=5)
        crosslingual = bool(ans.features["crosslingual"])
        language = languages["English" if crosslingual else "Korean"]
        language.n_questions += 1
        on.append(ans.confidence)
        on_xl.append(crosslingual)
        if q.type == "english":
            english[1] += 1
            english[0] += ans.answerable
        if ans.answerable and holds_evidence(ans.answer, q):
            hits += 1
            language.with_evidence += 1
        elif ans.answerable:
            wrong.append(f"{q.id}: {q.question} -> {ans.answer[:100]}")
            language.without_evidence += 1
        if ans.answerable:
            n_citations += len(ans.citations)
            inexact += [f"{q.id}: {m}" for m in citation_mismatches(answerer, ans)]
            if crosslingual:
                graded.append(Graded(ans.confidence, holds_evidence(ans.answer, q), False))
        if not ans.answerable:
            misses.append(f"{q.id}: {q.question} (confidence {ans.confidence:.3f})")
            language.refused += 1
            if crosslingual:
                refused_english.append(q)
    for n in negatives:
        ans = answerer.ask(n.question, k=5)
        crosslingual = bool(ans.features["crosslingual"])
        language = languages["English" if crosslingual else "Korean"]
        language.n_negatives += 1
        neg.append(ans.confidence)
        neg_xl.append(crosslingual)
        if crosslingual:
            graded.append(Graded(ans.confidence, False, True))
        if ans.answerable:
            false_answers.append(f"{n.id}: {n.question} (confidence {ans.confidence:.3f}) -> {ans.answer[:80]}")
            language.negatives_answered += 1
    graded += grade_english(answerer, refused_english, [])  # what a refused English question's answer would hold
    return SplitStats(
        n_questions=len(questions), n_negatives=len(negatives),
        evidence_rate=round(hits / max(1, len(questions)), 4),
        missed_rate=round(len(misses) / max(1, len(questions)), 4),
        false_answer_rate=round(len(false_answers) / max(1, len(negatives)), 4),
        english_answered=f"{english[0]} of {english[1]}",
        on_confidences=on, neg_confidences=neg, on_crosslingual=on_xl, neg_crosslingual=neg_xl,
        misses=misses, wrong_answers=wrong, false_answers=false_answers,
        n_citations=n_citations, inexact_citations=inexact, by_language=languages, english_graded=graded,
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
                       off_confidences=off, off_false_answers=off_false,
                       crosslingual_threshold=answerer.settings.answer.crosslingual_cut(
                           answerer.searcher.second_vectors is not None))


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
    english = test.by_language.get("English") or LanguageStats()
    values = {"evidence_rate": test.evidence_rate, "missed_rate": test.missed_rate,
              "false_answer_rate": test.false_answer_rate, "off_corpus_false_rate": stats.off_corpus_false_rate,
              "english_answered_share": answered / asked if asked else 1.0,
              "wrong_answer_rate": len(test.wrong_answers) / max(1, test.n_questions),
              "english_evidence_rate": english.with_evidence / max(1, english.n_questions),
              "english_wrong_answer_rate": english.without_evidence / max(1, english.n_questions),
              "english_false_answer_rate": english.negatives_answered / max(1, english.n_negatives)}
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


def calibrate_crosslingual(items: list[Graded], cost: float = WRONG_ANSWER_COST) -> CrosslingualCut:
    """The English threshold minimizing refusals of answers that hold the evidence + ``cost`` x answers that do not
    (to a question, or to a negative), each item counting once.

    Thresholds are tried midway between consecutive observed confidences (and above the highest: refuse all), so
    the chosen one never sits on an observed item; ties: the higher threshold (fewer answers).
    """
    if not items:
        return CrosslingualCut(0.0, 0, 0, 0, 0, 0, 0, 0.0)
    values = sorted({g.confidence for g in items})
    candidates = [(a + b) / 2 for a, b in itertools.pairwise(values)] + [values[-1] + 1e-3]
    best: CrosslingualCut | None = None
    for t in candidates:
        given = [g for g in items if g.confidence >= t]
        cut = CrosslingualCut(
            threshold=round(t, 4),
            with_evidence=sum(1 for g in given if g.holds_evidence and not g.negative),
            missed=sum(1 for g in items if g.holds_evidence and not g.negative and g.confidence < t),
            without_evidence=sum(1 for g in given if not g.holds_evidence and not g.negative),
            negatives_answered=sum(1 for g in given if g.negative),
            n_questions=sum(1 for g in items if not g.negative), n_negatives=sum(1 for g in items if g.negative),
            cost=0.0)
        cut = dataclasses.replace(cut, cost=cut.missed + cost * (cut.without_evidence + cut.negatives_answered))
        if best is None or cut.cost <= best.cost + 1e-9:
            best = cut
    assert best is not None
    return best


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


def language_table(columns: dict[str, SplitStats]) -> list[str]:
    """Korean and English questions apart, one column per split and language: counts, and shares of the
    language's questions (of its negatives for the last row)."""
    cells = {f"{name} {language}": split.by_language.get(language) or LanguageStats()
             for name, split in columns.items() for language in LANGUAGES}

    def share(n: int, of: int) -> str:
        return f"{n} ({n / of:.3f})" if of else "0"

    def row(label: str, values: list[str]) -> str:
        return f"| {label} | " + " | ".join(values) + " |"

    stats = list(cells.values())
    return [
        row("by language", list(cells)), "|---|" + "---:|" * len(cells),
        row("questions / negatives", [f"{c.n_questions} / {c.n_negatives}" for c in stats]),
        row("answered, the answer holds the evidence", [share(c.with_evidence, c.n_questions) for c in stats]),
        row("answered without the evidence", [share(c.without_evidence, c.n_questions) for c in stats]),
        row("refused (declared unanswerable)", [share(c.refused, c.n_questions) for c in stats]),
        row("near-domain negatives answered", [share(c.negatives_answered, c.n_negatives) for c in stats]),
    ]


def crosslingual_check(stats: AnswerStats) -> CrosslingualCut:
    """The English threshold ``calibrate_crosslingual`` gives on the dev split's English questions and negatives."""
    dev = stats.splits.get("dev") or stats.splits.get("all") or next(iter(stats.splits.values()))
    return calibrate_crosslingual(dev.english_graded)


def write_report(stats: AnswerStats, calibrated: tuple[float, float, float], directory: Path = REPORTS) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    order = [s for s in ("test", "dev", "all") if s in stats.splits]
    english = crosslingual_check(stats)
    lines = [
        "# Answers: quality and the answerable threshold", "",
        "- command: `briefsearch eval --answers`",
        f"- eval questions (all answerable from the corpus) and near-domain negatives (`eval/negatives.jsonl`; "
        f"English dev ones also in `eval/english_dev.jsonl`, `eval/english_dev_negatives.jsonl`) per split; "
        f"trivial off-corpus questions: {stats.n_off_corpus} (`eval/off_corpus.jsonl`)",
        f"- configured thresholds: {stats.threshold} (Korean), {stats.crosslingual_threshold} (English: mostly "
        f"Latin letters, the cross-lingual path)", "",
        *answer_table({s: stats.splits[s] for s in order}), "",
        *language_table({s: stats.splits[s] for s in order}),
        "", f"Trivial off-corpus questions answered: {len(stats.off_false_answers)} of {stats.n_off_corpus} "
        f"(rate {stats.off_corpus_false_rate:.3f}).", "",
        f"Check of the threshold on Korean-script dev questions and dev negatives (minimizing missed + false; "
        f"the weights and both thresholds are chosen by research/answers/calibrate_answers.py): threshold "
        f"{calibrated[0]} gives missed {calibrated[1]:.3f}, false {calibrated[2]:.3f}.", "",
        f"Check of the English threshold on the English dev questions and negatives (a refused answer that holds "
        f"the evidence costs 1, an answer without it or to a negative {WRONG_ANSWER_COST:g}; "
        f"research/answers/calibrate_english.py): threshold {english.threshold} answers {english.with_evidence} of "
        f"{english.n_questions} with the evidence, {english.without_evidence} without it, "
        f"{english.negatives_answered} of {english.n_negatives} negatives; {english.precision:.2f} of its answers "
        f"hold the evidence.", "",
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

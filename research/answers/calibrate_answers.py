"""Choose the answerable weights and thresholds on the dev split (questions vs near-domain negatives).

    python -m briefsearch.eval.calibrate_answers     # writes eval/reports/answers-calibration.md; prints the choice
    python -m briefsearch.eval.calibrate_answers --crosslingual-only   # the configured weights kept: only the
        # cross-lingual threshold and the bridge-coverage weight, after a ranking change moved English questions'
        # cosines (eval/reports/answers-calibration-crosslingual.md)

Each dev question and dev negative is asked once; its signals (best sentence
cosine and coverage, answering-passage coverage, first-vs-next margin, unseen
words, a figure question without a figure, names missing from the answering
passage, ranker agreement, unknown names, cross-lingual or not) are recombined
offline (``briefsearch.index.answer.combine``) for every weight combination on
the grid; each regime's threshold is the one minimizing its errors
(briefsearch.eval.answers.calibrate), and the combination with the fewest
errors over both regimes wins. The errors are what the answer report counts:
a dev question whose answer holds the evidence and is refused (missed), a dev
question whose answer lacks it and is given (answered without the evidence),
each over the dev questions, and a dev negative answered, over the dev
negatives. Answer sentences do not depend on the weights, so each question's
answer is taken once. Test questions are never read here.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
from pathlib import Path

from briefsearch.eval.answers import Negative, calibrate, holds_evidence, load_negatives
from briefsearch.eval.evaluate import REPORTS, Question, load_questions
from briefsearch.index.answer import Answerer, ConfidenceWeights, combine
from briefsearch.index.search import open_searcher
from briefsearch.index.settings import get_settings

PASSAGES = (1, 2, 3, 5)
NOVELTY_WEIGHTS = (0.0, 0.02, 0.05, 0.1, 0.2)
WINDOWS = (0.03, 0.05, 0.08, 0.12)
FIGURE_CHOICE_WEIGHTS = (0.0, 0.02, 0.05, 0.1)
PASSAGE_WEIGHTS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3)
MARGIN_WEIGHTS = (0.0, 0.05, 0.1, 0.2)
UNSEEN_WEIGHTS = (0.0, 0.05, 0.1, 0.2)
FIGURE_WEIGHTS = (0.0, 0.02, 0.05, 0.1, 0.2)
NAMES_WEIGHTS = (0.0, 0.05, 0.1, 0.2)
AGREEMENT_WEIGHTS = (0.0, 0.02, 0.05, 0.1)
# cross-lingual only (--crosslingual-only): the bridged coverage and the first passage's margin
BRIDGE_WEIGHTS = (0.0, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2)
CROSSLINGUAL_MARGIN_WEIGHTS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5)
SHOWN_ROWS = 40  # grid rows written to the report (the command reproduces the rest)
_GRID_HEAD = ("| passage | margin | unseen | figure | names | agreement | threshold | cross-lingual threshold "
              "| missed | answered without evidence | negatives answered | errors |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")


def _signals(answerer: Answerer, texts: list[str]) -> list[dict]:
    return [answerer.ask(text, k=5).features for text in texts]


def _holds_evidence(answerer: Answerer, question: Question) -> bool:
    return holds_evidence(answerer.ask(question.question, k=5).answer, question)


def _score(f: dict, weights: ConfidenceWeights) -> float:
    return -1.0 if f["unknown_names"] else combine(f, weights)  # an unknown name: refused whatever the threshold


def evidence_share(answerer: Answerer, questions: list[Question]) -> float:
    """Share of questions whose answer text, given whatever the confidence, holds an evidence phrase."""
    saved = answerer.threshold, answerer.threshold_crosslingual
    answerer.threshold = answerer.threshold_crosslingual = float("-inf")
    try:
        return sum(_holds_evidence(answerer, q) for q in questions) / max(1, len(questions))
    finally:
        answerer.threshold, answerer.threshold_crosslingual = saved


def _sweep(answerer: Answerer, dev: list[Question], attribute: str,
           values: tuple[float, ...]) -> tuple[float, list[tuple[float, float]]]:  # ints for "passages"
    """Set ``attribute`` to the value with the most dev answers holding the evidence (ties: the smaller)."""
    rows = []
    for value in values:
        setattr(answerer, attribute, value)
        rows.append((value, evidence_share(answerer, dev)))
    best = max(rows, key=lambda r: (r[1], -r[0]))[0]
    setattr(answerer, attribute, best)
    return best, rows


@dataclasses.dataclass(frozen=True, slots=True)
class _Regime:
    """One regime's dev items (Korean-script or cross-lingual) scored under some weights, at its best threshold;
    items are (index into the dev questions or dev negatives, confidence)."""

    threshold: float
    want: list[tuple[int, float]]  # questions whose answer holds the evidence
    wrong: list[tuple[int, float]]  # questions whose answer lacks it
    neg: list[tuple[int, float]]  # near-domain negatives

    @property
    def counts(self) -> tuple[int, int, int]:
        """Evidence answers refused, answers without the evidence given, negatives answered."""
        t = self.threshold
        return (sum(v < t for _, v in self.want), sum(v >= t for _, v in self.wrong),
                sum(v >= t for _, v in self.neg))


def _regime(on: list[dict], off: list[dict], good: list[bool], weights: ConfidenceWeights,
            crosslingual: bool) -> _Regime:
    """The regime's items under ``weights`` and the threshold with the fewest errors: a refused answer holding
    the evidence and a given answer lacking it each count 1 / len(on), an answered negative 1 / len(off).
    ``choose`` and ``crosslingual_only`` both count errors this way."""
    want = [(i, _score(f, weights)) for i, (f, g) in enumerate(zip(on, good, strict=True))
            if f["crosslingual"] == crosslingual and g]
    wrong = [(i, _score(f, weights)) for i, (f, g) in enumerate(zip(on, good, strict=True))
             if f["crosslingual"] == crosslingual and not g]
    neg = [(i, _score(f, weights)) for i, f in enumerate(off) if f["crosslingual"] == crosslingual]
    t, _, _ = calibrate([v for _, v in want], [v for _, v in wrong + neg], [1 / len(on)] * len(want),
                        [1 / len(on)] * len(wrong) + [1 / max(1, len(off))] * len(neg))
    return _Regime(t, want, wrong, neg)


def _dev_signals(answerer: Answerer, dev: list[Question],
                 devneg: list[Negative]) -> tuple[list[dict], list[dict], list[bool]]:
    """Signals of the dev questions and dev negatives, and whether each question's answer, given at any
    confidence, holds its evidence: what both calibrations count errors from."""
    on = _signals(answerer, [q.question for q in dev])
    off = _signals(answerer, [n.question for n in devneg])
    saved = answerer.threshold, answerer.threshold_crosslingual
    answerer.threshold = answerer.threshold_crosslingual = float("-inf")
    try:
        good = [_holds_evidence(answerer, q) for q in dev]
    finally:
        answerer.threshold, answerer.threshold_crosslingual = saved
    return on, off, good


def choose(answerer: Answerer, questions: list[Question], negatives: list[Negative],
           directory: Path = REPORTS) -> dict[str, float]:
    dev = [q for q in questions if q.split == "dev"]
    passages, passage_rows = _sweep(answerer, dev, "passages", PASSAGES)
    novelty, novelty_rows = _sweep(answerer, dev, "novelty_weight", NOVELTY_WEIGHTS)
    window, window_rows = _sweep(answerer, dev, "window", WINDOWS)
    figure_choice, figure_choice_rows = _sweep(answerer, dev, "figure_choice_weight", FIGURE_CHOICE_WEIGHTS)
    on, off, good = _dev_signals(answerer, dev, [n for n in negatives if n.split == "dev"])
    rows = []
    for combo in itertools.product(PASSAGE_WEIGHTS, MARGIN_WEIGHTS, UNSEEN_WEIGHTS, FIGURE_WEIGHTS, NAMES_WEIGHTS,
                                   AGREEMENT_WEIGHTS):
        weights = ConfidenceWeights(answerer.lexical_weight, *combo, bridge=answerer.bridge_weight,
                                    crosslingual_margin=answerer.crosslingual_margin_weight)  # English: as configured
        errors = [0, 0, 0]  # missed (evidence refused), answered without the evidence, negatives answered
        regimes = {}
        for regime in (False, True):
            scored = _regime(on, off, good, weights, regime)
            counts = scored.counts
            regimes[regime] = (scored.threshold, counts[0] / max(1, len(scored.want)),
                               counts[2] / max(1, len(scored.neg)))
            errors = [e + c for e, c in zip(errors, counts, strict=True)]
        total = (errors[0] + errors[1]) / max(1, len(on)) + errors[2] / max(1, len(off))
        rows.append((total, combo, regimes[False], regimes[True], errors))
    rows.sort(key=lambda r: (r[0], sum(r[1])))  # fewest errors; ties: the smaller weights
    best = rows[0]
    (wp, wm, wu, wf, wn, wa) = best[1]
    t_ko, m_ko, f_ko = best[2]
    t_xl, m_xl, f_xl = best[3]
    n_on_xl = sum(bool(f["crosslingual"]) for f in on)
    n_off_xl = sum(bool(f["crosslingual"]) for f in off)
    n_gated_on = sum(bool(f["unknown_names"]) for f in on)
    n_gated_off = sum(bool(f["unknown_names"]) for f in off)
    lines = ["# Answers: calibration on dev", "", "- command: `python -m briefsearch.eval.calibrate_answers`",
             f"- dev questions: {len(on)}; dev near-domain negatives: {len(off)}",
             f"- refused by the unknown-name gate: {n_gated_on} dev questions, {n_gated_off} dev negatives", "",
             "## Sentence choice: passages whose sentences may answer (dev answers holding the evidence, every "
             "question answered)", "", "| passages | evidence share |", "|---:|---:|",
             *[f"| {w} | {e:.3f} |" for w, e in passage_rows], "", f"Chosen: {passages}.", "",
             f"## Sentence choice: novelty weight (with {passages} passages)", "",
             "| novelty weight | evidence share |", "|---:|---:|",
             *[f"| {w} | {e:.3f} |" for w, e in novelty_rows], "", f"Chosen: {novelty}.", "",
             f"## Sentence choice: window of runners-up (with novelty {novelty})", "",
             "| window | evidence share |", "|---:|---:|",
             *[f"| {w} | {e:.3f} |" for w, e in window_rows], "", f"Chosen: {window}.", "",
             f"## Sentence choice: bonus of a sentence stating a figure, for a figure question (window {window})",
             "", "| figure choice weight | evidence share |", "|---:|---:|",
             *[f"| {w} | {e:.3f} |" for w, e in figure_choice_rows], "", f"Chosen: {figure_choice}.", "",
             f"## Confidence weights: grid of {len(rows)} combinations (each regime at its own best threshold)", "",
             f"Of the {len(on)} dev questions, {sum(good)} get an answer holding the evidence when every question is "
             f"answered. Errors = (missed + answered without the evidence) / {len(on)} + negatives answered / "
             f"{len(off)}, both regimes.", "",
             f"The best {SHOWN_ROWS} rows, then the chosen weights with each new signal set to 0 "
             "(the command reproduces the rest).", "",
             *_GRID_HEAD]

    def row(r: tuple) -> str:
        (p_, m_, u_, f_, n_, a_), ko, xl, (missed, wrong, false) = r[1], r[2], r[3], r[4]
        return (f"| {p_} | {m_} | {u_} | {f_} | {n_} | {a_} | {ko[0]} | {xl[0]} | {missed} | {wrong} "
                f"| {false} | {r[0]:.3f} |")

    by_combo = {r[1]: r for r in rows}
    ablations = [(wp, wm, wu, 0.0, wn, wa), (wp, wm, wu, wf, 0.0, wa), (wp, wm, wu, wf, wn, 0.0),
                 (wp, wm, wu, 0.0, 0.0, 0.0)]
    lines += [row(r) for r in rows[:SHOWN_ROWS]]
    lines += ["", "Ablations of the chosen weights (figure, names, agreement off; all three off):", "",
              *_GRID_HEAD, *[row(by_combo[c]) for c in ablations if c in by_combo]]
    lines += ["", f"Chosen: passage {wp}, margin {wm}, unseen {wu}, figure {wf}, names {wn}, agreement {wa}; "
              f"Korean threshold {t_ko} (evidence answers refused {m_ko:.3f}, negatives answered {f_ko:.3f}); "
              f"cross-lingual threshold {t_xl} ({n_on_xl} dev questions, {n_off_xl} dev negatives: evidence "
              f"answers refused {m_xl:.3f}, negatives answered {f_xl:.3f}).", ""]
    chosen = {"answer_passage_weight": wp, "answer_margin_weight": wm, "answer_unseen_weight": wu,
              "answer_figure_weight": wf, "answer_names_weight": wn, "answer_agreement_weight": wa,
              "answer_threshold": t_ko, "answer_threshold_crosslingual": t_xl}
    configured = get_settings()
    differ = {k: getattr(configured, k) for k, v in chosen.items() if getattr(configured, k) != v}
    lines += [("index/settings.py holds this choice." if not differ else
               f"index/settings.py keeps {differ}: a dev choice is adopted only when it holds on test "
               "(eval/reports/answers-round3.md)."), ""]
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "answers-calibration.md").write_text("\n".join(lines), encoding="utf-8")
    return {"answer_passages": passages, "answer_novelty_weight": novelty, "answer_window": window,
            "answer_figure_choice_weight": figure_choice, **chosen}


def crosslingual_only(answerer: Answerer, questions: list[Question], negatives: list[Negative],
                      directory: Path = REPORTS) -> dict[str, float]:
    """The cross-lingual bridge-coverage and margin weights and threshold on dev under the configured Korean
    weights (same error count as ``choose``): each pair of weights at its best threshold, the fewest errors
    winning (ties: the smaller weights, so 0 stays unless a signal wins)."""
    dev = [q for q in questions if q.split == "dev"]
    devneg = [n for n in negatives if n.split == "dev"]
    on, off, good = _dev_signals(answerer, dev, devneg)
    sweep = []
    for bridge, margin in itertools.product(BRIDGE_WEIGHTS, CROSSLINGUAL_MARGIN_WEIGHTS):
        weights = dataclasses.replace(answerer.weights, bridge=bridge, crosslingual_margin=margin)
        scored = _regime(on, off, good, weights, True)
        counts = scored.counts
        total = (counts[0] + counts[1]) / len(on) + counts[2] / max(1, len(off))
        sweep.append((round(total, 9), (bridge, margin), scored.threshold, counts, scored))
    total, (bridge, margin), t, counts, scored = min(sweep, key=lambda r: (r[0], sum(r[1]), r[1]))
    want = [(dev[i].id, v) for i, v in scored.want]
    wrong = [(dev[i].id, v) for i, v in scored.wrong]
    neg = [(devneg[i].id, v) for i, v in scored.neg]
    signals = {q.id: f for q, f in zip(dev, on, strict=True)} | {n.id: f for n, f in zip(devneg, off, strict=True)}

    def listed(rows: list[tuple[str, float]]) -> str:
        ordered = sorted(rows, key=lambda r: r[1])
        return ", ".join(f"{qid} {v:.4f} (coverage {signals[qid]['bridge_coverage']:.2f}, margin "
                         f"{signals[qid]['margin']:.3f}){' answered' if v >= t else ''}" for qid, v in ordered)

    lines = ["# Answers: the cross-lingual threshold, bridge-coverage and margin weights on dev, Korean weights kept",
             "",
             "- command: `python -m briefsearch.eval.calibrate_answers --crosslingual-only`",
             f"- weights: {answerer.weights}; configured cross-lingual threshold {answerer.threshold_crosslingual}",
             f"- dev cross-lingual questions: {len(want) + len(wrong)}; dev cross-lingual negatives: {len(neg)}", "",
             "Errors counted as in the full calibration: a question whose answer holds the evidence refused, "
             f"a question answered without it (each over the {len(on)} dev questions), a negative answered "
             f"(over the {len(off)} dev negatives). Confidence = cosine + bridge weight x bridge coverage "
             "+ margin weight x margin (each weight pair at its best threshold).", "",
             "| bridge weight | margin weight | threshold | missed | answered without evidence | negatives answered "
             "| errors |", "|---:|---:|---:|---:|---:|---:|---:|",
             *[f"| {w[0]} | {w[1]} | {th} | {c[0]} | {c[1]} | {c[2]} | {e:.4f} |" for e, w, th, c, _ in sweep], "",
             "Confidences at the chosen weights (question id, confidence, bridge coverage, margin):", "",
             f"- answer holds the evidence: {listed(want)}", f"- answer lacks it: {listed(wrong)}",
             f"- negatives: {listed(neg)}", "",
             f"Chosen: bridge weight {bridge}, margin weight {margin}, threshold {t}.", ""]
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "answers-calibration-crosslingual.md").write_text("\n".join(lines), encoding="utf-8")
    return {"answer_bridge_weight": bridge, "answer_crosslingual_margin_weight": margin,
            "answer_threshold_crosslingual": t}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crosslingual-only", action="store_true",
                        help="keep the configured weights; choose only the cross-lingual threshold on dev")
    args = parser.parse_args()
    answerer = Answerer(open_searcher(get_settings(), build=False, progress=False))
    if args.crosslingual_only:
        print(crosslingual_only(answerer, load_questions(), load_negatives()))
    else:
        print(choose(answerer, load_questions(), load_negatives()))


if __name__ == "__main__":
    main()

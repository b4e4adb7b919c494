"""Choose the answerable weights and thresholds on the dev split (questions vs near-domain negatives).

    python -m briefsearch.eval.calibrate_answers     # writes eval/reports/answers-calibration.md; prints the choice

Each dev question and dev negative is asked once; its signals (best sentence
cosine and coverage, answering-passage coverage, first-vs-next margin, unknown
names, cross-lingual or not) are recombined offline for every weight pair on
the grid, and each regime's threshold is the one minimizing missed + false
answers (briefsearch.eval.answers.calibrate). Test questions are never read here.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from briefsearch.eval.answers import Negative, calibrate, load_negatives
from briefsearch.eval.evaluate import REPORTS, Question, load_questions, normalize_evidence
from briefsearch.index.answer import Answerer
from briefsearch.index.search import open_searcher
from briefsearch.index.settings import get_settings

PASSAGES = (1, 2, 3, 5)
NOVELTY_WEIGHTS = (0.0, 0.02, 0.05, 0.1, 0.2)
WINDOWS = (0.03, 0.05, 0.08, 0.12)
PASSAGE_WEIGHTS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3)
MARGIN_WEIGHTS = (0.0, 0.05, 0.1, 0.2, 0.3)
UNSEEN_WEIGHTS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5)


def _signals(answerer: Answerer, texts: list[str]) -> list[dict]:
    return [answerer.ask(text, k=5).features for text in texts]


def _score(f: dict, lexical_weight: float, passage_weight: float, margin_weight: float,
           unseen_weight: float) -> float:
    if f["unknown_names"]:
        return -1.0  # refused whatever the threshold
    if f["crosslingual"]:
        return f["best_cosine"]
    return (f["best_cosine"] + lexical_weight * f["best_coverage"] + passage_weight * f["passage_coverage"]
            + margin_weight * f["margin"] - unseen_weight * f["unseen"])


def evidence_share(answerer: Answerer, questions: list[Question]) -> float:
    """Share of questions whose answer text, given whatever the confidence, holds an evidence phrase."""
    saved = answerer.threshold, answerer.threshold_crosslingual
    answerer.threshold = answerer.threshold_crosslingual = float("-inf")
    try:
        hits = 0
        for q in questions:
            text = normalize_evidence(answerer.ask(q.question, k=5).answer)
            hits += any(n and n in text for n in map(normalize_evidence, q.evidence))
        return hits / max(1, len(questions))
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


def choose(answerer: Answerer, questions: list[Question], negatives: list[Negative],
           directory: Path = REPORTS) -> dict[str, float]:
    dev = [q for q in questions if q.split == "dev"]
    passages, passage_rows = _sweep(answerer, dev, "passages", PASSAGES)
    novelty, novelty_rows = _sweep(answerer, dev, "novelty_weight", NOVELTY_WEIGHTS)
    window, window_rows = _sweep(answerer, dev, "window", WINDOWS)
    on = _signals(answerer, [q.question for q in questions if q.split == "dev"])
    off = _signals(answerer, [n.question for n in negatives if n.split == "dev"])
    lw = answerer.lexical_weight
    rows = []
    for wp, wm, wu in itertools.product(PASSAGE_WEIGHTS, MARGIN_WEIGHTS, UNSEEN_WEIGHTS):
        result = {}
        for regime in (False, True):
            on_s = [_score(f, lw, wp, wm, wu) for f in on if f["crosslingual"] == regime]
            off_s = [_score(f, lw, wp, wm, wu) for f in off if f["crosslingual"] == regime]
            result[regime] = (calibrate(on_s, off_s), len(on_s), len(off_s))
        (t_ko, m_ko, f_ko), n_on_ko, n_off_ko = result[False]
        missed = m_ko * n_on_ko
        false = f_ko * n_off_ko
        rows.append((missed / max(1, n_on_ko) + false / max(1, n_off_ko), wp, wm, wu, t_ko, m_ko, f_ko))
    rows.sort(key=lambda r: (r[0], r[1] + r[2] + r[3]))  # fewest errors; ties: the smaller weights
    best = rows[0]
    (t_xl, m_xl, f_xl), n_on_xl, n_off_xl = result[True]  # the cross-lingual score does not use the weights
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
             "## Korean regime: weight grid (missed + false rates at each pair's best threshold)", "",
             "| passage weight | margin weight | unseen weight | threshold | missed | false | sum |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {wp} | {wm} | {wu} | {t} | {m:.3f} | {f:.3f} | {s:.3f} |" for s, wp, wm, wu, t, m, f in rows]
    lines += ["", f"Chosen: passage weight {best[1]}, margin weight {best[2]}, unseen weight {best[3]}, threshold "
              f"{best[4]} (missed {best[5]:.3f}, false {best[6]:.3f}).", "",
              f"## Cross-lingual regime (cosine alone): {n_on_xl} dev questions, {n_off_xl} dev negatives", "",
              f"Threshold {t_xl} (missed {m_xl:.3f}, false {f_xl:.3f}).", ""]
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "answers-calibration.md").write_text("\n".join(lines), encoding="utf-8")
    return {"answer_passages": passages, "answer_novelty_weight": novelty, "answer_window": window,
            "answer_passage_weight": best[1], "answer_margin_weight": best[2], "answer_unseen_weight": best[3],
            "answer_threshold": best[4],
            "answer_threshold_crosslingual": t_xl}


def main() -> None:
    answerer = Answerer(open_searcher(get_settings(), build=False, progress=False))
    print(choose(answerer, load_questions(), load_negatives()))


if __name__ == "__main__":
    main()

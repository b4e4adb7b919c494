"""Would a fitted confidence model beat the hand-weighted one? Cross-validation within dev only.

    python -m briefsearch.eval.confidence_model      # prints held-out dev errors of the configured weights, a
        # logistic regression, and the weight grid of eval/calibrate_answers.py chosen on the training folds

The hand-weighted confidence (``answer.combine`` with the configured weights)
and a logistic regression over the same signals (scikit-learn, standardized,
sample weights = what each error costs in the calibration) are compared on
held-out folds of the dev questions and dev negatives (Korean-script ones;
cross-lingual questions are judged on the cosine alone, a single signal a
threshold already uses fully). In each fold both get their threshold from the
training folds (``answers.calibrate``, the calibration's error weights), so
neither sees the held-out items. Errors are what the answer report counts: a
question whose answer holds the evidence refused, a question answered without
it, a negative answered. Test questions are never read here.
"""

from __future__ import annotations

import itertools

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from briefsearch.eval.answers import calibrate, load_negatives
from briefsearch.eval.calibrate_answers import (
    AGREEMENT_WEIGHTS,
    FIGURE_WEIGHTS,
    MARGIN_WEIGHTS,
    NAMES_WEIGHTS,
    PASSAGE_WEIGHTS,
    UNSEEN_WEIGHTS,
    _dev_signals,
    _score,
)
from briefsearch.eval.evaluate import load_questions
from briefsearch.index.answer import Answerer, ConfidenceWeights
from briefsearch.index.search import open_searcher
from briefsearch.index.settings import get_settings

SIGNALS = ("best_cosine", "best_coverage", "passage_coverage", "margin", "unseen", "figure_miss", "names_missing",
           "agreement")
REPEATS = 10
FOLDS = 5
GRID_REPEATS = 3  # the grid is re-chosen in every fold: fewer repetitions
STRENGTHS = (0.1, 1.0, 10.0)  # inverse regularization strengths tried (each reported; none is chosen on test)


def _errors(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray, threshold: float) -> float:
    """Weighted errors at a threshold: label 1 refused, label 0 given."""
    answered = scores >= threshold
    return float(weights[(labels == 1) & ~answered].sum() + weights[(labels == 0) & answered].sum())


def _threshold(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> float:
    pos = labels == 1
    return calibrate(list(scores[pos]), list(scores[~pos]), list(weights[pos]), list(weights[~pos]))[0]


def compare(signals: list[dict], labels: np.ndarray, weights: np.ndarray, hand: np.ndarray, strength: float = 1.0,
            repeats: int = REPEATS, folds: int = FOLDS) -> list[tuple[float, float]]:
    """(hand, logistic) held-out weighted errors per repetition of stratified k-fold."""
    x = np.array([[float(f[s]) for s in SIGNALS] for f in signals])
    gated = np.array([bool(f["unknown_names"]) for f in signals])
    out = []
    for seed in range(repeats):
        hand_err = fit_err = 0.0
        for train, held in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, labels):
            t = _threshold(hand[train], labels[train], weights[train])
            hand_err += _errors(hand[held], labels[held], weights[held], t)
            model = make_pipeline(StandardScaler(), LogisticRegression(C=strength, max_iter=1000))
            model.fit(x[train], labels[train], logisticregression__sample_weight=weights[train])
            p = np.where(gated, -1.0, model.predict_proba(x)[:, 1])  # the unknown-name gate refuses either way
            t = _threshold(p[train], labels[train], weights[train])
            fit_err += _errors(p[held], labels[held], weights[held], t)
        out.append((hand_err, fit_err))
    return out


def _grid() -> list[tuple[float, ...]]:
    return list(itertools.product(PASSAGE_WEIGHTS, MARGIN_WEIGHTS, UNSEEN_WEIGHTS, FIGURE_WEIGHTS, NAMES_WEIGHTS,
                                  AGREEMENT_WEIGHTS))


def compare_grid(signals: list[dict], labels: np.ndarray, weights: np.ndarray, hand: np.ndarray, lexical: float,
                 repeats: int = GRID_REPEATS, folds: int = FOLDS) -> list[tuple[float, float]]:
    """(hand, grid) held-out weighted errors per repetition: in each fold the grid combination (and its threshold)
    with the fewest training-fold errors (ties: the smaller weights) is scored on the held-out fold."""
    grid = _grid()
    scores = np.array([[_score(f, ConfidenceWeights(lexical, *combo)) for f in signals] for combo in grid])
    out = []
    for seed in range(repeats):
        hand_err = grid_err = 0.0
        for train, held in StratifiedKFold(folds, shuffle=True, random_state=seed).split(scores.T, labels):
            t = _threshold(hand[train], labels[train], weights[train])
            hand_err += _errors(hand[held], labels[held], weights[held], t)
            best = None
            for row, combo in zip(scores, grid, strict=True):
                t = _threshold(row[train], labels[train], weights[train])
                key = (round(_errors(row[train], labels[train], weights[train], t), 9), sum(combo))
                if best is None or key < best[0]:
                    best = (key, row, t)
            _, row, t = best
            grid_err += _errors(row[held], labels[held], weights[held], t)
        out.append((hand_err, grid_err))
    return out


def main() -> None:
    answerer = Answerer(open_searcher(get_settings(), build=False, progress=False))
    dev = [q for q in load_questions() if q.split == "dev"]
    devneg = [n for n in load_negatives() if n.split == "dev"]
    on, off, good = _dev_signals(answerer, dev, devneg)
    rows = [(f, int(g), 1 / len(on)) for f, g in zip(on, good, strict=True) if not f["crosslingual"]]
    rows += [(f, 0, 1 / len(off)) for f in off if not f["crosslingual"]]
    signals = [r[0] for r in rows]
    labels = np.array([r[1] for r in rows])
    weights = np.array([r[2] for r in rows])
    hand = np.array([_score(f, answerer.weights) for f in signals])
    print(f"Korean-script dev items: {len(rows)} ({int(labels.sum())} answerable with the evidence); "
          f"{FOLDS}-fold, {REPEATS} repetitions; held-out errors (missed + wrong) / {len(on)} + false / {len(off)}")
    print("| C | hand weights, mean | logistic regression, mean | repetitions where logistic is better / worse |")
    print("|---:|---:|---:|---:|")
    for strength in STRENGTHS:
        results = np.array(compare(signals, labels, weights, hand, strength))
        better = int((results[:, 1] < results[:, 0] - 1e-9).sum())
        worse = int((results[:, 1] > results[:, 0] + 1e-9).sum())
        print(f"| {strength} | {results[:, 0].mean():.3f} | {results[:, 1].mean():.3f} | {better} / {worse} |")
    results = np.array(compare_grid(signals, labels, weights, hand, answerer.lexical_weight))
    print(f"\nWeight grid of eval/calibrate_answers.py ({len(_grid())} combinations) chosen on the training folds, "
          f"{FOLDS}-fold, {GRID_REPEATS} repetitions:\n")
    print("| repetition | hand weights | grid |\n|---:|---:|---:|")
    for i, (h, g) in enumerate(results):
        print(f"| {i} | {h:.3f} | {g:.3f} |")
    print(f"| mean | {results[:, 0].mean():.3f} | {results[:, 1].mean():.3f} |")

if __name__ == "__main__":
    main()

"""Choose the English (cross-lingual) answer threshold on the English dev questions and negatives (issue 27, item 4).

    python research/answers/calibrate_english.py --data-dir D    # -> research/answers/answers-calibration-english.md
    python research/answers/calibrate_english.py --data-dir D --before 0.8412   # compared with the earlier threshold

Runs against today's package (the index in D built by ``briefsearch --data-dir D index build``). Each English dev
question and English dev negative (eval/questions.jsonl + eval/english_dev.jsonl, eval/negatives.jsonl +
eval/english_dev_negatives.jsonl; split "dev"; English = the cross-lingual path's test, mostly Latin letters) is
asked once with every answer given, so its answer sentences and its confidence (both independent of the thresholds)
are known. The rule is ``briefsearch.evaluation.answers.calibrate_crosslingual``: the threshold minimizing
refused answers that hold the evidence + WRONG_ANSWER_COST (2) x answers without it (to a question, or to a
negative). It is scored against answers that hold the evidence, not against "answered". The sweep, the choice
under other costs, and a cross-validated check of re-choosing the two cross-lingual weights with it go to the
report. Test questions are never read here.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
from dataclasses import dataclass
from pathlib import Path

from briefsearch.answer.answerer import Answerer
from briefsearch.config import Settings
from briefsearch.evaluation.answers import (
    WRONG_ANSWER_COST,
    CrosslingualCut,
    Graded,
    calibrate_crosslingual,
    every_answer_given,
    holds_evidence,
    load_negatives,
)
from briefsearch.evaluation.evaluate import load_questions
from briefsearch.runtime.engine import open_searcher

REPORT = Path(__file__).resolve().parent / "answers-calibration-english.md"
COSTS = (1.0, 1.5, 2.0, 3.0, 4.0)
# the grid of calibrate_answers.py --crosslingual-only (research/answers/answers-calibration-crosslingual.md)
BRIDGE_WEIGHTS = (0.0, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2)
MARGIN_WEIGHTS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5)
FOLDS, REPEATS = 5, 10


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    source: str  # the file it comes from
    negative: bool
    holds_evidence: bool
    unknown_names: bool
    cosine: float
    bridge: float
    margin: float
    confidence: float  # as configured

    def graded(self, bridge_weight: float | None = None, margin_weight: float | None = None) -> Graded:
        """The item at the configured weights, or at others (an unknown name refuses it whatever they are)."""
        if bridge_weight is None or margin_weight is None:
            return Graded(self.confidence, self.holds_evidence, self.negative)
        score = 0.0 if self.unknown_names else self.cosine + bridge_weight * self.bridge + margin_weight * self.margin
        return Graded(score, self.holds_evidence, self.negative)


def collect(answerer: Answerer) -> list[Item]:
    """The English dev questions and negatives, each asked once with every answer given."""
    questions = [q for q in load_questions() if q.split == "dev"]
    negatives = [n for n in load_negatives() if n.split == "dev"]
    out = []
    with every_answer_given(answerer):
        for entry, negative in [(q, False) for q in questions] + [(n, True) for n in negatives]:
            ans = answerer.ask(entry.question, k=5)
            f = ans.features
            if not f["crosslingual"]:
                continue
            held = not negative and ans.answerable and holds_evidence(ans.answer, entry)
            out.append(Item(entry.id, "english_dev" if entry.id.startswith("ed") else "original", negative, held,
                            bool(f["unknown_names"]), f["best_cosine"], f["bridge_coverage"], f["margin"],
                            ans.confidence))
    return out


def _cost_at(items: list[Graded], threshold: float, cost: float) -> float:
    given = [g for g in items if g.confidence >= threshold]
    missed = sum(1 for g in items if g.holds_evidence and not g.negative and g.confidence < threshold)
    return missed + cost * sum(1 for g in given if not g.holds_evidence or g.negative)


def cross_validated(items: list[Item], cost: float) -> tuple[float, float]:
    """Held-out cost per repeat of (threshold alone at the configured weights, weights and threshold together),
    chosen on 4 folds and scored on the fifth."""
    rng = random.Random(0)
    alone = together = 0.0
    for _ in range(REPEATS):
        order = list(range(len(items)))
        rng.shuffle(order)
        for k in range(FOLDS):
            held_out = set(order[k::FOLDS])
            train = [it for i, it in enumerate(items) if i not in held_out]
            test = [it for i, it in enumerate(items) if i in held_out]
            cut = calibrate_crosslingual([it.graded() for it in train], cost)
            alone += _cost_at([it.graded() for it in test], cut.threshold, cost)
            best = min(((calibrate_crosslingual([it.graded(b, m) for it in train], cost), b, m)
                        for b in BRIDGE_WEIGHTS for m in MARGIN_WEIGHTS), key=lambda x: (x[0].cost, x[1], x[2]))
            together += _cost_at([it.graded(best[1], best[2]) for it in test], best[0].threshold, cost)
    return alone / REPEATS, together / REPEATS


def _row(cut: CrosslingualCut) -> str:
    return (f"| {cut.threshold} | {cut.with_evidence} | {cut.missed} | {cut.without_evidence} | "
            f"{cut.negatives_answered} | {cut.precision:.2f} | {cut.cost:g} |")


def _at(graded: list[Graded], threshold: float, cost: float) -> CrosslingualCut:
    """What a given threshold does on these items (the rule's bookkeeping, at a fixed threshold)."""
    given = [g for g in graded if g.confidence >= threshold]
    return CrosslingualCut(threshold, sum(1 for g in given if g.holds_evidence and not g.negative),
                           sum(1 for g in graded if g.holds_evidence and not g.negative and g.confidence < threshold),
                           sum(1 for g in given if not g.holds_evidence and not g.negative),
                           sum(1 for g in given if g.negative), sum(1 for g in graded if not g.negative),
                           sum(1 for g in graded if g.negative), _cost_at(graded, threshold, cost))


def report(items: list[Item], configured: float, bridge_weight: float, margin_weight: float,
           before: float) -> tuple[str, float]:
    graded = [it.graded() for it in items]
    chosen = calibrate_crosslingual(graded)
    questions = [it for it in items if not it.negative]
    lines = [
        "# Answers: the English threshold on English dev questions, against answers that hold the evidence", "",
        "- command: `python research/answers/calibrate_english.py --data-dir D` (index built by "
        "`briefsearch --data-dir D index build`)",
        f"- English dev questions: {len(questions)} ({sum(it.source == 'original' for it in questions)} of "
        f"eval/questions.jsonl, {sum(it.source == 'english_dev' for it in questions)} of eval/english_dev.jsonl); "
        f"their answers, every question answered, hold the evidence for "
        f"{sum(it.holds_evidence for it in questions)}",
        f"- English dev negatives: {sum(it.negative for it in items)} "
        f"({sum(it.negative and it.source == 'original' for it in items)} of eval/negatives.jsonl, "
        f"{sum(it.negative and it.source == 'english_dev' for it in items)} of eval/english_dev_negatives.jsonl)",
        f"- confidence as configured: cosine + {bridge_weight} x bridged coverage + {margin_weight} x margin; "
        f"threshold configured when this ran: {configured}", "",
        f"Rule (`calibrate_crosslingual`): the threshold minimizing (answers that hold the evidence, refused) + "
        f"{WRONG_ANSWER_COST:g} x (answers without the evidence + negatives answered); candidates midway between "
        "observed confidences; ties: the higher. An answer is worth giving where it holds the fact at least "
        f"{WRONG_ANSWER_COST / (1 + WRONG_ANSWER_COST):.2f} of the time.", "",
        f"**Chosen: {chosen.threshold}** ({chosen.with_evidence} of {chosen.n_questions} questions answered with "
        f"the evidence, {chosen.without_evidence} without it, {chosen.negatives_answered} of {chosen.n_negatives} "
        f"negatives answered; {chosen.precision:.2f} of the answers hold the evidence).", "",
        f"At {before} (`--before`, the threshold to compare with) and at the chosen one, in the rule's bookkeeping:",
        "",
        "| threshold | answered with evidence | refused, evidence held | answered without | negatives answered "
        "| answers holding the evidence | cost |", "|---:|---:|---:|---:|---:|---:|---:|",
        _row(_at(graded, before, WRONG_ANSWER_COST)), _row(chosen), "",
        "## Other costs of an answer without the evidence", "",
        "| cost | threshold | answered with evidence | refused, evidence held | answered without | negatives answered "
        "| answers holding the evidence | cost total |", "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for cost in COSTS:
        cut = calibrate_crosslingual(graded, cost)
        lines.append(f"| {cost:g} " + _row(cut))
    alone, together = cross_validated(items, WRONG_ANSWER_COST)
    lines += [
        "", "## Re-choosing the two cross-lingual weights with the threshold", "",
        f"The 63 weight pairs of the earlier grid (bridge {BRIDGE_WEIGHTS}, margin {MARGIN_WEIGHTS}), each at its "
        f"best threshold, chosen inside {FOLDS}-fold splits of these items ({REPEATS} shuffles) and scored on the "
        f"held-out fold: cost {together:.1f} per pass over the items, against {alone:.1f} for the threshold alone "
        f"at the configured weights, and {_cost_at(graded, before, WRONG_ANSWER_COST):g} at {before} (nothing "
        f"chosen). {'The weights stay.' if alone <= together else 'Re-choosing the weights wins.'}",
        "", "## Sweep (thresholds from 0.80)", "",
        "| threshold | answered with evidence | refused, evidence held | answered without | negatives answered "
        "| answers holding the evidence | cost |", "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    values = sorted({g.confidence for g in graded})
    for a, b in itertools.pairwise(values):
        t = round((a + b) / 2, 4)
        if t >= 0.80:
            lines.append(_row(_at(graded, t, WRONG_ANSWER_COST)))
    lines += ["", "## Items (confidence as configured)", ""]
    for label, keep in (("answer holds the evidence", lambda it: not it.negative and it.holds_evidence),
                        ("answer lacks it", lambda it: not it.negative and not it.holds_evidence),
                        ("negatives", lambda it: it.negative)):
        shown = sorted((it for it in items if keep(it)), key=lambda it: it.confidence)
        lines.append(f"- {label}: " + ", ".join(
            f"{it.id} {it.confidence:.4f}{' (unknown name)' if it.unknown_names else ''}" for it in shown))
    return "\n".join(lines) + "\n", chosen.threshold


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="data dir holding the built index")
    parser.add_argument("--report", type=Path, default=REPORT)
    parser.add_argument("--before", type=float, help="a threshold to compare with (default: the configured one)")
    args = parser.parse_args(argv)
    settings = Settings(data_dir=args.data_dir)
    answerer = Answerer(open_searcher(settings, build=False, progress=False))
    tuned = settings.answer
    before = tuned.crosslingual_threshold if args.before is None else args.before
    text, chosen = report(collect(answerer), tuned.crosslingual_threshold, tuned.bridge_coverage_weight,
                          tuned.margin_weight, before)
    args.report.write_text(text, encoding="utf-8")
    print(f"English threshold chosen on dev: {chosen} -> {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

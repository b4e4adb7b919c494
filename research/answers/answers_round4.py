"""Round 4 of the answers work: why dev questions are missed or answered without the evidence.

    python -m briefsearch.eval.answers_round4          # prints the dev failure table (Markdown) and the dev figures
    python -m briefsearch.eval.answers_round4 --sweep answer_continuation 0 1 2 3   # dev figures per value
    python -m briefsearch.eval.answers_round4 --latin-gate   # English: refusing on Latin names the corpus lacks

Dev only: test questions are never read here. Each dev question that /ask
refuses, or answers without an evidence phrase, is put in one class:

* (i) the top passage holds the evidence and the answer given at any confidence holds it: the confidence is
  under the threshold;
* (ii) the top passage holds the evidence in one sentence the answer did not choose;
* (iii) the top passage does not hold the evidence (ranking; the rank of the first passage that does is shown);
* (iv) the top passage holds the evidence but no single sentence does (it runs over several), or the sentence
  holding it directly follows a chosen one (the answer stops before the continuation of its list).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from briefsearch.eval.answers import Negative, calibrate, holds_evidence, load_negatives
from briefsearch.eval.calibrate_answers import _dev_signals, _score
from briefsearch.eval.evaluate import Question, load_questions, normalize_evidence
from briefsearch.index.answer import Answer, Answerer
from briefsearch.index.chunk import Chunk
from briefsearch.index.salience import salient_names
from briefsearch.index.search import open_searcher
from briefsearch.index.settings import get_settings


@dataclass(frozen=True, slots=True)
class Failure:
    id: str
    question: str
    outcome: str  # "missed" | "wrong"
    cls: str
    confidence: float
    detail: str


def _shown(chunk: Chunk) -> str:
    return normalize_evidence("\n".join([chunk.title, chunk.section, chunk.text, *chunk.footnotes]))


def _phrases(q: Question) -> list[str]:
    return [p for p in map(normalize_evidence, q.evidence) if p]


def forced_answer(answerer: Answerer, question: str, k: int = 10) -> Answer:
    """The answer /ask would give at any confidence (both thresholds lifted for this one call)."""
    saved = answerer.threshold, answerer.threshold_crosslingual
    answerer.threshold = answerer.threshold_crosslingual = float("-inf")
    try:
        return answerer.ask(question, k=k)
    finally:
        answerer.threshold, answerer.threshold_crosslingual = saved


def classify(answerer: Answerer, q: Question) -> Failure | None:
    """The failure class of one dev question, or None when its answer holds the evidence."""
    ans = answerer.ask(q.question, k=5)
    if ans.answerable and holds_evidence(ans.answer, q):
        return None
    outcome = "wrong" if ans.answerable else "missed"
    forced = forced_answer(answerer, q.question)
    phrases = _phrases(q)
    conf = ans.confidence
    gate = " (unknown names: " + ", ".join(ans.features["unknown_names"]) + ")" if ans.features.get(
        "unknown_names") else ""
    top = forced.hits[0].chunk if forced.hits else None
    if top is None or not any(p in _shown(top) for p in phrases):
        rank = next((h.rank for h in forced.hits if any(p in _shown(h.chunk) for p in phrases)), None)
        return Failure(q.id, q.question, outcome, "iii", conf, f"evidence at rank {rank or '>10'}{gate}")
    if holds_evidence(forced.answer, q):
        return Failure(q.id, q.question, outcome, "i", conf, f"forced answer holds it{gate}")
    sentences = [normalize_evidence(top.text[a:b]) for a, b, *_ in top.sentences]
    holding = [i for i, s in enumerate(sentences) if any(p in s for p in phrases)]
    chosen = sorted(i for c in forced.citations if c.chunk_id == top.chunk_id
                    for i, (_, _, s0, s1, *_) in enumerate(top.sentences) if s0 <= c.char_start < s1 or
                    c.char_start == s0)
    if not holding:
        return Failure(q.id, q.question, outcome, "iv", conf, f"evidence runs over sentences; chosen {chosen}{gate}")
    if chosen and any(h == max(chosen) + 1 for h in holding):
        return Failure(q.id, q.question, outcome, "iv",
                       conf, f"evidence in sentence {holding}, right after chosen {chosen}{gate}")
    return Failure(q.id, q.question, outcome, "ii", conf, f"evidence in sentence {holding}; chosen {chosen}{gate}")


def dev_figures(answerer: Answerer, dev: list[Question], devneg: list[Negative]) -> dict[str, float | str]:
    """Evidence / wrong / missed shares of the dev questions, dev negatives answered, English answered."""
    good = wrong = missed = 0
    english = [0, 0]
    for q in dev:
        ans = answerer.ask(q.question, k=5)
        if q.type == "english":
            english[0] += ans.answerable
            english[1] += 1
        if not ans.answerable:
            missed += 1
        elif holds_evidence(ans.answer, q):
            good += 1
        else:
            wrong += 1
    false = sum(answerer.ask(n.question, k=5).answerable for n in devneg)
    n = max(1, len(dev))
    return {"evidence": round(good / n, 3), "wrong": round(wrong / n, 3), "missed": round(missed / n, 3),
            "negatives answered": f"{false} of {len(devneg)}", "english answered": f"{english[0]} of {english[1]}"}


def table(failures: list[Failure]) -> list[str]:
    lines = ["| question | outcome | class | confidence | detail |", "|---|---|---|---:|---|"]
    for f in sorted(failures, key=lambda f: (f.cls, f.id)):
        lines.append(f"| {f.id} {f.question[:60]} | {f.outcome} | {f.cls} | {f.confidence:.3f} | {f.detail} |")
    counts = {c: sum(f.cls == c for f in failures) for c in ("i", "ii", "iii", "iv")}
    lines += ["", "Counts: " + ", ".join(f"({c}) {n}" for c, n in counts.items()) + f"; {len(failures)} in all."]
    return lines


def sweep(answerer: Answerer, dev: list[Question], devneg: list[Negative], setting: str,
          values: list[float]) -> list[str]:
    """Dev figures with one answer setting at each value (the searcher's settings stay as configured)."""
    attribute = {"answer_continuation": "continuation", "answer_threshold": "threshold",
                 "answer_threshold_crosslingual": "threshold_crosslingual"}[setting]
    saved = getattr(answerer, attribute)
    lines = [f"| {setting} | evidence | wrong | missed | negatives answered | English answered |",
             "|---:|---:|---:|---:|---:|---:|"]
    try:
        for value in values:
            setattr(answerer, attribute, type(saved)(value))
            f = dev_figures(answerer, dev, devneg)
            lines.append(f"| {value} | {f['evidence']} | {f['wrong']} | {f['missed']} | {f['negatives answered']} "
                         f"| {f['english answered']} |")
    finally:
        setattr(answerer, attribute, saved)
    return lines


LATIN_RULES = {
    "an acronym (all capitals) unknown": lambda names, known: any(n.isupper() and not k for n, k in zip(
        names, known, strict=True)),
    "every Latin name unknown": lambda names, known: bool(names) and not any(known),
    "any Latin name unknown": lambda names, known: not all(known),
}


def latin_gate(answerer: Answerer, dev: list[Question], devneg: list[Negative]) -> list[str]:
    """English dev questions and negatives under each Latin-name refusal rule, the cross-lingual threshold
    re-chosen on dev for each (errors counted as eval/calibrate_answers.py counts them)."""
    on, off, good = _dev_signals(answerer, dev, devneg)
    items = [(q.question, f, 1 if g else 0, 1 / len(on)) for q, f, g in zip(dev, on, good, strict=True)
             if f["crosslingual"]]
    items += [(n.question, f, -1, 1 / len(off)) for n, f in zip(devneg, off, strict=True) if f["crosslingual"]]
    lines = ["| rule | refused: questions with evidence / without / negatives | cross-lingual threshold | "
             "English answered | with evidence | negatives answered |", "|---|---|---:|---:|---:|---:|"]
    for rule, fires in {"none (main)": lambda names, known: False, **LATIN_RULES}.items():
        scores, gated = [], [0, 0, 0]
        for text, f, label, _ in items:
            names = [n for n in salient_names(answerer.searcher.korean, text) if n.isascii()]
            hit = fires(names, [answerer.mentions.mentions(n) for n in names])
            gated[{1: 0, 0: 1, -1: 2}[label]] += hit
            scores.append(-1.0 if hit else _score(f, answerer.weights))
        want = [(s, w) for s, (_, _, label, w) in zip(scores, items, strict=True) if label == 1]
        other = [(s, w) for s, (_, _, label, w) in zip(scores, items, strict=True) if label != 1]
        t, _, _ = calibrate([s for s, _ in want], [s for s, _ in other], [w for _, w in want], [w for _, w in other])
        answered = [(s >= t, label) for s, (_, _, label, _) in zip(scores, items, strict=True)]
        n_q = sum(label >= 0 for _, _, label, _ in items)
        lines.append(f"| {rule} | {gated[0]} / {gated[1]} / {gated[2]} | {t} | "
                     f"{sum(a for a, label in answered if label >= 0)} of {n_q} | "
                     f"{sum(a for a, label in answered if label == 1)} | "
                     f"{sum(a for a, label in answered if label == -1)} of {len(items) - n_q} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latin-gate", action="store_true", help="English dev items under Latin-name rules")
    parser.add_argument("--sweep", nargs="+", metavar=("SETTING", "VALUE"),
                        help="an answer setting and the values to measure on dev")
    args = parser.parse_args()
    answerer = Answerer(open_searcher(get_settings(), build=False, progress=False))
    dev = [q for q in load_questions() if q.split == "dev"]
    devneg = [n for n in load_negatives() if n.split == "dev"]
    if args.latin_gate:
        print("\n".join(latin_gate(answerer, dev, devneg)))
        return
    if args.sweep:
        print("\n".join(sweep(answerer, dev, devneg, args.sweep[0], [float(v) for v in args.sweep[1:]])))
        return
    failures = [f for q in dev if (f := classify(answerer, q)) is not None]
    print("\n".join(table(failures)))
    print()
    print(dev_figures(answerer, dev, devneg))


if __name__ == "__main__":
    main()

"""Sweep ranking knobs on the merged system's dev questions: briefings and generalization set together.

    python -m briefsearch.eval.generalization            # first: builds var/generalization (seed corpus + laws/bills)
    python -m briefsearch.eval.sweep_merged [--data-dir var/generalization]

One index holds both sets (as a user who added the laws would have it). Each
knob is swept on top of the ones already chosen; a value wins on the dev
questions of both sets together (best MRR@10, ties: Recall@1; equals keep the
configured value). Test figures of every run are printed beside dev, never
used to choose. The BM25 title field (``lexical_title_repeat``, a candidate
not in Settings: rejected on dev, see eval/reports/merged-sweep.md) changes
the lexical rows only, so its variants rebuild the lexical index in memory
instead of re-embedding.

Writes eval/reports/merged-sweep.md and .json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from briefsearch.eval.evaluate import LABELS, METRICS, REPORTS, EvalReport, Question, _scores, load_questions, run_eval
from briefsearch.eval.generalization import load_split_questions
from briefsearch.index.chunk import Chunk
from briefsearch.index.lexical import LexicalAnalyzer, LexicalIndex
from briefsearch.index.search import Searcher, open_searcher
from briefsearch.index.settings import Settings

SETS = ("briefings", "generalization")
SWEEPS: list[tuple[str, list[object]]] = [
    ("lexical_title_repeat", [0, 1, 2, 3]),
    ("dense_weight", [0.4, 0.5, 0.6, 0.7, 0.8]),
    ("sentence_weight", [0.0, 0.1, 0.2, 0.3, 0.4]),
    ("fusion_depth", [50, 100, 200]),
]


def lexical_rows(chunks: list[Chunk], analyzer: LexicalAnalyzer, title_repeat: int) -> list[list[str]]:
    """BM25 rows: each passage's own terms plus its document title's, ``title_repeat`` times.

    The title as a second, weighted field (repetition is how one-field BM25
    weights a field): bills share identical sections (cost estimates), and only
    the title says which bill a passage is from.
    """
    titles: dict[str, list[str]] = {}
    rows = []
    for chunk in chunks:
        if chunk.title not in titles:
            titles[chunk.title] = analyzer.terms(chunk.title) if title_repeat else []
        rows.append(chunk.terms + titles[chunk.title] * title_repeat)
    return rows


def _relexicalize(searcher: Searcher, title_repeat: int) -> None:
    """Swap in a BM25 index whose rows carry the document title ``title_repeat`` times."""
    chunks = sorted(searcher.index.chunks.values(), key=lambda c: c.chunk_id)
    settings = searcher.settings
    searcher.index.lexical = LexicalIndex.build(lexical_rows(chunks, searcher.analyzer, title_repeat),
                                                [c.chunk_id for c in chunks], settings.bm25_k1, settings.bm25_b)


def _run(searcher: Searcher, base: Settings, questions: list[Question], update: dict) -> EvalReport:
    searcher.settings = base.model_copy(update={k: v for k, v in update.items() if k in Settings.model_fields})
    try:
        return run_eval(searcher, questions, mode="hybrid")
    finally:
        searcher.settings = base


def _by_set(report: EvalReport, sets: dict[str, set[str]]) -> dict[str, dict[str, float]]:
    """Scores per (set, split) and per split over both sets."""
    split_of = {o.id: o.split for o in report.outcomes}
    out = {}
    for split in ("dev", "test"):
        for name, ids in [*sets.items(), ("both", set().union(*sets.values()))]:
            chosen = [i for i in ids if split_of[i] == split]
            out[f"{name} {split}"] = _scores(report.qrels, report.run, chosen)
    return out


def _row(label: str, scores: dict[str, float]) -> str:
    return f"| {label} | {int(scores['n'])} | " + " | ".join(f"{scores[m]:.3f}" for m in METRICS) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="index with both sets (var/generalization)")
    args = parser.parse_args()
    base = Settings()
    settings = base.model_copy(update={"data_dir": (args.data_dir or base.data_dir / "generalization").resolve()})
    searcher = open_searcher(settings, build=False, progress=False)
    briefings, general = load_questions(), load_split_questions()
    questions = briefings + general
    sets = {"briefings": {q.id for q in briefings}, "generalization": {q.id for q in general}}
    assert not sets["briefings"] & sets["generalization"], "question ids must differ between the sets"
    head = "| variant, set split | n | " + " | ".join(LABELS[m] for m in METRICS) + " |"
    sep = "|---|---:|" + "---:|" * len(METRICS)
    lines = ["# Merged sweep: briefings + generalization set in one index", "",
             "- command: `python -m briefsearch.eval.sweep_merged` (index: var/generalization, built by "
             "`python -m briefsearch.eval.generalization`)",
             f"- questions: {len(questions)}; each knob chosen on both sets' dev questions together "
             "(best MRR@10, ties: Recall@1); test rows are read, never used to choose", ""]
    chosen: dict[str, object] = {}
    results: dict[str, dict] = {}
    for knob, values in SWEEPS:
        rows = []
        for value in values:
            if knob == "lexical_title_repeat":
                _relexicalize(searcher, int(value))  # type: ignore[arg-type]
            report = _run(searcher, settings, questions, {**chosen, knob: value})
            scores = _by_set(report, sets)
            rows.append((value, scores))
            print(f"{knob}={value}: " + "  ".join(f"{k}: R@1={s['hit_rate@1']:.3f} MRR={s['mrr@10']:.3f}"
                                                  for k, s in scores.items()), flush=True)
        current = getattr(settings, knob, 0)
        best = max(rows, key=lambda r: (r[1]["both dev"]["mrr@10"], r[1]["both dev"]["hit_rate@1"],
                                        r[0] == current))[0]
        chosen[knob] = best
        if knob == "lexical_title_repeat":
            _relexicalize(searcher, int(best))  # type: ignore[arg-type]
        results[knob] = {str(v): s for v, s in rows}
        lines += [f"## `{knob}` (configured {current}; chosen on dev: {best})", "", head, sep]
        for split in ("dev", "test"):
            for value, scores in rows:
                lines += [_row(f"{knob}={value}, {name} {split}", scores[f"{name} {split}"])
                          for name in (*SETS, "both")]
        lines.append("")
    lines += [f"Chosen on dev: `{chosen}`", ""]
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / "merged-sweep.md").write_text("\n".join(lines), encoding="utf-8")
    (REPORTS / "merged-sweep.json").write_text(json.dumps({"chosen": chosen, "runs": results}, indent=1),
                                               encoding="utf-8")
    print("chosen on dev:", chosen)


if __name__ == "__main__":
    main()

"""Ranking ablations: sweep each knob on dev, then measure every variant on test with paired significance.

    python -m briefsearch.eval.ablate_ranking                  # writes eval/reports/ranking-ablation.md and .json
    python -m briefsearch.eval.ablate_ranking --second-stage   # on Settings: eval/reports/ranking-second-stage.md
    python -m briefsearch.eval.ablate_ranking --second-stage --set generalization   # same on the laws/bills index

The second-stage sweeps (cross-lingual dense-only search, late-interaction
weight and depth, fusion depth) need an index built with token states:
``BRIEFSEARCH_LATE_INTERACTION=true briefsearch index build``.

Constants are chosen on the dev split only (best MRR@10, ties: Recall@1); the
test split is only read to report, never to choose. Every variant is reported,
also those that lose. Other question sets (eval/generalization/) can be
passed to ``ablate`` with their own searcher.
"""

from __future__ import annotations

import argparse
import functools
import json
from collections.abc import Callable
from pathlib import Path

from briefsearch.eval.evaluate import (
    LABELS,
    METRICS,
    REPORTS,
    EvalReport,
    Question,
    _scores,
    load_questions,
    run_eval,
    significance,
)
from briefsearch.index.search import Searcher, open_searcher
from briefsearch.index.settings import Settings, get_settings

Variant = dict[str, object]


def evaluate_variant(searcher: Searcher, base: Settings, questions: list[Question], update: Variant) -> EvalReport:
    """Hybrid eval with ``update`` applied over ``base`` for this run only (the searcher keeps ``base``)."""
    searcher.settings = base.model_copy(update=update)
    try:
        return run_eval(searcher, questions, mode="hybrid")
    finally:
        searcher.settings = base


def _key(report: EvalReport) -> tuple[float, float]:
    dev = report.per_split["dev"]
    return dev["mrr@10"], dev["hit_rate@1"]


def sweep(searcher: Searcher, base: Settings, questions: list[Question], fixed: Variant, knob: str,
          values: list[object], log: Callable[[str], None]) -> tuple[object, list[tuple[object, EvalReport]]]:
    """Try each value of one knob on top of ``fixed``; the best on dev wins (the first of equals)."""
    rows = []
    for value in values:
        report = evaluate_variant(searcher, base, questions, {**fixed, knob: value})
        rows.append((value, report))
        log(f"{knob}={value}: " + _line(report))
    best = max(rows, key=lambda r: _key(r[1]))[0]
    return best, rows


def _line(report: EvalReport) -> str:
    return "  ".join(f"{s} " + " ".join(f"{LABELS[m]}={report.per_split[s][m]:.3f}" for m in METRICS)
                     for s in ("dev", "test"))


def _table(rows: list[tuple[str, EvalReport]], split: str) -> list[str]:
    out = ["| variant | " + " | ".join(LABELS[m] for m in METRICS) + " | chars shown |",
           "|---|" + "---:|" * (len(METRICS) + 1)]
    for name, rep in rows:
        out.append(f"| {name} | " + " | ".join(f"{rep.per_split[split][m]:.3f}" for m in METRICS)
                   + f" | {rep.mean_chars_shown:.0f} |")
    return out


def ablate(searcher: Searcher, questions: list[Question], directory: Path = REPORTS,
           log: Callable[[str], None] = print) -> Variant:
    """Sweeps on dev, then the variants on dev and test; returns the chosen settings."""
    base = searcher.settings
    baseline: Variant = {"sentence_weight": 0.0, "coverage_fusion": False, "query_analysis": False,
                         "query_aliases": False}
    lines = ["# Ranking ablation", "",
             "- command: `python -m briefsearch.eval.ablate_ranking`",
             f"- questions: {len(questions)} ({sum(q.split == 'dev' for q in questions)} dev, "
             f"{sum(q.split == 'test' for q in questions)} test); constants chosen on dev only "
             "(best MRR@10, ties: Recall@1)", ""]
    chosen: Variant = dict(baseline)
    sweeps = [("sentence_weight", [0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0]),
              ("dense_weight", [0.4, 0.5, 0.6, 0.7, 0.8]),
              ("coverage_fusion", [False, True]),
              ("query_analysis", [False, True]),
              ("query_aliases", [False, True])]
    variants: list[tuple[str, EvalReport]] = []
    for knob, values in sweeps:
        best, rows = sweep(searcher, base, questions, chosen, knob, values, log)
        lines += [f"## Sweep of `{knob}` on dev (with {chosen}); chosen: {best}", ""]
        lines += [*_table([(f"{knob}={v}", r) for v, r in rows], "dev"), ""]
        lines += ["Same runs on test (read, not used to choose):", ""]
        lines += [*_table([(f"{knob}={v}", r) for v, r in rows], "test"), ""]
        if knob != "dense_weight":  # a new signal: measured on test against the variant without it
            off = next(r for v, r in rows if v == chosen.get(knob, baseline.get(knob)))
            on = next(r for v, r in rows if v == best)
            variants.append((f"{knob}={best}", on))
            if best != chosen.get(knob):
                lines += [f"Paired significance on test, `{knob}` {chosen.get(knob)} → {best}:", "", "```",
                          significance({"without": off, "with": on}, "test"), "```", ""]
        chosen[knob] = best
    final = evaluate_variant(searcher, base, questions, chosen)
    first = evaluate_variant(searcher, base, questions, {**baseline, "dense_weight": base.dense_weight})
    configured = evaluate_variant(searcher, base, questions, {})
    rows = [("baseline (no new signal)", first), ("chosen on dev", final), ("as configured (Settings)", configured)]
    lines += ["## Baseline, chosen on dev, and as configured", "", f"chosen on dev: `{chosen}`",
              "", "### test", "", *_table(rows, "test"), "", "### dev", "", *_table(rows, "dev"),
              "", "### Paired significance on test (baseline vs chosen vs configured)", "", "```",
              significance(dict(rows), "test"), "```", ""]
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "ranking-ablation.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (directory / "ranking-ablation.json").write_text(json.dumps(
        {"chosen": chosen, "baseline": first.per_split, "final": final.per_split,
         "configured": configured.per_split}, indent=1), encoding="utf-8")
    return chosen


SECOND_STAGE: list[tuple[str, list[object]]] = [
    ("crosslingual_dense_only", [False, True]),
    ("rerank_weight", [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]),
    ("rerank_depth", [10, 20, 30, 50]),
    ("fusion_depth", [50, 100, 200]),
]


def _english_rows(rows: list[tuple[str, EvalReport]], questions: list[Question]) -> list[str]:
    """The English questions alone, per split (few: read as a check, not to choose)."""
    out = ["| variant | split | n | " + " | ".join(LABELS[m] for m in METRICS) + " |",
           "|---|---|---:|" + "---:|" * len(METRICS)]
    for name, rep in rows:
        for split in ("dev", "test"):
            ids = [q.id for q in questions if q.type == "english" and q.split == split]
            if ids:
                sc = _scores(rep.qrels, rep.run, ids)
                out.append(f"| {name} | {split} | {len(ids)} | " + " | ".join(f"{sc[m]:.3f}" for m in METRICS) + " |")
    return out


def second_stage(searcher: Searcher, questions: list[Question], name: str, directory: Path = REPORTS,
                 log: Callable[[str], None] = print, sweeps: list[tuple[str, list[object]]] | None = None,
                 start: Variant | None = None, report_name: str | None = None) -> Variant:
    """Sweep the second-stage knobs one after another on top of Settings (and ``start``); dev chooses.

    ``report_name`` names the Markdown file (default ``ranking-second-stage-<set>[-continued]``).
    """
    base = searcher.settings
    late = bool(searcher.passage_tokens)  # without token states the rerank knobs are left out (and said so)
    # every run asks the same questions: their token states are computed once (as the query vectors are)
    searcher.query_tokens = functools.lru_cache(maxsize=None)(searcher.query_tokens)  # type: ignore[method-assign]
    lines = [f"# Second stage and re-sweep ({name})", "",
             f"- command: `python -m briefsearch.eval.ablate_ranking --second-stage --set {name}"
             + "".join(f" --knob {k}={','.join(json.dumps(v) for v in vs)}" for k, vs in sweeps or [])
             + "".join(f" --start {k}={json.dumps(v)}" for k, v in (start or {}).items())
             + (f" --report {report_name}" if report_name else "") + "`",
             f"- questions: {len(questions)} ({sum(q.split == 'dev' for q in questions)} dev, "
             f"{sum(q.split == 'test' for q in questions)} test); each knob chosen on dev only (best MRR@10, "
             "ties: Recall@1, then the configured value), on top of the ones chosen before it",
             "" if late else "- this index has no token states: the late-interaction knobs were not swept", ""]
    chosen: Variant = dict(start or {})
    for knob, values in sweeps or SECOND_STAGE:
        if knob.startswith("rerank") and not late:
            continue
        if knob == "rerank_depth" and not chosen.get("rerank_weight", base.rerank_weight):
            continue  # no second stage: its depth does nothing
        rows = []
        for value in values:
            report = evaluate_variant(searcher, base, questions, {**chosen, knob: value})
            rows.append((value, report))
            log(f"{knob}={value}: " + _line(report))
        current = getattr(base, knob)
        best = max(rows, key=lambda r: (*_key(r[1]), r[0] == current))[0]
        named = [(f"{knob}={v}", r) for v, r in rows]
        lines += [f"## `{knob}` (configured {current}; chosen on dev: {best}; with {chosen})", "", "### dev", "",
                  *_table(named, "dev"), "", "### test (read, not used to choose)", "", *_table(named, "test"), ""]
        if knob.startswith("crosslingual") or knob == "latin_lexical_slope":
            lines += ["### English questions", "", *_english_rows(named, questions), ""]
        off = next(r for v, r in rows if v == current)
        on = next(r for v, r in rows if v == best)
        if best != current:
            lines += [f"Paired significance on test, `{knob}` {current} → {best}:", "", "```",
                      significance({"configured": off, "chosen": on}, "test"), "```", ""]
        chosen[knob] = best
    lines += [f"Chosen on dev: `{chosen}`", ""]
    directory.mkdir(parents=True, exist_ok=True)
    suffix = "-continued" if sweeps else ""
    path = directory / f"{report_name or f'ranking-second-stage-{name}{suffix}'}.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--second-stage", action="store_true", help="sweep the second-stage knobs only")
    parser.add_argument("--set", choices=("briefings", "generalization"), default="briefings")
    parser.add_argument("--knob", action="append", default=[], metavar="NAME=V1,V2",
                        help="sweep only these knobs and values (written to ...-continued.md)")
    parser.add_argument("--start", action="append", default=[], metavar="NAME=VALUE",
                        help="a value already chosen on dev, fixed under the sweeps")
    parser.add_argument("--report", help="name of the Markdown report (without .md) in eval/reports")
    args = parser.parse_args()
    settings = get_settings()
    if args.set == "generalization":
        from briefsearch.eval.generalization import load_split_questions

        settings = settings.model_copy(update={"data_dir": settings.data_dir / "generalization"})
        questions = load_split_questions()
    else:
        questions = load_questions()
    searcher = open_searcher(settings, build=False, progress=False)
    if args.second_stage:
        sweeps = [(k, [json.loads(v) for v in vs.split(",")]) for k, vs in (a.split("=", 1) for a in args.knob)]
        start = {k: json.loads(v) for k, v in (a.split("=", 1) for a in args.start)}
        print("chosen:", second_stage(searcher, questions, args.set, sweeps=sweeps or None, start=start,
                                         report_name=args.report))
    else:
        print("chosen:", ablate(searcher, questions))


if __name__ == "__main__":
    main()

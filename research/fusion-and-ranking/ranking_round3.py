"""Ranking round 3: why dev questions miss, then feedback, smoothing and agreement swept on both sets' dev.

    python -m briefsearch.eval.generalization     # first: builds var/generalization (seed corpus + laws/bills)
    python -m briefsearch.eval.ranking_round3     # writes eval/reports/ranking-round3.md and .json
    python -m briefsearch.eval.ranking_round3 --only sentence_lexical_weight   # ...-round3-<knob>.md, on Settings

Two indexes, one model: the briefings (var/index) and the generalization set
(var/generalization). Each knob is swept on top of the ones chosen before it; a
value wins on the dev questions of both sets pooled (best MRR@10, ties:
Recall@1, then the configured value). Test rows of every run are printed beside
dev and never used to choose. For each knob whose choice differs from the
configured value, paired significance on each set's test split (ranx.compare).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter

from briefsearch.eval.ablate_ranking import evaluate_variant
from briefsearch.eval.evaluate import (
    LABELS,
    METRICS,
    REPORTS,
    EvalReport,
    Question,
    _scores,
    load_questions,
    relevant_chunks,
    significance,
)
from briefsearch.eval.generalization import load_split_questions
from briefsearch.index.search import Searcher, open_searcher
from briefsearch.index.settings import Settings, get_settings
from briefsearch.index.store import load_index

SETS = ("briefings", "generalization")
SWEEPS: list[tuple[str, list[object]]] = [
    ("prf_depth", [1, 2, 3, 5, 10]),
    ("prf_weight", [0.0, 0.1, 0.2, 0.3, 0.5, 0.8]),
    ("smooth_level", [0, 1, 2, 3]),
    ("smooth_weight", [0.0, 0.05, 0.1, 0.2, 0.3]),
    ("agreement_depth", [5, 10, 20]),
    ("agreement_floor", [1.0, 0.75, 0.5, 0.25, 0.0]),
    ("sentence_lexical_weight", [0.0, 0.2, 0.3, 0.5, 0.7]),
    ("latin_lexical_slope", [0.0, 0.25, 0.5, 0.75, 1.0]),
    ("dense_weight", [0.5, 0.55, 0.6, 0.65, 0.7]),
    ("sentence_weight", [0.1, 0.2, 0.3]),
    ("fusion_depth", [50, 100, 200]),
]
# a knob that only shapes another (depth, level) is swept with the other at a working value, then re-swept off
PROBE = {"prf_depth": {"prf_weight": 0.3}, "smooth_level": {"smooth_weight": 0.1},
         "agreement_depth": {"agreement_floor": 0.5}}


def _pooled(reports: dict[str, EvalReport], split: str) -> dict[str, float]:
    """Scores over both sets' questions of one split, pooled."""
    qrels, run, ids = {}, {}, []
    for rep in reports.values():
        qrels.update(rep.qrels)
        run.update(rep.run)
        ids += [o.id for o in rep.outcomes if o.split == split]
    return _scores(qrels, run, ids)


def _row(label: str, s: dict[str, float]) -> str:
    return f"| {label} | {int(s['n'])} | " + " | ".join(f"{s[m]:.3f}" for m in METRICS) + " |"


HEAD = ["| variant, set split | n | " + " | ".join(LABELS[m] for m in METRICS) + " |",
        "|---|---:|" + "---:|" * len(METRICS)]


def open_sets(base: Settings) -> tuple[dict[str, Searcher], dict[str, list[Question]]]:
    """Both sets' searchers (one model; var/index and var/generalization) and their questions."""
    briefings = open_searcher(base, build=False, progress=False)
    general_settings = base.model_copy(update={"data_dir": (base.data_dir / "generalization").resolve()})
    general = briefings.with_index(load_index(general_settings.index_dir))
    general.settings = general_settings
    return ({"briefings": briefings, "generalization": general},
            {"briefings": load_questions(), "generalization": load_split_questions()})


def run_sets(searchers: dict[str, Searcher], questions: dict[str, list[Question]],
             update: dict) -> dict[str, EvalReport]:
    """Hybrid eval of both sets with ``update`` over each searcher's own settings, for this run only."""
    return {name: evaluate_variant(searchers[name], searchers[name].settings, questions[name], update)
            for name in SETS}


def why_missed(searcher: Searcher, report: EvalReport, questions: list[Question]) -> list[dict]:
    """Per dev question not at rank 1: what came first instead, and where the answer was."""
    by_id = {q.id: q for q in questions}
    out = []
    for o in report.outcomes:
        if o.split != "dev" or o.first_hit_rank == 1:
            continue
        q = by_id[o.id]
        relevant = relevant_chunks(searcher, q)
        chunks = searcher.index.chunks
        top = chunks[o.top_chunk_ids[0]] if o.top_chunk_ids else None
        answer = chunks[o.top_chunk_ids[o.first_hit_rank - 1]] if o.first_hit_rank else (
            chunks[min(relevant)] if relevant else None)
        if top is None or answer is None:
            cause = "evidence in no passage" if not relevant else "nothing retrieved"
        elif top.doc_id != answer.doc_id:
            cause = "other document"
        elif top.section_path == answer.section_path:
            cause = "same section"
        elif top.section_path[:2] == answer.section_path[:2]:
            cause = "same article (section level 2)"
        else:
            cause = "same document, other section"
        out.append({"id": o.id, "type": o.type, "rank": o.first_hit_rank, "cause": cause,
                    "answer_kind": answer.kind if answer else None, "top_kind": top.kind if top else None,
                    "question": o.question})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", default=[], help="sweep only this knob (on top of Settings)")
    args = parser.parse_args()
    sweeps = [(k, v) for k, v in SWEEPS if not args.only or k in args.only]
    report = "ranking-round3" + "".join(f"-{k.replace('_', '-')}" for k in args.only)
    base = get_settings()
    searchers, questions = open_sets(base)

    def run(update: dict) -> dict[str, EvalReport]:
        return run_sets(searchers, questions, update)

    topic = ", ".join(args.only) or "feedback, structure smoothing, agreement weighting, re-sweep"
    lines = [f"# Ranking round 3: {topic}", "",
             "- command: `python -m briefsearch.eval.ranking_round3" + "".join(f" --only {k}" for k in args.only)
             + "` (indexes: var/index, var/generalization)",
             f"- questions: briefings {len(questions['briefings'])}, generalization "
             f"{len(questions['generalization'])}; each knob chosen on both sets' dev questions pooled (best "
             "MRR@10, ties: Recall@1, then the configured value); test rows are read, never used to choose", ""]
    configured = run({})
    lines += ["## Why dev questions miss rank 1 (configured system)", ""]
    misses = []
    for name in SETS:
        rows = why_missed(searchers[name], configured[name], questions[name])
        misses += [{**r, "set": name} for r in rows]
        lines += [f"### {name} ({len(rows)} dev questions not at rank 1)", "",
                  "| id | type | rank | cause | answer kind | first kind | question |",
                  "|---|---|---:|---|---|---|---|"]
        lines += [f"| {r['id']} | {r['type']} | {r['rank']} | {r['cause']} | {r['answer_kind']} | {r['top_kind']} "
                  f"| {r['question']} |" for r in rows]
        lines += ["", "Causes: " + ", ".join(f"{c} {n}" for c, n in Counter(r["cause"] for r in rows).items()), ""]
    chosen: dict[str, object] = {}
    results: dict[str, dict] = {}
    for knob, values in sweeps:
        probe = PROBE.get(knob, {})
        rows = []
        for value in values:
            reports = run({**chosen, **probe, knob: value})
            scores = {f"{n} {s}": reports[n].per_split[s] for n in SETS for s in ("dev", "test")}
            scores |= {f"both {s}": _pooled(reports, s) for s in ("dev", "test")}
            rows.append((value, scores, reports))
            print(f"{knob}={value} {probe}: " + "  ".join(
                f"{k}: R@1={v['hit_rate@1']:.3f} MRR={v['mrr@10']:.3f}" for k, v in scores.items()), flush=True)
        current = getattr(base, knob)
        best = max(rows, key=lambda r: (r[1]["both dev"]["mrr@10"], r[1]["both dev"]["hit_rate@1"],
                                        r[0] == current))[0]
        chosen[knob] = best
        results[knob] = {str(v): s for v, s, _ in rows}
        lines += [f"## `{knob}` (configured {current}; chosen on dev: {best}; with {chosen | probe})", "", *HEAD]
        for split in ("dev", "test"):
            for value, scores, _ in rows:
                lines += [_row(f"{knob}={value}, {n} {split}", scores[f"{n} {split}"]) for n in (*SETS, "both")]
        lines.append("")
        if best != current and not probe:
            off = next(r for v, _, r in rows if v == current)
            on = next(r for v, _, r in rows if v == best)
            for name in SETS:
                lines += [f"Paired significance on {name} test, `{knob}` {current} → {best}:", "", "```",
                          significance({"configured": off[name], "chosen": on[name]}, "test"), "```", ""]
    final = run(chosen)
    lines += ["## Configured vs chosen on dev", "", f"chosen on dev: `{chosen}`", "", *HEAD]
    for split in ("dev", "test"):
        for name in SETS:
            lines += [_row(f"configured, {name} {split}", configured[name].per_split[split]),
                      _row(f"chosen, {name} {split}", final[name].per_split[split])]
    for name in SETS:
        lines += ["", f"Paired significance on {name} test, configured → chosen:", "", "```",
                  significance({"configured": configured[name], "chosen": final[name]}, "test"), "```"]
        lines += ["", f"Per question type, {name} (all questions), configured → chosen:", "",
                  "| type | n | R@1 configured | R@1 chosen | MRR configured | MRR chosen |",
                  "|---|---:|---:|---:|---:|---:|"]
        for t, s in sorted(configured[name].per_type.items()):
            c = final[name].per_type[t]
            lines.append(f"| {t} | {int(s['n'])} | {s['hit_rate@1']:.3f} | {c['hit_rate@1']:.3f} | "
                         f"{s['mrr@10']:.3f} | {c['mrr@10']:.3f} |")
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / f"{report}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (REPORTS / f"{report}.json").write_text(json.dumps(
        {"chosen": chosen, "runs": results, "dev_misses": misses}, ensure_ascii=False, indent=1), encoding="utf-8")
    print("chosen on dev:", chosen)


if __name__ == "__main__":
    main()

"""Sentence windows swept on both sets' dev: window size x weight, beside the sentence signal or replacing it.

    python -m briefsearch.eval.generalization      # first: builds var/generalization (seed corpus + laws/bills)
    python -m briefsearch.eval.sentence_windows    # writes eval/reports/ranking-sentence-windows.md and .json

The window signal (index/sentence_window.py, ``window_weight`` and
``window_sentences``) is swept on top of Settings with round 3's machinery
(eval/ranking_round3.py: both indexes, one model). "add" keeps the configured
sentence share and adds the window share; "replace" sets ``sentence_weight`` to 0
(a cross-lingual question keeps ``crosslingual_sentence_weight``). A variant
wins on the dev questions of both sets pooled (best MRR@10, ties: Recall@1, then
the configured system); test rows are printed beside and never used to choose.
Korean and English questions are reported apart. Latency: every question of
both sets searched once per variant, the variants interleaved question by
question (other jobs on a shared machine then load them alike); medians.
"""

from __future__ import annotations

import json
import statistics
import time

from briefsearch.eval.evaluate import METRICS, REPORTS, EvalReport, Question, _scores, significance
from briefsearch.eval.ranking_round3 import HEAD, SETS, _pooled, _row, open_sets, run_sets, why_missed
from briefsearch.index.search import Searcher
from briefsearch.index.settings import get_settings

SIZES = (2, 3)
WEIGHTS = (0.1, 0.2, 0.3, 0.4)
REPORT = "ranking-sentence-windows"


def variants() -> list[tuple[str, dict]]:
    """The configured system first, then every (fusion, size, weight) of the grid."""
    out: list[tuple[str, dict]] = [("configured", {})]
    for fusion, extra in (("add", {}), ("replace", {"sentence_weight": 0.0})):
        out += [(f"{fusion} w={w} weight={a}", {**extra, "window_sentences": w, "window_weight": a})
                for w in SIZES for a in WEIGHTS]
    return out


def _language(reports: dict[str, EvalReport], split: str, english: bool) -> dict[str, float]:
    """Pooled scores of one split's English (type "english") or Korean questions."""
    qrels, run, ids = {}, {}, []
    for rep in reports.values():
        qrels.update(rep.qrels)
        run.update(rep.run)
        ids += [o.id for o in rep.outcomes if o.split == split and (o.type == "english") == english]
    return _scores(qrels, run, ids)


def latency(searchers: dict[str, Searcher], questions: dict[str, list[Question]],
            updates: dict[str, dict]) -> dict[str, dict[str, float]]:
    """Median in-process search ms and dense stage ms per variant over both sets' questions, the variants
    interleaved question by question so that other jobs on the machine load them alike."""
    total: dict[str, list[float]] = {label: [] for label in updates}
    dense: dict[str, list[float]] = {label: [] for label in updates}
    for name in SETS:
        searcher, base = searchers[name], searchers[name].settings
        try:
            for q in questions[name]:
                for label, update in updates.items():
                    searcher.settings = base.model_copy(update=update)
                    started = time.perf_counter()
                    result = searcher.search(q.question, k=10)
                    total[label].append((time.perf_counter() - started) * 1000)
                    dense[label].append(result.timings.get("dense_ms", 0.0))
        finally:
            searcher.settings = base
    return {label: {"n": len(total[label]), "median_ms": round(statistics.median(total[label]), 2),
                    "dense_stage_ms": round(statistics.median(dense[label]), 3)} for label in updates}


def _moved(before: dict[str, EvalReport], after: dict[str, EvalReport]) -> list[dict]:
    """Questions whose first relevant rank changed, with the set, split and type."""
    out = []
    for name in SETS:
        old = {o.id: o for o in before[name].outcomes}
        for o in after[name].outcomes:
            a, b = old[o.id].first_hit_rank, o.first_hit_rank
            if a != b:
                worse = b is None or (a is not None and b > a)
                out.append({"set": name, "id": o.id, "split": o.split, "type": o.type, "from": a, "to": b,
                            "worse": worse, "question": o.question})
    return out


def main() -> None:
    base = get_settings()
    searchers, questions = open_sets(base)
    rows: list[tuple[str, dict, dict[str, EvalReport]]] = []
    for label, update in variants():
        reports = run_sets(searchers, questions, update)
        rows.append((label, update, reports))
        dev = _pooled(reports, "dev")
        print(f"{label}: both dev R@1={dev['hit_rate@1']:.3f} MRR={dev['mrr@10']:.3f}", flush=True)
    chosen = max(rows, key=lambda r: (_pooled(r[2], "dev")["mrr@10"], _pooled(r[2], "dev")["hit_rate@1"],
                                      r[0] == "configured"))
    configured = rows[0]

    lines = ["# Ranking: sentence windows (window max-sim beside or instead of the sentence signal)", "",
             "- command: `python -m briefsearch.eval.sentence_windows` (indexes: var/index, var/generalization)",
             f"- configured: sentence_weight {base.sentence_weight}, crosslingual_sentence_weight "
             f"{base.crosslingual_sentence_weight}, window_weight {base.window_weight}",
             f"- questions: briefings {len(questions['briefings'])}, generalization "
             f"{len(questions['generalization'])}; chosen on both sets' dev pooled (best MRR@10, ties: Recall@1, "
             "then the configured system); test rows are read, never used to choose",
             f"- chosen on dev: **{chosen[0]}** `{chosen[1]}`", "",
             "## Dev (chooses)", "", *HEAD]
    for label, _, reports in rows:
        lines += [_row(f"{label}, {n} dev", reports[n].per_split["dev"]) for n in SETS]
        lines.append(_row(f"{label}, both dev", _pooled(reports, "dev")))
    lines += ["", "## Dev, Korean and English questions apart (both sets pooled)", "", *HEAD]
    for label, _, reports in rows:
        lines += [_row(f"{label}, Korean dev", _language(reports, "dev", False)),
                  _row(f"{label}, English dev", _language(reports, "dev", True))]
    lines += ["", "## Test (read beside, never used to choose)", "", *HEAD]
    for label, _, reports in rows:
        lines += [_row(f"{label}, {n} test", reports[n].per_split["test"]) for n in SETS]
        lines += [_row(f"{label}, Korean test", _language(reports, "test", False)),
                  _row(f"{label}, English test", _language(reports, "test", True))]
    timed = latency(searchers, questions, {label: update for label, update, _ in rows})
    lines += ["", "## Latency (in-process, one query at a time, k=10; variants interleaved question by question)",
              "", "| variant | queries | median ms | median dense stage ms |", "|---|---:|---:|---:|"]
    lines += [f"| {label} | {v['n']} | {v['median_ms']:.1f} | {v['dense_stage_ms']:.2f} |"
              for label, v in timed.items()]
    moved = _moved(configured[2], chosen[2]) if chosen is not configured else []
    if chosen is not configured:
        for name in SETS:
            lines += ["", f"Paired significance on {name} test, configured → {chosen[0]}:", "", "```",
                      significance({"configured": configured[2][name], "chosen": chosen[2][name]}, "test"), "```"]
        lines += ["", "## Configured dev misses (not at rank 1) under the chosen variant", "",
                  "Cause as ranking_round3 reads it: where the configured first passage lies against the answer.", "",
                  "| set | id | type | cause | configured rank | chosen rank |", "|---|---|---|---|---:|---:|"]
        for name in SETS:
            ranks = {o.id: o.first_hit_rank for o in chosen[2][name].outcomes}
            lines += [f"| {name} | {m['id']} | {m['type']} | {m['cause']} | {m['rank']} | {ranks[m['id']]} |"
                      for m in why_missed(searchers[name], configured[2][name], questions[name])]
        lines += ["", "## Questions moved, counted (configured → chosen)", "",
                  "| split | language | better | worse |", "|---|---|---:|---:|"]
        for split in ("dev", "test"):
            for lang in ("Korean", "English"):
                group = [m for m in moved if m["split"] == split and (m["type"] == "english") == (lang == "English")]
                lines.append(f"| {split} | {lang} | {sum(not m['worse'] for m in group)} | "
                             f"{sum(m['worse'] for m in group)} |")
        lines += ["", "## Questions whose first relevant rank moved, configured → chosen", "",
                  "| set | id | split | type | from | to | question |", "|---|---|---|---|---:|---:|---|"]
        lines += [f"| {m['set']} | {m['id']} | {m['split']} | {m['type']} | {m['from']} | {m['to']} | "
                  f"{m['question']} |" for m in moved]
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / f"{REPORT}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    runs = {label: {"update": update, "latency": timed[label],
                    **{f"{n} {s}": reports[n].per_split[s] for n in SETS for s in ("dev", "test")},
                    **{f"both {s}": _pooled(reports, s) for s in ("dev", "test")},
                    **{f"{lang} {s}": _language(reports, s, lang == "English")
                       for lang in ("Korean", "English") for s in ("dev", "test")}}
            for label, update, reports in rows}
    (REPORTS / f"{REPORT}.json").write_text(json.dumps(
        {"chosen": chosen[0], "chosen_update": chosen[1], "metrics": list(METRICS), "runs": runs,
         "moved": moved}, ensure_ascii=False, indent=1), encoding="utf-8")
    print("chosen on dev:", chosen[0], chosen[1])


if __name__ == "__main__":
    main()

"""Passage granularity: the chunk budget, the overlap and balanced splitting, each variant in its own index.

    python -m briefsearch.eval.chunking_sweep      # writes eval/reports/chunking-sweep.md and .json

Every variant (max_chunk_tokens, overlap_sentences, chunk_split) is built from
scratch in its own data dir (``--work``/<variant>: the seed briefings; and
<variant>-gen: the seed plus the generalization laws and bills, added through
the add path as eval/generalization.py does), sharing one copy of the embedding
cache (``--cache``, copied from the data dir's cache, never written back), and
scored hybrid on both question sets, dev and test, Korean and English apart,
with the characters a result shows beside the scores.

Stages (2 shared cores do not allow the full grid): budget 192/256/320 at
overlap 1 (and one step further, 160 or 384, when the best is at an end);
then overlap 0/2 at the best budget; then balanced on/off at the best pair
(and, not part of the choice, balanced at the configured pair). A variant wins
on the dev questions of both sets pooled: best MRR@10, ties Recall@1, then the
configured value. Rule fixed before running: a variant
whose pooled characters shown per result exceed the configured one's by more
than 15 % must beat the best variant within that limit by more than 0.01 dev
MRR@10 (longer passages must not buy recall). Test rows are printed beside and
never used to choose; the chosen variant's test split is compared with the
configured one's question by question (ranx paired t-test, via
eval/compare_reports.py's rank runs, since the two indexes' passages differ).
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from briefsearch.eval.compare_reports import Ranks, compare
from briefsearch.eval.evaluate import LABELS, METRICS, REPORTS, EvalReport, Question, _scores, load_questions, run_eval
from briefsearch.eval.generalization import DOCS, add_documents, load_split_questions, scratch_settings
from briefsearch.index.settings import Settings

SETS = ("briefings", "generalization")
SPLITS = ("dev", "test")
CHARS_LIMIT = 0.15  # a variant showing more than 15 % more characters per result ...
CHARS_MARGIN = 0.01  # ... must win by more than this dev MRR@10
Variant = tuple[int, int, str]  # max_chunk_tokens, overlap_sentences, chunk_split
BUDGETS = (192, 256, 320)
EDGES = {192: 160, 320: 384}


def name_of(v: Variant) -> str:
    return f"t{v[0]}-o{v[1]}-{v[2]}"


def language(q: Question) -> str:
    return "english" if q.type == "english" else "korean"


def _variant_settings(base: Settings, v: Variant, data_dir: Path, cache: Path) -> Settings:
    settings = scratch_settings(base, data_dir).model_copy(
        update={"max_chunk_tokens": v[0], "overlap_sentences": v[1], "chunk_split": v[2]})
    if not (data_dir / "cache").exists():
        (data_dir / "cache").symlink_to(cache, target_is_directory=True)
    return settings


def _summary(report: EvalReport, questions: list[Question]) -> dict:
    """Scores per split and per split and language, characters shown, and each question's first hit rank."""
    out: dict = {"chars_shown": report.mean_chars_shown, "n_chunks": report.index["n_chunks"]}
    for split in SPLITS:
        out[split] = report.per_split[split]
        for lang in ("korean", "english"):
            ids = [q.id for q in questions if q.split == split and language(q) == lang]
            if ids:
                out[f"{split} {lang}"] = _scores(report.qrels, report.run, ids)
    lang_of = {q.id: language(q) for q in questions}
    out["ranks"] = {o.id: [o.split, lang_of[o.id], o.first_hit_rank] for o in report.outcomes}
    out["qrels"], out["run"] = report.qrels, report.run
    return out


def measure(base: Settings, v: Variant, work: Path, cache: Path, questions: dict[str, list[Question]]) -> dict:
    """Build both indexes of one variant from scratch and score them; cached in work/<variant>.json."""
    from briefsearch.index.build import build_index
    from briefsearch.index.embed import Encoder
    from briefsearch.index.korean import KoreanText
    from briefsearch.index.search import Searcher
    from briefsearch.index.store import load_index

    saved = work / f"{name_of(v)}.json"
    if saved.exists():
        return json.loads(saved.read_text(encoding="utf-8"))
    seed_dir, gen_dir = work / name_of(v), work / f"{name_of(v)}-gen"
    for d in (seed_dir, gen_dir):
        if d.exists():
            shutil.rmtree(d)
    seed = _variant_settings(base, v, seed_dir, cache)
    encoder, korean = Encoder(seed, progress=False), KoreanText().warm()
    started = time.perf_counter()
    built = build_index(seed, encoder, korean, progress=False)
    seed_seconds = time.perf_counter() - started
    searcher = Searcher(load_index(seed.index_dir), encoder, seed, korean=korean).warm()
    result = {"variant": list(v), "build_seconds": round(seed_seconds, 1),
              "passages_embedded": built.passages_embedded, "briefings": _summary(
                  run_eval(searcher, questions["briefings"]), questions["briefings"])}
    gen = _variant_settings(base, v, gen_dir, cache)
    started = time.perf_counter()
    shutil.copytree(seed.index_dir, gen.index_dir)  # the seed build is the same: the laws and bills go on top
    add_documents(gen)
    result["gen_add_seconds"] = round(time.perf_counter() - started, 1)
    searcher = Searcher(load_index(gen.index_dir), encoder, gen, korean=korean).warm()
    result["generalization"] = _summary(run_eval(searcher, questions["generalization"]),
                                        questions["generalization"])
    saved.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    return result


def pooled(result: dict, split: str) -> dict[str, float]:
    """Both sets' questions of one split scored together (each set against its own index's qrels)."""
    qrels, run, ids = {}, {}, []
    for s in SETS:
        qrels.update(result[s]["qrels"])
        run.update(result[s]["run"])
        ids += [i for i, (sp, _, _) in result[s]["ranks"].items() if sp == split]
    return _scores(qrels, run, ids)


def chars_shown(result: dict) -> float:
    """Characters shown per result over both sets (weighted by their questions)."""
    n = {s: len(result[s]["ranks"]) for s in SETS}
    return sum(result[s]["chars_shown"] * n[s] for s in SETS) / sum(n.values())


def choose(results: dict[Variant, dict], configured: Variant, base_chars: float, axis: int) -> Variant:
    """Best pooled dev MRR@10 (ties: Recall@1, then the configured value on ``axis``); the characters rule."""
    dev = {v: pooled(r, "dev") for v, r in results.items()}
    over = {v: chars_shown(r) > base_chars * (1 + CHARS_LIMIT) for v, r in results.items()}
    within = [v for v in results if not over[v]]
    bar = max((dev[v]["mrr@10"] for v in within), default=0.0)
    eligible = [v for v in results if not over[v] or dev[v]["mrr@10"] > bar + CHARS_MARGIN]
    return max(eligible, key=lambda v: (dev[v]["mrr@10"], dev[v]["hit_rate@1"], v[axis] == configured[axis]))


def _row(label: str, s: dict[str, float], extra: str = "") -> str:
    return f"| {label} | {int(s['n'])} | " + " | ".join(f"{s[m]:.3f}" for m in METRICS) + f" |{extra}"


def _ranks(result: dict, s: str) -> Ranks:
    return {i: (sp, lang, rank) for i, (sp, lang, rank) in result[s]["ranks"].items()}


def moved(base: dict, variant: dict) -> list[str]:
    """Table rows of the questions whose first relevant rank differs between two runs."""
    rows = []
    for s in SETS:
        for i, (split, lang, rank) in base[s]["ranks"].items():
            other = variant[s]["ranks"][i][2]
            if other != rank:
                better = other is not None and (rank is None or other < rank)
                rows.append(f"| {s} | {split} | {i} | {lang} | {rank or '-'} | {other or '-'} | "
                            f"{'better' if better else 'worse'} |")
    return ["| set | split | question | language | rank configured | rank variant | |",
            "|---|---|---|---|---:|---:|---|", *sorted(rows, key=lambda r: r.split(" | ")[1])]


def markdown(results: dict[Variant, dict], stages: list[tuple[str, list[Variant], Variant]],
             configured: Variant, chosen: Variant, command: str) -> str:
    base_chars = chars_shown(results[configured])
    n_docs = len(list(DOCS.glob("*.txt")))
    head = ["| variant, rows | n | " + " | ".join(LABELS[m] for m in METRICS) + " | chars shown |",
            "|---|---:|" + "---:|" * len(METRICS) + "---:|"]
    lines = ["# Passage granularity: chunk budget, overlap, balanced splitting", "",
             f"- command: `{command}`",
             f"- each variant built from scratch in its own data dir (seed briefings; seed + {n_docs} laws/bills "
             "added through the add path), one shared copy of the embedding cache; hybrid search as configured",
             "- chosen on the dev questions of both sets pooled: best MRR@10, ties Recall@1, then the configured "
             "value; rule fixed before running: a variant showing more than 15 % more characters per result than "
             "the configured one must beat the best variant within that limit by more than 0.01 dev MRR@10",
             "- test rows are printed beside and never used to choose",
             f"- configured: `{name_of(configured)}` ({base_chars:.0f} characters shown per result, both sets)", "",
             "## Variants", "",
             "| variant | passages (briefings / +laws,bills) | passages embedded (seed build) | seed build s | "
             "add laws/bills s | chars shown (briefings / generalization / both) | pooled dev MRR@10 | "
             "pooled dev R@1 | pooled test MRR@10 | pooled test R@1 |",
             "|---|---|---:|---:|---:|---|---:|---:|---:|---:|"]
    for v, r in results.items():
        d, t = pooled(r, "dev"), pooled(r, "test")
        lines.append(f"| `{name_of(v)}` | {r['briefings']['n_chunks']} / {r['generalization']['n_chunks']} | "
                     f"{r['passages_embedded']} | {r['build_seconds']} | {r['gen_add_seconds']} | "
                     f"{r['briefings']['chars_shown']:.0f} / {r['generalization']['chars_shown']:.0f} / "
                     f"{chars_shown(r):.0f} ({chars_shown(r) / base_chars - 1:+.1%}) | {d['mrr@10']:.3f} | "
                     f"{d['hit_rate@1']:.3f} | {t['mrr@10']:.3f} | {t['hit_rate@1']:.3f} |")
    for title, variants, best in stages:
        lines += ["", f"## {title}: chosen on dev `{name_of(best)}`", "", *head]
        for split in SPLITS:
            for v in variants:
                r = results[v]
                lines.append(_row(f"`{name_of(v)}` both {split}", pooled(r, split), f" {chars_shown(r):.0f} |"))
                for s in SETS:
                    for key in (split, f"{split} korean", f"{split} english"):
                        if key in r[s] and (s == "briefings" or key == split):
                            lines.append(_row(f"`{name_of(v)}` {s} {key}", r[s][key],
                                              f" {r[s]['chars_shown']:.0f} |"))
    lines += ["", f"## Chosen: `{name_of(chosen)}` (configured `{name_of(configured)}`)", ""]
    if chosen == configured:
        lines.append("No variant beat the configured chunking on dev; nothing changes in Settings.")
    else:
        lines += ["Paired significance (ranx, Student's t, p < 0.05; first relevant rank per question, "
                  "eval/compare_reports.py), configured (base) vs chosen (variant); dev shows whether the "
                  "choice itself stands out from noise, test is the report:", ""]
        for split in SPLITS:
            for s in SETS:
                langs = [None] if s == "generalization" else [None, "korean", "english"]
                for lang in langs:
                    lines += [f"### {s} {split} {lang or 'all'}", "", "```",
                              compare(_ranks(results[configured], s), _ranks(results[chosen], s), split, lang),
                              "```", ""]
        lines += ["### Questions whose first relevant rank moved (configured → chosen)", "",
                  *moved(results[configured], results[chosen]), ""]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/chunk-sweep"), help="scratch dir of the indexes")
    parser.add_argument("--cache", type=Path, default=None,
                        help="embedding cache to share (default: a copy of the data dir's cache in --work)")
    parser.add_argument("--name", default="chunking-sweep", help="report name under eval/reports")
    args = parser.parse_args()
    base = Settings()
    args.work.mkdir(parents=True, exist_ok=True)
    cache = args.cache or args.work / "cache"
    if not cache.exists() and (base.data_dir / "cache").is_dir():
        shutil.copytree(base.data_dir / "cache", cache)
    cache.mkdir(parents=True, exist_ok=True)
    questions = {"briefings": load_questions(), "generalization": load_split_questions()}
    configured: Variant = (base.max_chunk_tokens, base.overlap_sentences, base.chunk_split)
    results: dict[Variant, dict] = {}

    def run(variants: list[Variant]) -> None:
        for v in variants:
            results[v] = measure(base, v, args.work, cache.resolve(), questions)
            d = pooled(results[v], "dev")
            print(f"{name_of(v)}: dev MRR@10 {d['mrr@10']:.3f} R@1 {d['hit_rate@1']:.3f} chars "
                  f"{chars_shown(results[v]):.0f} passages {results[v]['briefings']['n_chunks']}", flush=True)

    stages = []
    budgets = [(t, configured[1], configured[2]) for t in BUDGETS]
    run([configured, *budgets])
    base_chars = chars_shown(results[configured])
    best = choose({v: results[v] for v in budgets}, configured, base_chars, 0)
    edge = EDGES.get(best[0])  # the best budget at an end of the grid: one step further (within 160..384)
    if edge is not None:
        budgets.append((edge, configured[1], configured[2]))
        run(budgets[-1:])
        best = choose({v: results[v] for v in budgets}, configured, base_chars, 0)
    stages.append(("Stage 1: token budget at overlap 1", budgets, best))
    overlaps = [(best[0], o, configured[2]) for o in (0, 1, 2)]
    run(overlaps)
    best = choose({v: results[v] for v in overlaps}, configured, base_chars, 1)
    stages.append(("Stage 2: overlap at the best budget", overlaps, best))
    splits = [(best[0], best[1], s) for s in ("greedy", "balanced")]
    run(splits)
    best = choose({v: results[v] for v in splits}, configured, base_chars, 2)
    stages.append(("Stage 3: balanced splitting at the best pair", splits, best))
    # not part of the choice: balanced at the configured pair, what the opt-in setting does to today's chunking
    extra = [configured, (configured[0], configured[1], "balanced")]
    run(extra)
    stages.append(("Supplementary, not part of the choice: balanced at the configured pair", extra,
                   choose({v: results[v] for v in extra}, configured, base_chars, 2)))
    command = "python -m briefsearch.eval.chunking_sweep"
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / f"{args.name}.md").write_text(markdown(results, stages, configured, best, command), encoding="utf-8")
    # the last stage is supplementary: ``best`` stays the stage-3 choice
    (REPORTS / f"{args.name}.json").write_text(json.dumps({
        "command": command, "configured": name_of(configured), "chosen": name_of(best),
        "stages": [{"title": t, "variants": [name_of(v) for v in vs], "chosen": name_of(b)} for t, vs, b in stages],
        "variants": {name_of(v): {
            "build_seconds": r["build_seconds"], "gen_add_seconds": r["gen_add_seconds"],
            "passages_embedded": r["passages_embedded"], "chars_shown_both": round(chars_shown(r), 1),
            "pooled": {split: pooled(r, split) for split in SPLITS},
            **{s: {k: x for k, x in r[s].items() if k not in ("qrels", "run", "ranks")} for s in SETS}}
            for v, r in results.items()}}, ensure_ascii=False, indent=1), encoding="utf-8")
    print("chosen on dev:", name_of(best))


if __name__ == "__main__":
    main()

"""Compare two runs' saved reports question by question: English and Korean apart, paired significance.

    python -m briefsearch.evaluation.compare BASE.json VARIANT.json [--split dev] [--generalization | --korquad MODE]

Saved reports keep each question's first relevant rank (``latest.json``'s outcomes; a generalization
report's misses, every other question being at rank 1; ``korquad.json``'s outcomes per mode), which
fixes Recall@k and MRR@10 exactly; a run with the relevant passage at that rank lets ranx test them
pairwise (Student's t, p < 0.05) as ``evaluate.significance`` does for live runs. Used by
research/encoder-adaptation/encoder-adaptation.md, where the encoder changes, so two indexes, not one
searcher, are compared.
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

from briefsearch.evaluation.generalization import QUESTIONS as GENERALIZATION_QUESTIONS

Ranks = dict[str, tuple[str, str, int | None]]  # id -> (split, language, first relevant rank or None)
METRICS = ("hit_rate@1", "hit_rate@5", "mrr@10")


def briefing_ranks(path: Path) -> Ranks:
    """From ``briefsearch eval``'s latest.json: question type 'english' is English, the rest Korean."""
    outcomes = json.loads(path.read_text(encoding="utf-8"))["outcomes"]
    return {o["id"]: (o["split"], "english" if o["type"] == "english" else "korean", o["first_hit_rank"])
            for o in outcomes}


def generalization_ranks(path: Path) -> Ranks:
    """From a generalization report: its misses carry their rank, every other question was first."""
    missed = {m["id"]: m["first_hit_rank"] for m in json.loads(path.read_text(encoding="utf-8"))["misses"]}
    out: Ranks = {}
    for line in GENERALIZATION_QUESTIONS.read_text(encoding="utf-8").splitlines():
        if line.strip():
            q = json.loads(line)
            out[q["id"]] = (q["split"], "korean", missed.get(q["id"], 1))
    return out


def korquad_ranks(path: Path, mode: str = "hybrid") -> Ranks:
    """From ``briefsearch eval --korquad``'s korquad.json: one mode's ranks, each question in its article's split."""
    from briefsearch.evaluation.korquad import load_articles

    ranks = json.loads(path.read_text(encoding="utf-8"))["outcomes"][mode]
    return {q.id: (q.split, "korean", ranks[q.id]) for a in load_articles() for q in a.questions if q.id in ranks}


def _run(ranks: Ranks, ids: list[str]) -> dict[str, dict[str, float]]:
    """A ten-deep run per question with the relevant passage ("hit") at its recorded rank."""
    run = {}
    for i in ids:
        rank = ranks[i][2]
        docs = [f"other{j}" for j in range(10)]
        if rank is not None and rank <= 10:
            docs[rank - 1] = "hit"
        run[i] = {doc: float(10 - j) for j, doc in enumerate(docs)}
    return run


def compare(base: Ranks, variant: Ranks, split: str, language: str | None = None) -> str:
    """ranx's comparison table of the two runs over one split (and language): scores and significance."""
    from ranx import Qrels, Run
    from ranx import compare as ranx_compare

    ids = sorted(i for i, (s, lang, _) in base.items() if s == split and (language is None or lang == language))
    if not ids:
        return "(no questions)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        qrels = Qrels({i: {"hit": 1} for i in ids})
        runs = [Run(_run(base, ids), name="base"), Run(_run(variant, ids), name="variant")]
        table = ranx_compare(qrels, runs=runs, metrics=list(METRICS), max_p=0.05, stat_test="student",
                             make_comparable=True)
    return f"n={len(ids)}\n{table}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path)
    parser.add_argument("variant", type=Path)
    parser.add_argument("--split", default="dev", choices=("dev", "test"))
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("--generalization", action="store_true", help="the reports are generalization reports")
    kind.add_argument("--korquad", choices=("hybrid", "dense", "lexical"),
                      help="the reports are korquad.json reports: compare this mode's runs")
    args = parser.parse_args()
    if args.korquad:
        base, variant = korquad_ranks(args.base, args.korquad), korquad_ranks(args.variant, args.korquad)
    else:
        read = generalization_ranks if args.generalization else briefing_ranks
        base, variant = read(args.base), read(args.variant)
    languages = [None] if args.generalization or args.korquad else [None, "korean", "english"]
    for language in languages:
        print(f"## {args.split} {language or 'all'}\n{compare(base, variant, args.split, language)}\n")


if __name__ == "__main__":
    main()

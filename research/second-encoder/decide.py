"""Apply issue 26's decision rule to the sweeps: the share chosen on dev, then test read once.

    python research/second-encoder/decide.py --briefings B.json --laws L.json [--korquad K.json] \\
        --out research/second-encoder/decision.md

The share (``ranking.second_weight``) is the one with the best MRR@10 on the briefings' and the laws'
dev questions pooled (ties: the smaller share, the cheaper change). Then, on test: the pooled MRR@10 of
both sets against e5-small alone (weight 0) with ranx's paired Student t-test; each set's R@5; KorQuAD's
MRR@10 when given. Cost and answers are measured elsewhere (bench/encoders.md, the answer reports) and
entered in the decision by hand.
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

from ranx import Qrels, Run, compare, evaluate

METRICS = ["hit_rate@1", "hit_rate@5", "mrr@10", "ndcg@10"]


def _rows(path: Path, mode: str = "hybrid") -> dict[float, dict]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {row["second_weight"]: row for row in data["rows"] if row["mode"] == mode}


def _subset(row: dict, split: str, prefix: str) -> tuple[dict, dict]:
    ids = [q for q, s in row["splits"].items() if s == split]
    return ({f"{prefix}:{q}": row["qrels"][q] for q in ids}, {f"{prefix}:{q}": row["run"][q] for q in ids})


def pooled(sets: dict[str, dict[float, dict]], weight: float, split: str) -> tuple[Qrels, Run]:
    qrels: dict = {}
    run: dict = {}
    for name, rows in sets.items():
        q, r = _subset(rows[weight], split, name)
        qrels |= q
        run |= r
    return Qrels(qrels), Run(run, name=f"w={weight}")


def scores(qrels: Qrels, run: Run) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {m: round(float(v), 4) for m, v in evaluate(qrels, run, METRICS, make_comparable=True).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--briefings", type=Path, required=True)
    parser.add_argument("--laws", type=Path, required=True)
    parser.add_argument("--korquad", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    sets = {"briefings": _rows(args.briefings), "laws": _rows(args.laws)}
    weights = sorted(set(sets["briefings"]) & set(sets["laws"]))
    dev = {w: scores(*pooled(sets, w, "dev")) for w in weights}
    chosen = max(weights, key=lambda w: (dev[w]["mrr@10"], -w))
    lines = ["# EmbeddingGemma-300M fused with e5-small: the decision rule of issue 26", "",
             "Share of the dense score given to EmbeddingGemma (`ranking.second_weight`), hybrid mode, "
             "briefings + laws and bills **dev** pooled:", "",
             "| share | " + " | ".join(METRICS) + " |", "|---:|" + "---:|" * len(METRICS)]
    lines += [f"| {w} | " + " | ".join(f"{dev[w][m]:.3f}" for m in METRICS) + " |" for w in weights]
    lines += ["", f"Chosen on dev: **{chosen}**.", "", "## Test, read once", "",
              "| set | n | e5-small alone: R@1 / R@5 / MRR@10 | fused: R@1 / R@5 / MRR@10 | R@5 change |",
              "|---|---:|---|---|---:|"]
    for name, rows in sets.items():
        base, fused = scores(*_qr(rows[0.0], "test", name)), scores(*_qr(rows[chosen], "test", name))
        n = sum(1 for s in rows[0.0]["splits"].values() if s == "test")
        lines.append(f"| {name} | {n} | {_three(base)} | {_three(fused)} | "
                     f"{fused['hit_rate@5'] - base['hit_rate@5']:+.3f} |")
    qrels, base_run = pooled(sets, 0.0, "test")
    _, fused_run = pooled(sets, chosen, "test")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = compare(qrels, [base_run, fused_run], metrics=["mrr@10", "hit_rate@1", "hit_rate@5"],
                         stat_test="student", max_p=0.05, make_comparable=True)
    base, fused = scores(qrels, base_run), scores(qrels, fused_run)
    p_value = report.to_dict()[fused_run.name]["comparisons"][base_run.name]["mrr@10"]
    lines += ["", f"Pooled test ({len(qrels.qrels)} questions): MRR@10 {base['mrr@10']:.3f} → {fused['mrr@10']:.3f} "
              f"({fused['mrr@10'] - base['mrr@10']:+.3f}), paired t-test p = {p_value:.4f}.", "",
              "```", str(report), "```"]
    if args.korquad:
        k = _rows(args.korquad)
        if chosen in k:
            kb, kf = scores(*_qr(k[0.0], "test", "korquad")), scores(*_qr(k[chosen], "test", "korquad"))
            n = sum(1 for s in k[0.0]["splits"].values() if s == "test")
            lines += ["", f"KorQuAD test ({n} questions): {_three(kb)} → {_three(kf)}; MRR@10 "
                      f"{kf['mrr@10'] - kb['mrr@10']:+.4f}."]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


def _qr(row: dict, split: str, prefix: str) -> tuple[Qrels, Run]:
    q, r = _subset(row, split, prefix)
    return Qrels(q), Run(r)


def _three(s: dict[str, float]) -> str:
    return f"{s['hit_rate@1']:.3f} / {s['hit_rate@5']:.3f} / {s['mrr@10']:.3f}"


if __name__ == "__main__":
    main()

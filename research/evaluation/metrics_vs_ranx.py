"""Check briefsearch.evaluation.metrics against ranx: every eval-set grouping in every mode, and random runs.

    BRIEFSEARCH_DATA_DIR=... python research/evaluation/metrics_vs_ranx.py

Prints each comparison and exits 1 on the first difference (scores are rounded to 4 places, as reported).
"""

from __future__ import annotations

import random
import sys
import time
import warnings

from ranx import Qrels, Run, evaluate

from briefsearch.config import Settings
from briefsearch.evaluation.evaluate import _groups, load_questions, run_eval
from briefsearch.evaluation.metrics import METRICS, mean_scores
from briefsearch.runtime.engine import open_searcher


def ranx_scores(qrels: dict, run: dict, ids: list[str]) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = evaluate(Qrels({i: qrels[i] for i in ids}), Run({i: run[i] for i in ids}), METRICS,
                          make_comparable=True)
    return {"n": float(len(ids)), **{m: round(float(result[m]), 4) for m in METRICS}}


def check(name: str, qrels: dict, run: dict, ids: list[str]) -> int:
    ours, theirs = mean_scores(qrels, run, ids), ranx_scores(qrels, run, ids)
    same = ours == theirs
    print(f"{'same' if same else 'DIFFERENT'}  {name}  {ours if same else (ours, theirs)}")
    return 0 if same else 1


def main() -> int:
    failures = 0
    rng = random.Random(7)
    for trial in range(200):  # random runs: several relevant passages, some never retrieved, empty runs
        ids = [f"q{i}" for i in range(rng.randint(1, 40))]
        qrels = {i: {str(d): 1 for d in rng.sample(range(30), rng.randint(1, 6))} for i in ids}
        run = {i: {str(d): float(20 - r) for r, d in enumerate(rng.sample(range(30), rng.randint(0, 12)))}
               for i in ids}
        run[ids[0]] = run[ids[0]] or {"0": 1.0}  # ranx cannot build a run with no passage at all
        failures += check(f"random {trial}", qrels, run, ids)
    searcher = open_searcher(Settings(), build=False, progress=False)
    questions = load_questions(None)
    for mode in ("hybrid", "dense", "lexical"):
        started = time.perf_counter()
        report = run_eval(searcher, questions, mode=mode)
        print(f"{mode}: {len(questions)} questions searched in {time.perf_counter() - started:.1f} s")
        groups = {"all": [q.id for q in questions]}
        for key in ("split", "doc_id", "type"):
            groups.update({f"{key}={k}": v for k, v in _groups(questions, key).items()})
        for name, ids in groups.items():
            failures += check(f"{mode} {name}", report.qrels, report.run, ids)
    print("all the same" if not failures else f"{failures} differences")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""Deterministic dev/test split of a question set, stratified by document and question type.

Tuning happens on ``dev``; figures are reported (and regressions gated) on
``test``. Within each (document, type) stratum the questions are ordered by a
hash of their id and dealt alternately; an odd stratum's extra question goes
to whichever split is smaller so far, so the halves stay within one question.

Questions written later form a batch of their own (an id prefix of its own:
``q012`` and ``e01``, ``n07`` and ``en01``; or, for a prefix continued later, the
number its block starts at, ``BATCH_STARTS``: ``e25``.. after ``e01``..``e24``)
and each batch is split on its own, so appending questions never moves one
already tuned on from dev to test.

    python -m briefsearch.evaluation.split eval/questions.jsonl     # (re)write the split field in place
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path

SPLITS = ("dev", "test")

# Prefixes continued by a later batch: the numbers where each later block begins (written 2026-11-30:
# e25..e48 and en09..en16, the second English batch, written before any run on them).
BATCH_STARTS: dict[str, tuple[int, ...]] = {"e": (25,), "en": (9,)}


def _order(qid: str) -> str:
    return hashlib.sha1(qid.encode("utf-8")).hexdigest()


def assign_splits(rows: Sequence[dict], stratum_keys: Sequence[str] = ("doc_id", "type")) -> dict[str, str]:
    """Question id -> "dev" | "test"; the same rows always give the same split."""
    strata: dict[tuple, list[str]] = {}
    for row in rows:
        strata.setdefault(tuple(str(row.get(k, "")) for k in stratum_keys), []).append(row["id"])
    counts = {"dev": 0, "test": 0}
    out: dict[str, str] = {}
    for key in sorted(strata):
        ids = sorted(strata[key], key=_order)
        first = "dev" if counts["dev"] <= counts["test"] else "test"
        second = "test" if first == "dev" else "dev"
        for i, qid in enumerate(ids):
            split = first if i % 2 == 0 else second
            out[qid] = split
            counts[split] += 1
    return out


def batch_of(qid: str) -> str:
    """The batch a question was written in: the letters its id starts with, and the block for a continued prefix."""
    match = re.match(r"([A-Za-z]*)(\d*)", qid)
    prefix, number = (match.group(1), match.group(2)) if match else ("", "")
    starts = [s for s in BATCH_STARTS.get(prefix, ()) if number and int(number) >= s]
    return f"{prefix}{max(starts)}" if starts else prefix


def assign_batched_splits(rows: Sequence[dict], stratum_keys: Sequence[str] = ("doc_id", "type")) -> dict[str, str]:
    """``assign_splits`` over each batch alone, so a later batch leaves the earlier splits as they were."""
    batches: dict[str, list[dict]] = {}
    for row in rows:
        batches.setdefault(batch_of(row["id"]), []).append(row)
    out: dict[str, str] = {}
    for batch_rows in batches.values():
        out.update(assign_splits(batch_rows, stratum_keys))
    return out


def rewrite(path: Path, stratum_keys: Sequence[str] | None = None) -> dict[str, int]:
    """Write the ``split`` field into a JSONL question file; returns the counts per split.

    Negatives (rows with ``near_doc``) are stratified by the document they are near, questions by their own.
    """
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if stratum_keys is None:
        stratum_keys = ("near_doc", "type") if rows and "near_doc" in rows[0] else ("doc_id", "type")
    splits = assign_batched_splits(rows, stratum_keys)
    for row in rows:
        row["split"] = splits[row["id"]]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return {s: sum(1 for r in rows if r["split"] == s) for s in SPLITS}


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(name, rewrite(Path(name)))

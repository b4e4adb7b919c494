"""Does the term bridge need adjacent word pairs, or do an English question's single words do as well?

    BRIEFSEARCH_DATA_DIR=<index of corpus/> python research/crosslingual/bridge_pairs.py

Pairs are ~35 % of the texts the word pass embeds (4.0 of 11.4 per English question) and the longest ones,
so without them the pass of an English question costs about half. Decided on dev (English questions: the
dev split of questions.jsonl and english_dev.jsonl), then read on test. Prints both arms' metrics per split
and language, and how many questions move.
"""

from __future__ import annotations

from briefsearch.config import Settings
from briefsearch.evaluation.evaluate import LABELS, METRICS, load_questions, run_eval
from briefsearch.evaluation.metrics import mean_scores
from briefsearch.retrieval import crosslingual
from briefsearch.retrieval import searcher as searcher_module
from briefsearch.retrieval.crosslingual import is_crosslingual
from briefsearch.runtime.engine import open_searcher


def singles_only(text: str) -> list[str]:
    """``content_words`` without the adjacent pairs."""
    return [w for w in crosslingual.content_words(text) if " " not in w]


def main() -> None:
    settings = Settings()
    searcher = open_searcher(settings, build=False, progress=False)
    questions = load_questions(None)
    english = {q.id for q in questions if is_crosslingual(q.question, settings.crosslingual.latin_share)}
    texts = {"with pairs": [], "singles only": []}
    for q in questions:
        if q.id in english:
            words = crosslingual.content_words(q.question)
            texts["with pairs"].append(len(words))
            texts["singles only"].append(sum(" " not in w for w in words))
    reports = {}
    original = searcher_module.content_words
    for arm, words in (("with pairs", original), ("singles only", singles_only)):
        searcher_module.content_words = words
        searcher.encoder._word_cache = None  # each arm embeds its own words
        reports[arm] = run_eval(searcher, questions, mode="hybrid")
    searcher_module.content_words = original
    for arm, n in texts.items():
        print(f"{arm}: {sum(n) / len(n):.1f} texts per English question")
    for split in ("dev", "test"):
        for language, keep in (("english", lambda i: i in english), ("all", lambda i: True)):
            ids = [q.id for q in questions if q.split == split and keep(q.id)]
            line = [f"{split:<4} {language:<8} n={len(ids):<4}"]
            for arm, report in reports.items():
                scores = mean_scores(report.qrels, report.run, ids)
                line.append(f"{arm}: " + " ".join(f"{LABELS[m]}={scores[m]:.3f}" for m in METRICS))
            print("  ".join(line))
            a, b = ({o.id: o.first_hit_rank for o in r.outcomes} for r in reports.values())
            moved = [(i, a[i], b[i]) for i in ids if a[i] != b[i]]
            print(f"     first-hit rank moves: {len(moved)} {moved[:12]}")


if __name__ == "__main__":
    main()

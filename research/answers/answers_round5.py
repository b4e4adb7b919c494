"""Round 5 of the answers work: /ask on laws and bills (the generalization set) beside the briefings, dev only.

    python -m briefsearch.eval.answers_round5            # dev failure tables of both sets, with the round-5 flags
    python -m briefsearch.eval.answers_round5 --sweep answer_named_document 0 1   # dev figures per value
    python -m briefsearch.eval.answers_round5 --sweep answer_noun_switch 0.05 0.1 0.2
    python -m briefsearch.eval.answers_round5 --sweep answer_threshold 0.9933 0.98 --with answer_continuation=1

Test questions are never read here. Each dev failure gets round 4's class (eval/answers_round4.py: i confidence,
ii another sentence of the right passage, iii ranking, iv list continuation) and two flags:

* ``names other doc``: the question cites a statute or bill by title (index/named_document.py) and the answering
  passage (the top one) is of another document; the rank of the first passage of the cited one is shown;
* ``subject elsewhere``: a noun of the question (index/salience.py ``salient_nouns``) is missing from the chosen
  sentence but held by another sentence of the same passage.

The briefings are the index of the configured data dir (``briefsearch index build``); the laws and bills the
generalization runner's scratch dir (var/generalization, brought up to date through the add path).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from briefsearch.eval.answers import Negative, holds_evidence, load_negatives
from briefsearch.eval.answers_round4 import Failure, classify, forced_answer
from briefsearch.eval.evaluate import Question, load_questions
from briefsearch.eval.generalization import NEGATIVES, add_documents, load_split_questions, scratch_settings
from briefsearch.index.answer import Answerer
from briefsearch.index.named_document import document_names, names_document
from briefsearch.index.salience import salient_nouns
from briefsearch.index.search import open_searcher
from briefsearch.index.settings import Settings, get_settings

# the round-5 settings and the Answerer attribute each sets
ATTRIBUTES = {"answer_named_document": "named_document",
              "answer_continuation": "continuation", "answer_threshold": "threshold",
              "answer_passages": "passages", "answer_noun_switch": "noun_switch"}


@dataclass(slots=True)
class DevSet:
    name: str
    answerer: Answerer
    questions: list[Question]
    negatives: list[Negative]


def dev_sets(settings: Settings) -> list[DevSet]:
    """The briefings' and the generalization set's dev questions and near-domain negatives, each on its index."""
    briefings = Answerer(open_searcher(settings, build=False, progress=False))
    scratch = scratch_settings(settings, settings.data_dir / "generalization")
    add_documents(scratch)
    laws = Answerer(open_searcher(scratch, build=False, progress=False))
    return [DevSet("briefings", briefings, [q for q in load_questions() if q.split == "dev"],
                   [n for n in load_negatives() if n.split == "dev"]),
            DevSet("laws and bills", laws, [q for q in load_split_questions() if q.split == "dev"],
                   [n for n in load_negatives(NEGATIVES) if n.split == "dev"])]


def flags(answerer: Answerer, q: Question) -> str:
    """The round-5 flags of one failing question (forced answer: any confidence)."""
    forced = forced_answer(answerer, q.question)
    out = []
    names = document_names(q.question)
    if names and forced.citations:
        top = next(h for h in forced.hits if h.chunk.chunk_id == forced.citations[0].chunk_id)
        if not any(names_document(n, top.chunk.title) for n in names):
            rank = next((h.rank for h in forced.hits if any(names_document(n, h.chunk.title) for n in names)), None)
            out.append(f"names other doc ({', '.join(names)}; its first passage at rank {rank or '>10'})")
    if forced.citations:
        cite = forced.citations[0]
        chunk = answerer.searcher.index.chunks[cite.chunk_id]
        chosen = {i for c in forced.citations if c.chunk_id == chunk.chunk_id for i, s in enumerate(chunk.sentences)
                  if s[2] <= c.char_start < s[3]}
        held = set().union(*(chunk.sentence_terms[i] for i in chosen)) if chosen else set()
        others = set().union(*(t for i, t in enumerate(chunk.sentence_terms) if i not in chosen))
        absent = [n for n in salient_nouns(answerer.searcher.korean, q.question) if n not in held and n in others]
        if absent:
            out.append("subject elsewhere (" + ", ".join(absent) + ")")
    return "; ".join(out)


def figures(s: DevSet) -> dict[str, str | float]:
    """Evidence / wrong / missed shares of the dev questions, answers with the evidence whose first citation is of
    the question's own document, dev negatives answered, English answered and with evidence."""
    good = wrong = missed = own = 0
    english = [0, 0, 0]
    for q in s.questions:
        ans = s.answerer.ask(q.question, k=5)
        holds = ans.answerable and holds_evidence(ans.answer, q)
        own += holds and ans.citations[0].doc_id == q.doc_id
        if q.type == "english":
            english = [english[0] + ans.answerable, english[1] + holds, english[2] + 1]
        good += holds
        wrong += ans.answerable and not holds
        missed += not ans.answerable
    false = sum(s.answerer.ask(n.question, k=5).answerable for n in s.negatives)
    n = max(1, len(s.questions))
    return {"evidence": round(good / n, 3), "wrong": round(wrong / n, 3), "missed": round(missed / n, 3),
            "good": good, "own document": own, "negatives": f"{false} of {len(s.negatives)}",
            "english": f"{english[0]} of {english[2]} ({english[1]} with evidence)"}


def failure_table(s: DevSet) -> list[str]:
    failures: list[tuple[Failure, str]] = [(f, flags(s.answerer, q)) for q in s.questions
                                           if (f := classify(s.answerer, q)) is not None]
    lines = [f"### {s.name}: {len(failures)} dev failures of {len(s.questions)}", "",
             "| question | outcome | class | confidence | detail | round-5 flags |", "|---|---|---|---:|---|---|"]
    for f, fl in sorted(failures, key=lambda x: (x[0].cls, x[0].id)):
        lines.append(f"| {f.id} {f.question[:60]} | {f.outcome} | {f.cls} | {f.confidence:.3f} | {f.detail} | "
                     f"{fl} |")
    counts = {c: sum(f.cls == c for f, _ in failures) for c in ("i", "ii", "iii", "iv")}
    flagged = {k: sum(k in fl for _, fl in failures) for k in ("names other doc", "subject elsewhere")}
    lines += ["", "Counts: " + ", ".join(f"({c}) {n}" for c, n in counts.items()) + "; flags: "
              + ", ".join(f"{k} {n}" for k, n in flagged.items()) + ".", ""]
    return lines


def sweep(sets: list[DevSet], setting: str, values: list[str]) -> list[str]:
    """Dev figures of both sets with one answer setting at each value, and pooled dev evidence."""
    attribute = ATTRIBUTES[setting]
    lines = [f"| {setting} | set | evidence | cited from the question's document | wrong | missed | negatives answered "
             "| English answered |", "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for value in values:
        pooled = [0, 0]
        for s in sets:
            saved = getattr(s.answerer, attribute)
            setattr(s.answerer, attribute, type(saved)(float(value)))
            try:
                f = figures(s)
            finally:
                setattr(s.answerer, attribute, saved)
            pooled = [pooled[0] + int(f["good"]), pooled[1] + len(s.questions)]
            lines.append(f"| {value} | {s.name} | {f['evidence']} | {f['own document']} of {f['good']} | {f['wrong']} "
                         f"| {f['missed']} | {f['negatives']} | {f['english']} |")
        lines.append(f"| {value} | pooled | {pooled[0] / pooled[1]:.3f} | | | | | |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", nargs="+", metavar=("SETTING", "VALUE"),
                        help="an answer setting and the values to measure on both sets' dev")
    parser.add_argument("--with", dest="fixed", nargs="*", default=[], metavar="SETTING=VALUE",
                        help="other answer settings held at these values during the sweep")
    args = parser.parse_args()
    sets = dev_sets(get_settings())
    for item in args.fixed:
        setting, value = item.split("=")
        for s in sets:
            attribute = ATTRIBUTES[setting]
            setattr(s.answerer, attribute, type(getattr(s.answerer, attribute))(float(value)))
    if args.sweep:
        print("\n".join(sweep(sets, args.sweep[0], args.sweep[1:])))
        return
    for s in sets:
        print("\n".join(failure_table(s)))


if __name__ == "__main__":
    main()

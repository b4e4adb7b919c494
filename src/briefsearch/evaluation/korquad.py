"""KorQuAD 1.0 dev: a public benchmark beside our own question sets (5,774 questions over 140 articles).

The file (eval/korquad/KorQuAD_v1.0_dev.json, CC BY-ND 2.0 KR: SOURCES.md) is
kept byte for byte as published and its sha256 is checked on every load; the
split and the documents are made here, at run time, never saved back into the
repository.

* **Split by article**, so no article is tuned on and tested: the articles are
  ordered by the sha256 of their title and dealt alternately, dev first (70 dev,
  70 test; the same file always gives the same split). Tune on dev only.
* **Index**: each article is one document (its paragraphs joined by blank
  lines; its title, underscores as spaces, is the document's title), written
  with a manifest into ``<data_dir>/korquad/corpus`` and built by the normal
  build path (``rebuild_index``, what ``briefsearch index build`` runs) into
  that scratch data dir, which shares the prepared model and takes every
  other setting (encoder, ranking, answers) from the Settings it is given.
  Every question competes against every article of the index.
* **Retrieval** (evaluation/evaluate.py's ``run_eval``): the question's
  ``doc_id`` is its article and its evidence the gold answer text, so a hit is
  a passage of the right article whose shown text contains the answer span
  (normalized); R@k, MRR@10 and nDCG@10 per split, in every mode.
* **Answers** (/ask's Answerer, evaluation/answers.py's ``measure_split``): the
  share of questions whose answer contains the gold span, answered without it,
  and refused, per split.

The hybrid test split is gated on the "korquad" section of eval/thresholds.json
(its "answers" object for /ask). ``articles`` takes the first N articles in the
split's hash order (alternately dev and test): a deterministic subset, for tests.

    briefsearch eval --korquad
    python -m briefsearch.evaluation.korquad [--data-dir DIR] [--articles N] [--modes hybrid] [--no-answers]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from briefsearch.config import Settings
from briefsearch.evaluation.evaluate import EVAL_DIR, LABELS, METRICS, REPORTS, THRESHOLDS, Question, check_thresholds

if TYPE_CHECKING:
    from briefsearch.evaluation.answers import SplitStats
    from briefsearch.evaluation.evaluate import EvalReport
    from briefsearch.retrieval.searcher import Searcher

KORQUAD_DIR = EVAL_DIR / "korquad"
DATASET = KORQUAD_DIR / "KorQuAD_v1.0_dev.json"
# eval/korquad/SOURCES.md: the published file's checksum; any other bytes are refused
SHA256 = "25ffeb51e6c51ec02c071b60a10188e10005c144110f0d876b26079d80a35bdf"
MODES = ("hybrid", "dense", "lexical")
SPLITS = ("dev", "test")
SECTION = "korquad"  # its floors in eval/thresholds.json
SUBSET_ARTICLES = 24  # the CI test's deterministic subset (its own floors: "korquad" / "subset")
PUBLISHER = "KorQuAD 1.0 dev (LG CNS), Korean Wikipedia, CC BY-ND 2.0 KR"


@dataclass(frozen=True, slots=True)
class Article:
    """One KorQuAD article: a document of the scratch index, and its questions (all in the article's split)."""

    doc_id: str
    title: str
    paragraphs: list[str]
    questions: list[Question]
    split: str

    @property
    def text(self) -> str:
        """The document's text: the paragraphs as published, one blank line between them."""
        return "\n\n".join(p.strip() for p in self.paragraphs) + "\n"


def _bad(path: Path, where: str, what: str) -> ValueError:
    return ValueError(f"{path}: {where}: {what} (expected the KorQuAD 1.0 dev file, eval/korquad/SOURCES.md)")


def load_articles(path: Path = DATASET, sha256: str | None = SHA256) -> list[Article]:
    """The articles in the file's order, each with its split; the file must be the published one, unmodified.

    A missing file, other bytes (``sha256``; None skips the check, for tests of the
    parser) or a file not shaped like SQuAD 1.1 raises ValueError with what is wrong.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the KorQuAD file ({exc.strerror or exc})") from exc
    digest = hashlib.sha256(data).hexdigest()
    if sha256 is not None and digest != sha256:
        raise ValueError(f"{path}: sha256 {digest} is not the published KorQuAD 1.0 dev file's {sha256}; "
                         "the file must be kept unmodified (CC BY-ND: eval/korquad/SOURCES.md)")
    try:
        payload = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _bad(path, "not JSON", str(exc)) from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list) or not payload["data"]:
        raise _bad(path, "top level", "no 'data' list of articles")
    rows = []
    for i, entry in enumerate(payload["data"]):
        try:
            title = entry["title"]
            paragraphs = [p["context"] for p in entry["paragraphs"]]
            qas = [(q["id"], q["question"], [a["text"] for a in q["answers"]])
                   for p in entry["paragraphs"] for q in p["qas"]]
        except (KeyError, TypeError) as exc:
            raise _bad(path, f"article {i}", f"missing or malformed {exc}") from exc
        if not (isinstance(title, str) and title and paragraphs and all(isinstance(p, str) for p in paragraphs)):
            raise _bad(path, f"article {i}", "needs a title and paragraphs of text")
        for qid, question, answers in qas:
            if not (isinstance(question, str) and question.strip() and answers
                    and all(isinstance(a, str) and a.strip() for a in answers)):
                raise _bad(path, f"article {i} ({title}) question {qid}", "needs a question and answer texts")
        rows.append((title, paragraphs, qas))
    splits = assign_article_splits([title for title, _, _ in rows])
    articles = []
    for i, (title, paragraphs, qas) in enumerate(rows):
        doc_id = f"korquad_{i:03d}"
        split = splits[title]
        questions = [Question(id=str(qid), question=question, doc_id=doc_id, evidence=answers, type="korquad",
                              split=split) for qid, question, answers in qas]
        articles.append(Article(doc_id, title.replace("_", " "), paragraphs, questions, split))
    return articles


def _order(title: str) -> str:
    return hashlib.sha256(title.encode("utf-8")).hexdigest()


def assign_article_splits(titles: list[str]) -> dict[str, str]:
    """Title -> "dev" | "test": ordered by the sha256 of the title and dealt alternately, dev first."""
    if len(set(titles)) != len(titles):
        raise ValueError("KorQuAD article titles must be unique to split by article")
    return {t: SPLITS[i % 2] for i, t in enumerate(sorted(titles, key=_order))}


def subset(articles: list[Article], n: int | None) -> list[Article]:
    """The first ``n`` articles in the split's hash order (so alternately dev and test); all when ``n`` is None."""
    if n is None:
        return articles
    if n < 2:
        raise ValueError("a KorQuAD subset needs at least 2 articles (one dev, one test)")
    chosen = {a.doc_id for a in sorted(articles, key=lambda a: _order(a.title.replace(" ", "_")))[:n]}
    return [a for a in articles if a.doc_id in chosen]


def write_corpus(articles: list[Article], corpus_dir: Path) -> None:
    """One .txt per article and a manifest; files already holding the same bytes are left alone (a rebuild
    then reuses their passages), and files of articles no longer chosen are removed."""
    corpus_dir.mkdir(parents=True, exist_ok=True)
    wanted = {f"{a.doc_id}.txt": a.text.encode("utf-8") for a in articles}
    for path in corpus_dir.glob("korquad_*.txt"):
        if path.name not in wanted:
            path.unlink()
    for name, data in wanted.items():
        path = corpus_dir / name
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)
    manifest = {"documents": [{"doc_id": a.doc_id, "file": f"{a.doc_id}.txt", "title": a.title,
                               "publisher": PUBLISHER, "kind": "encyclopedia article"} for a in articles]}
    text = json.dumps(manifest, ensure_ascii=False, indent=1) + "\n"
    manifest_path = corpus_dir / "manifest.json"
    if not manifest_path.is_file() or manifest_path.read_text(encoding="utf-8") != text:
        manifest_path.write_text(text, encoding="utf-8")


def korquad_settings(base: Settings, data_dir: Path) -> Settings:
    """The given settings over a scratch data dir (the prepared model shared by a symlink) whose corpus is the
    articles: every other setting, the encoder's and ranking's included, is the caller's."""
    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    models = data_dir / "models"
    if not models.exists() and not models.is_symlink():
        models.symlink_to(base.models_dir.resolve(), target_is_directory=True)
    return base.model_copy(update={"data_dir": data_dir, "corpus_dir": data_dir / "corpus"})


def build(settings: Settings, articles: list[Article]) -> dict:
    """Write the articles and build the scratch index when missing or stale; what was done and how long it took."""
    from briefsearch.build.pipeline import index_status, rebuild_index
    from briefsearch.embedding.encoder import Encoder
    from briefsearch.text.korean import KoreanText

    write_corpus(articles, settings.corpus_dir)
    encoder = Encoder(settings, progress=False)
    status = index_status(settings, encoder.identity)
    if status.state == "fresh":
        return {"built": False, "state": "fresh"}
    started, cpu = time.perf_counter(), time.process_time()
    report = rebuild_index(settings, encoder, KoreanText(), progress=False)
    # CPU seconds beside the wall clock: on a shared machine the wall clock also counts other processes' load
    return {"built": True, "state": status.state, "seconds": round(time.perf_counter() - started, 1),
            "cpu_seconds": round(time.process_time() - cpu, 1), "load_average": round(os.getloadavg()[0], 2),
            "embedded_passages": report.passages_embedded if report else None,
            "embedded_sentences": report.sentences_embedded if report else None}


@dataclass(slots=True)
class KorquadResult:
    """Everything one run measured: retrieval per mode, /ask per split, the gate, times."""

    created_at: str
    command: str
    index: dict
    build: dict
    n_articles: dict[str, int]
    retrieval: dict[str, EvalReport]
    answers: dict[str, SplitStats] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)
    load_average: float = 0.0  # the machine's 1-minute load average when measuring ended (shared cores slow timings)
    gate: str = ""  # the section of eval/thresholds.json gated on ("korquad", "korquad/subset"); "": not gated

    def scores(self) -> dict[str, dict[str, dict[str, float]]]:
        """Mode -> split -> ranx scores (test, dev, all)."""
        return {mode: {**{s: r.per_split[s] for s in ("test", "dev") if s in r.per_split}, "all": r.overall}
                for mode, r in self.retrieval.items()}

    def answer_figures(self) -> dict[str, dict[str, float]]:
        return {split: {"n": st.n_questions, "evidence_rate": st.evidence_rate,
                        "wrong_answer_rate": round(len(st.wrong_answers) / max(1, st.n_questions), 4),
                        "missed_rate": st.missed_rate, "n_citations": st.n_citations,
                        "inexact_citations": len(st.inexact_citations)} for split, st in self.answers.items()}

    def to_dict(self) -> dict:
        hybrid = self.retrieval.get("hybrid")
        return {"created_at": self.created_at, "command": self.command, "index": self.index, "build": self.build,
                "n_articles": self.n_articles, "retrieval": self.scores(), "answers": self.answer_figures(),
                "median_latency_ms": {m: r.median_latency_ms for m, r in self.retrieval.items()},
                "median_timings_ms": {m: r.median_timings_ms for m, r in self.retrieval.items()},
                "mean_chars_shown": {m: r.mean_chars_shown for m, r in self.retrieval.items()},
                "gate": self.gate, "failures": self.failures, "seconds": self.seconds,
                "load_average": self.load_average,
                "unreachable": [o.id for o in hybrid.outcomes if o.n_relevant == 0] if hybrid else [],
                "outcomes": {m: {o.id: o.first_hit_rank for o in r.outcomes} for m, r in self.retrieval.items()}}

    def to_markdown(self) -> str:
        head = "| mode | split | n | " + " | ".join(LABELS[m] for m in METRICS) + " | median ms |"
        sep = "|---|---|---:|" + "---:|" * (len(METRICS) + 1)
        lines = ["# KorQuAD 1.0 dev: retrieval and answers", "",
                 f"- created: {self.created_at}; command: `{self.command}`",
                 f"- data: eval/korquad/KorQuAD_v1.0_dev.json (sha256 checked; CC BY-ND 2.0 KR, SOURCES.md), "
                 f"split by article: {self.n_articles['dev']} dev articles (tuned on), {self.n_articles['test']} "
                 "test articles (reported, gated)",
                 f"- index: {self.index['n_documents']} articles, {self.index['n_chunks']} passages; model "
                 f"{self.index['model'].get('name')}; chunker {self.index['chunker']}",
                 f"- build: {_build_line(self.build, self.index)}",
                 f"- times: {', '.join(f'{k} {v:.0f} s' for k, v in self.seconds.items())} (1-minute load average "
                 f"at the end {self.load_average} on {os.cpu_count()} cores)",
                 "- a hit is a passage of the question's article whose shown text contains the gold answer span "
                 "(normalized: lower-case, letters and digits only)", "",
                 "## Retrieval", "", head, sep]
        for split in ("test", "dev", "all"):
            for mode, rep in self.retrieval.items():
                s = rep.overall if split == "all" else rep.per_split.get(split)
                if s:
                    lines.append(f"| {mode} | {split} | {int(s['n'])} | " + " | ".join(f"{s[m]:.3f}" for m in METRICS)
                                 + f" | {rep.median_latency_ms:.1f} |")
        hybrid = self.retrieval.get("hybrid")
        if hybrid:
            unreachable = [o.id for o in hybrid.outcomes if o.n_relevant == 0]
            lines += ["", f"Questions whose answer span is in no passage of their article (counted as misses): "
                      f"{len(unreachable)}" + (f" ({', '.join(unreachable[:20])})" if unreachable else "") + ".",
                      f"Characters shown per result (mean, hybrid): {hybrid.mean_chars_shown:.0f}. "
                      f"Median per stage (hybrid, ms): {hybrid.median_timings_ms}."]
        if self.answers:
            names = [s for s in ("test", "dev") if s in self.answers]
            cols = [self.answers[s] for s in names]
            lines += ["", "## Answers (/ask)", "", "| metric | " + " | ".join(names) + " |",
                      "|---|" + "---:|" * len(names),
                      "| questions | " + " | ".join(str(c.n_questions) for c in cols) + " |",
                      "| answer contains a gold span (share of questions) | "
                      + " | ".join(f"{c.evidence_rate:.3f}" for c in cols) + " |",
                      "| answered without a gold span | "
                      + " | ".join(f"{len(c.wrong_answers) / max(1, c.n_questions):.3f}" for c in cols) + " |",
                      "| refused (declared unanswerable) | " + " | ".join(f"{c.missed_rate:.3f}" for c in cols) + " |",
                      "| citations whose offsets slice the file to the cited text | "
                      + " | ".join(f"{c.n_citations - len(c.inexact_citations)} of {c.n_citations}" for c in cols)
                      + " |"]
        lines += ["", (f"Gate (hybrid and /ask, test split; floors: eval/thresholds.json, \"{self.gate}\"): "
                       + ("; ".join(self.failures) or "passed")) if self.gate else "Gate: none (not checked)"]
        if hybrid:
            per_article = sorted(hybrid.per_document.items(), key=lambda kv: (kv[1]["mrr@10"], kv[0]))[:15]
            lines += ["", "## Weakest articles (hybrid, MRR@10)", "", "| article | split | n | Recall@1 | Recall@5 | "
                      "MRR@10 |", "|---|---|---:|---:|---:|---:|"]
            split_of = {o.doc_id: o.split for o in hybrid.outcomes}
            lines += [f"| {doc} {self.titles.get(doc, '')} | {split_of.get(doc, '')} | {int(s['n'])} | "
                      f"{s['hit_rate@1']:.3f} | {s['hit_rate@5']:.3f} | {s['mrr@10']:.3f} |" for doc, s in per_article]
            missed = [o for o in hybrid.outcomes if o.split == "dev" and (o.first_hit_rank or 99) > 5]
            lines += ["", f"## Dev questions not answered in the top 5 (hybrid; {len(missed)}, first 40)", ""]
            lines += [f"- {o.id} ({o.doc_id}): {o.question} — first hit: {o.first_hit_rank}" for o in missed[:40]]
        inexact = [f"{s}: {m}" for s, st in self.answers.items() for m in st.inexact_citations]
        if inexact:
            lines += ["", "## Citations whose offsets do not slice the file to the cited text", "",
                      *[f"- {m}" for m in inexact]]
        if "dev" in self.answers:
            wrong = self.answers["dev"].wrong_answers
            lines += ["", f"## Dev answers without a gold span ({len(wrong)}, first 30)", "",
                      *[f"- {w}" for w in wrong[:30]]]
        return "\n".join(lines) + "\n"


def _build_line(build: dict, index: dict) -> str:
    if build.get("built"):
        return (f"built in this run ({build['state']} before) in {build['seconds']:.0f} s ({build['cpu_seconds']:.0f} "
                f"CPU s; 1-minute load average {build['load_average']} at the end, {os.cpu_count()} cores), "
                f"embedding {build['embedded_passages']} passages and {build['embedded_sentences']} sentences "
                "not cached")
    return f"index fresh, reused (its last build took {index.get('build_seconds', 0):.0f} s)"


def answer_floor_failures(answers: dict[str, SplitStats], path: Path = THRESHOLDS,
                          section: tuple[str, ...] = (SECTION,)) -> list[str]:
    """The test split's /ask figures past the section's "answers" floors (evaluation/answers.py's check)."""
    from briefsearch.evaluation.answers import AnswerStats, check_floors

    stats = AnswerStats(threshold=0.0, splits=dict(answers), n_off_corpus=0, off_corpus_false_rate=0.0,
                        off_confidences=[], off_false_answers=[])
    return check_floors(stats, path, (*section, "answers"))


def floor_failures(result: KorquadResult, path: Path = THRESHOLDS, section: tuple[str, ...] = (SECTION,)
                   ) -> list[str]:
    """Hybrid retrieval and /ask on the test articles against a section of the floors: ("korquad",) for the
    whole set, ("korquad", "subset") for the first ``SUBSET_ARTICLES`` articles (the CI test)."""
    failures = [f"retrieval {f}" for f in check_thresholds(result.retrieval["hybrid"], path, section)]
    return failures + (answer_floor_failures(result.answers, path, section) if result.answers else [])


def evaluate(settings: Settings, data_dir: Path | None = None, articles: int | None = None,
             modes: tuple[str, ...] = MODES, answers: bool = True, thresholds: Path | None = THRESHOLDS,
             command: str = "briefsearch eval --korquad") -> KorquadResult:
    """Build (when needed) and measure the set with ``settings``' encoder, ranking and answer settings.

    ``data_dir`` is the scratch data dir (default ``<settings.data_dir>/korquad``); ``thresholds`` None
    skips the gate. The gate reads the hybrid run, which is measured whether asked for or not.
    """
    from briefsearch.evaluation.evaluate import run_eval
    from briefsearch.runtime.engine import open_searcher

    chosen = subset(load_articles(), articles)
    scratch = korquad_settings(settings, data_dir or settings.data_dir / "korquad")
    started = time.perf_counter()
    built = build(scratch, chosen)
    seconds = {"build": round(time.perf_counter() - started, 1)}
    searcher: Searcher = open_searcher(scratch, build=False, progress=False)
    questions = [q for a in chosen for q in a.questions]
    retrieval = {}
    for mode in dict.fromkeys(("hybrid", *modes)):
        t0 = time.perf_counter()
        retrieval[mode] = run_eval(searcher, questions, mode=mode)
        seconds[f"retrieval {mode}"] = round(time.perf_counter() - t0, 1)
    stats: dict[str, SplitStats] = {}
    if answers:
        from briefsearch.answer.answerer import Answerer
        from briefsearch.evaluation.answers import measure_split

        answerer = Answerer(searcher)
        t0 = time.perf_counter()
        stats = {s: measure_split(answerer, [q for q in questions if q.split == s], []) for s in ("test", "dev")}
        seconds["answers"] = round(time.perf_counter() - t0, 1)
    manifest = searcher.index.manifest
    result = KorquadResult(
        created_at=datetime.now(UTC).isoformat(timespec="seconds"), command=command,
        index={"model": manifest.model, "chunker": manifest.chunker, "n_documents": manifest.n_documents,
               "n_chunks": manifest.n_chunks, "build_seconds": manifest.build_seconds, "built_at": manifest.built_at},
        build=built, n_articles={s: sum(a.split == s for a in chosen) for s in SPLITS},
        retrieval=retrieval, answers=stats, seconds=seconds, titles={a.doc_id: a.title for a in chosen},
        load_average=round(os.getloadavg()[0], 2))
    section = gate_section(articles)
    if thresholds is not None and section is not None:
        result.gate = "/".join(section)
        result.failures = floor_failures(result, thresholds, section)
    return result


def gate_section(articles: int | None) -> tuple[str, ...] | None:
    """The floors a run is gated on: the whole set's, the CI subset's, or none (any other subset)."""
    if articles is None:
        return (SECTION,)
    return (SECTION, "subset") if articles == SUBSET_ARTICLES else None


def write_reports(result: KorquadResult, directory: Path = REPORTS, name: str = "korquad") -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    json_path, md_path = directory / f"{name}.json", directory / f"{name}.md"
    json_path.write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    md_path.write_text(result.to_markdown(), encoding="utf-8")
    return json_path, md_path


def summary(result: KorquadResult) -> list[str]:
    """The figures as lines for a terminal: each mode's test and dev scores, then /ask's."""
    out = []
    for mode, splits in result.scores().items():
        for split, s in splits.items():
            out.append(f"korquad {mode:<8} {split:<5} n={int(s['n']):<5}"
                       + "  ".join(f"{LABELS[m]}={s[m]:.3f}" for m in METRICS))
    for split, st in result.answers.items():
        out.append(f"korquad answers {split:<5} gold span {st.evidence_rate:.3f}  without "
                   f"{len(st.wrong_answers) / max(1, st.n_questions):.3f}  refused {st.missed_rate:.3f}")
    out.append(f"korquad times: {result.seconds}; search median ms "
               f"{ {m: r.median_latency_ms for m, r in result.retrieval.items()} }")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="the scratch data dir (default: <BRIEFSEARCH_DATA_DIR>/korquad)")
    parser.add_argument("--articles", type=int, default=None, help="only the first N articles in split order")
    parser.add_argument("--modes", default=",".join(MODES), help="retrieval modes, comma-separated")
    parser.add_argument("--no-answers", action="store_true", help="skip /ask")
    parser.add_argument("--no-check", action="store_true", help="do not gate on the floors")
    parser.add_argument("--name", default="korquad", help="report name under the reports dir")
    args = parser.parse_args()
    modes = tuple(m.strip() for m in args.modes.split(",") if m.strip())
    if not set(modes) <= set(MODES):
        parser.error(f"--modes: choose from {', '.join(MODES)}")
    settings = Settings()
    command = "python -m briefsearch.evaluation.korquad" + (f" --articles {args.articles}" if args.articles else "")
    try:
        result = evaluate(settings, args.data_dir, args.articles, modes, not args.no_answers,
                          None if args.no_check else THRESHOLDS, command)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from exc
    paths = write_reports(result, settings.reports_dir, args.name)
    for line in summary(result):
        print(line)
    print(f"gate ({result.gate or 'none'}, test split): " + ("; ".join(result.failures) or "passed"))
    print(f"reports: {paths[0]}, {paths[1]}")
    if result.failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()


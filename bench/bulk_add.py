"""Bulk add: many files in one `briefsearch add`, one index version, against the version per file it replaced.

    .venv/bin/python -m bench.bulk_add --data-dir DIR --korquad KorQuAD_v1.0_dev.json [--files 175]
        [--rounds 3] [--old-subset 25] [--full-old]
    .venv/bin/python -m bench.bulk_add --data-dir DIR --source seed     # the seed corpus cut into 175 files
    .venv/bin/python -m bench.bulk_add --data-dir DIR --from-dir FOLDER # any folder of files

``DIR`` holds a built index of the seed corpus and its model (``briefsearch --data-dir DIR index build``). Every
run starts from a private copy of that index and its embedding cache (the model shared by a symlink), so runs do
not see each other's work unless said so.

The files (issue 27's load: 175 text files of about 12 passages, 2,121 passages in all):

* ``--korquad``: the paragraphs of KorQuAD 1.0 dev (140 Korean Wikipedia articles, 961 distinct paragraphs),
  in the file's order, cut into ``--files`` files of consecutive paragraphs, each article's title a heading.
  Real Korean text and all of it new to the index and the embedding cache: every passage and sentence is
  embedded. It is made at run time in a temporary directory and never saved (the data's licence is ND).
* ``--source seed``: the seed corpus (``corpus/*.txt``) cut into ``--files`` files of consecutive lines. Its
  sentences are in the index already (only the passages are new), and it holds 295 passages in all, so this
  load is mostly the cost of publishing.

Measured, as a user runs them (``briefsearch add`` in a fresh process, model load included), wall seconds and
the CPU seconds of the process (the machine is shared: CPU seconds move less with the neighbours):

* ``bulk cold``: ``briefsearch add FOLDER`` with nothing embedded before (``--rounds`` times, medians);
* ``bulk warm``: the same with the embedding cache of a cold run, so nothing is embedded: what is left is
  checking the files, Kiwi, chunking and one publish;
* ``per-file``: what ``add`` did before, a version per file (``CorpusManager.add`` per file in one process,
  as the old command looped), on the first ``--old-subset`` files (cold, and warm beside the bulk add of the
  same files), and warm on the last ``--old-subset`` files onto an index holding all the others: the cost of
  a publish at the start and at the end. The whole old run is estimated from those (``estimate``), since it
  takes most of an hour here; ``--full-old`` also runs it (warm).

Writes bench/bulk_add.json (``--out``); the reading is bench/bulk_add.md. Speed is reported here, never
asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT_JSON = REPO / "bench" / "bulk_add.json"


# ----------------------------------------------------------------- the files
def korquad_files(korquad: Path, out: Path, n: int) -> list[Path]:
    """``n`` files of consecutive KorQuAD paragraphs (distinct ones, in the file's order), titled by article."""
    articles = json.loads(korquad.read_text(encoding="utf-8"))["data"]
    seen: set[str] = set()
    paragraphs: list[tuple[str, str]] = []
    for article in articles:
        for paragraph in article["paragraphs"]:
            text = paragraph["context"].strip()
            if text not in seen:
                seen.add(text)
                paragraphs.append((article["title"], text))
    files = []
    for i in range(n):
        group = paragraphs[i * len(paragraphs) // n : (i + 1) * len(paragraphs) // n]
        lines: list[str] = []
        title = None
        for article, text in group:
            if article != title:
                lines += [f"# {article.replace('_', ' ')}", ""]
                title = article
            lines += [text, ""]
        path = out / f"kq-{i:03d}.txt"
        path.write_text("\n".join(lines), encoding="utf-8")
        files.append(path)
    return files


def seed_files(corpus: Path, out: Path, n: int) -> list[Path]:
    """``n`` files of consecutive lines of the seed corpus, cut at blank lines where one is near."""
    lines = [line for path in sorted(corpus.glob("*.txt")) for line in path.read_text(encoding="utf-8").splitlines()]
    files = []
    start = 0
    for i in range(n):
        end = len(lines) if i == n - 1 else max((i + 1) * len(lines) // n, start + 1)
        while end < len(lines) and lines[end - 1].strip() and end - (i + 1) * len(lines) // n < 20:
            end += 1  # to the end of the paragraph, if near
        path = out / f"seed-{i:03d}.txt"
        path.write_text("\n".join(lines[start:end]) + "\n", encoding="utf-8")
        files.append(path)
        start = end
    return files


# ----------------------------------------------------------------- runs
def fresh_data(base: Path, into: Path, cache_from: Path | None = None) -> Path:
    """A private copy of ``base``'s index and embedding cache (or ``cache_from``'s cache); models symlinked."""
    into.mkdir(parents=True)
    shutil.copytree(base / "index", into / "index")
    cache = (cache_from or base) / "cache"
    if cache.is_dir():
        shutil.copytree(cache, into / "cache")
    (into / "models").symlink_to((base / "models").resolve(), target_is_directory=True)
    return into


def timed(command: list[str], data_dir: Path) -> dict:
    """Run a command in a fresh process; its wall and CPU seconds, exit code and output."""
    env = {**os.environ, "BRIEFSEARCH_DATA_DIR": str(data_dir), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "exit": proc.returncode, "stdout": proc.stdout,
            "stderr": proc.stderr}


def index_facts(data_dir: Path) -> dict:
    version = (data_dir / "index" / "CURRENT").read_text().strip()
    manifest = json.loads((data_dir / "index" / version / "manifest.json").read_text(encoding="utf-8"))
    return {"documents": manifest["n_documents"], "passages": manifest["n_chunks"]}


def bulk(files_dir: Path, data_dir: Path) -> dict:
    before = (data_dir / "index" / "CURRENT").read_text().strip()
    run = timed([sys.executable, "-m", "briefsearch.cli", "add", str(files_dir)], data_dir)
    if run["exit"] != 0:
        raise SystemExit(f"bulk add failed ({run['exit']}):\n{run['stderr'][-3000:]}")
    summary = run["stdout"].strip().splitlines()[-1]
    # a publish keeps the version it replaced for one round: still there, so exactly one version was published
    one = (data_dir / "index" / before).is_dir()
    return {"wall_s": run["wall_s"], "cpu_s": run["cpu_s"], "summary": summary,
            "versions_published": 1 if one else "more than 1", **index_facts(data_dir)}


def per_file(files: list[Path], data_dir: Path) -> dict:
    run = timed([sys.executable, "-m", "bench.bulk_add", "--per-file-worker", *map(str, files)], data_dir)
    if run["exit"] != 0:
        raise SystemExit(f"per-file add failed ({run['exit']}):\n{run['stderr'][-3000:]}")
    worker = json.loads(run["stdout"].strip().splitlines()[-1])
    return {"wall_s": run["wall_s"], "cpu_s": run["cpu_s"], **worker, **index_facts(data_dir)}


# what one publish spends its time on (cumulative seconds of these functions, profiled on the last add)
PUBLISH_PARTS = {
    "load the live index": ("versions.py", "load_index"),
    "corpus checksums": ("pipeline.py", "corpus_state"),
    "copy unchanged passages": ("pipeline.py", "reuse"),
    "BM25 over every passage": ("lexical.py", "build"),
    "vectors of the live index by text": ("pipeline.py", "_known_vectors"),
    "embedding-cache lookups and new vectors": ("cache.py", "encode_with_cache"),
    "term bridge (Korean nouns of every passage)": ("crosslingual.py", "build"),
    "write the version (FAISS, chunks, documents, BM25, sentences; fsync)": ("versions.py", "write_version"),
    "commit library.json": ("library.py", "commit"),
    "publish and drop old versions": ("versions.py", "publish_version"),
    "the whole add": ("manage.py", "add"),
}


def per_file_worker(paths: list[str]) -> None:
    """The add before issue 27: one ``CorpusManager.add`` (one published version) per file, as the command
    looped. Prints the versions published, the seconds of each add and where the last one's time went."""
    import cProfile
    import pstats

    from briefsearch.cli import _manager
    from briefsearch.config import Settings

    manager = _manager(Settings())
    seconds, versions = [], set()
    profile = cProfile.Profile()
    for n, path in enumerate(map(Path, paths)):
        if n == len(paths) - 1:
            profile.enable()
        result = manager.add(path.read_bytes(), path.name)
        seconds.append(result.seconds)
        versions.add(result.index_version)
    profile.disable()
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    parts = {}
    for label, (file, function) in PUBLISH_PARTS.items():
        found = [v[3] for (f, _, name), v in stats.items() if f.endswith(file) and name == function]
        parts[label] = round(max(found), 2) if found else None
    print(json.dumps({"versions_published": len(versions), "add_seconds": seconds, "last_add_parts": parts}))


def folder(path: Path, files: list[Path]) -> Path:
    path.mkdir()
    for file in files:
        shutil.copy(file, path / file.name)
    return path


def short(value):
    """A result without its long lists, for the console."""
    if isinstance(value, dict):
        return {k: short(v) for k, v in value.items() if k not in ("add_seconds", "last_add_parts")}
    return value


def estimate(result: dict) -> dict:
    """The old add of every file: the same embedding as the bulk add (bulk cold - bulk warm), the per-file run's
    start-up, and a publish per file whose cost grows linearly with the index from the mean of the first
    ``k`` (warm) to the mean of the last ``k`` (warm). Each run's last add is profiled, so left out of the means."""
    n = result["files"]
    first, last = result["subset_first"]["per_file_warm"], result["subset_last"]["per_file_warm"]
    mean_first = statistics.mean(first["add_seconds"][:-1])
    mean_last = statistics.mean(last["add_seconds"][:-1])
    startup = first["wall_s"] - sum(first["add_seconds"])
    embedding = result["bulk_cold"]["wall_s"] - result["bulk_warm"]["wall_s"]
    publishes = n * (mean_first + mean_last) / 2
    return {"publish_s_first": round(mean_first, 2), "publish_s_last": round(mean_last, 2),
            "startup_s": round(startup, 1), "embedding_s": round(embedding, 1), "publishes_s": round(publishes, 1),
            "per_file_cold_s": round(embedding + startup + publishes, 1)}


def median(runs: list[dict], key: str) -> float:
    return round(statistics.median(r[key] for r in runs), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--korquad", type=Path, help="KorQuAD_v1.0_dev.json (the default source)")
    parser.add_argument("--source", choices=("korquad", "seed"), default="korquad")
    parser.add_argument("--from-dir", type=Path, help="add the files of this folder instead")
    parser.add_argument("--files", type=int, default=175)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--old-subset", type=int, default=25)
    parser.add_argument("--full-old", action="store_true", help="also the per-file warm run over every file")
    parser.add_argument("--out", type=Path, default=OUT_JSON)
    parser.add_argument("--per-file-worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.per_file_worker:
        per_file_worker(args.per_file_worker)
        return
    if args.data_dir is None:
        parser.error("--data-dir is required")
    base = args.data_dir.resolve()
    with tempfile.TemporaryDirectory(prefix="bulk-add-") as tmp:
        root = Path(tmp)
        files_dir = root / "files"
        files_dir.mkdir()
        if args.from_dir:
            files = sorted(p for p in args.from_dir.iterdir() if p.is_file())
            for path in files:
                shutil.copy(path, files_dir / path.name)
            files, source = sorted(files_dir.iterdir()), str(args.from_dir)
        elif args.source == "seed":
            files, source = seed_files(REPO / "corpus", files_dir, args.files), "seed corpus"
        else:
            if args.korquad is None:
                parser.error("--korquad FILE is required for the KorQuAD source")
            files, source = korquad_files(args.korquad, files_dir, args.files), f"KorQuAD 1.0 dev ({args.korquad.name})"
        result: dict = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "source": source,
                        "files": len(files), "bytes": sum(p.stat().st_size for p in files),
                        "cpus": os.cpu_count(), "load_before": os.getloadavg()[0], "base": index_facts(base)}
        print(f"{len(files)} files from {source}", flush=True)
        cold = []
        for n in range(args.rounds):
            cold.append(bulk(files_dir, fresh_data(base, root / f"cold-{n}")))
            print("bulk cold", {k: v for k, v in cold[-1].items() if k != "summary"}, flush=True)
        warm = []
        for n in range(args.rounds):
            warm.append(bulk(files_dir, fresh_data(base, root / f"warm-{n}", cache_from=root / "cold-0")))
            print("bulk warm", {k: v for k, v in warm[-1].items() if k != "summary"}, flush=True)
        result["bulk_cold"] = {"runs": cold, "wall_s": median(cold, "wall_s"), "cpu_s": median(cold, "cpu_s")}
        result["bulk_warm"] = {"runs": warm, "wall_s": median(warm, "wall_s"), "cpu_s": median(warm, "cpu_s")}
        k = args.old_subset
        first, last = files[:k], files[-k:]
        result["subset_first"] = {
            "files": k,
            "per_file_cold": per_file(first, fresh_data(base, root / "old-cold")),
            "bulk_cold": bulk(folder(root / "first", first), fresh_data(base, root / "bulk-first")),
            "per_file_warm": per_file(first, fresh_data(base, root / "old-warm-first", cache_from=root / "cold-0")),
        }
        print("first", k, short(result["subset_first"]), flush=True)
        # the last k files one by one onto an index that holds the others (added in bulk, from the warm cache)
        end_data = fresh_data(base, root / "old-warm-last", cache_from=root / "cold-0")
        result["subset_last"] = {"files": k, "others_in_bulk": bulk(folder(root / "others", files[:-k]), end_data),
                                 "per_file_warm": per_file(last, end_data)}
        print("last", k, short(result["subset_last"]), flush=True)
        if args.full_old:
            old = per_file(files, fresh_data(base, root / "old-full", cache_from=root / "cold-0"))
            result["per_file_warm_full"] = old
            print("per-file warm, every file", short(old), flush=True)
        result["estimate"] = estimate(result)
        print("estimate", result["estimate"], flush=True)
        result["load_after"] = os.getloadavg()[0]
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()

"""What each encoder choice costs: e5-small alone against e5-small fused with EmbeddingGemma-300M.

    python -m bench.encoders [--rounds 3] [--seconds 8] [--choices e5 e5+gemma]

For each choice, on one machine in one run (issue 26, item 6):

* build: ``briefsearch index build`` of the seed corpus from an empty embedding cache, passages per second
  on 2 cores (and the seconds the second encoder's passages took);
* the query-embedding floor of that choice: one query embedded in-process by every encoder the choice
  searches with, side by side as the searcher does (e5-small beside EmbeddingGemma), one query at a time;
* ``/search`` over HTTP, one client: p50, and its ratio to that floor; 16 closed-loop clients: requests/s,
  and its ratio to one client's (query cache off: every request embeds);
* peak resident memory of the server; disk of the index version and per passage.

The model folders are linked from the configured data directory (EmbeddingGemma must be prepared:
``briefsearch model prepare --model embeddinggemma-300m``). Writes bench/encoders.json and .md.
Speed is reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.run import REPO, cli, env_for, free_port, load, one_client, pct, peak_rss_mb, start_server

OUT_JSON = REPO / "bench" / "encoders.json"
OUT_MD = REPO / "bench" / "encoders.md"
CHOICES = {"e5": {}, "e5+gemma": {"BRIEFSEARCH_SECOND_MODEL": "embeddinggemma-300m"}}


def _disk_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def measure(choice: str, env: dict[str, str], models: Path, texts: list[str], rounds: int, seconds: float) -> dict:
    from briefsearch.config import Settings
    from briefsearch.embedding.encoder import Encoder

    with tempfile.TemporaryDirectory(prefix=f"bench-{choice}-") as tmp:
        data = Path(tmp)
        (data / "models").symlink_to(models, target_is_directory=True)
        started = time.perf_counter()
        subprocess.run(cli("index", "build"), env=env_for(data, **env), cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        build_s = time.perf_counter() - started
        version = data / "index" / (data / "index" / "CURRENT").read_text().strip()
        manifest = json.loads((version / "manifest.json").read_text())
        n = manifest["n_chunks"]
        out: dict = {"build": {"seconds": round(build_s, 1), "passages": n, "passages_per_s": round(n / build_s, 2)},
                     "disk": {"index_mb": round(_disk_bytes(version) / 2**20, 2),
                              "bytes_per_passage": round(_disk_bytes(version) / n)}}

        settings = Settings(data_dir=data, query_cache_size=0, second_model=env.get("BRIEFSEARCH_SECOND_MODEL", ""))
        encoder = Encoder(settings, progress=False)
        pool = ThreadPoolExecutor(max_workers=1)

        def floor_once(q: str) -> float:
            t0 = time.perf_counter()
            second = pool.submit(encoder.second.encode_queries, [q]) if encoder.second is not None else None
            encoder.encode_queries([q])
            if second is not None:
                second.result()
            return (time.perf_counter() - t0) * 1000

        for q in texts[:5]:
            floor_once(q)
        port = free_port()
        proc, cold = start_server(data, port, BRIEFSEARCH_QUERY_CACHE_SIZE="0", **env)
        base = f"http://127.0.0.1:{port}"
        per_round = []
        try:
            one_client(base, texts[:5])
            for r in range(rounds):
                print(f"  {choice}: round {r + 1}/{rounds}", flush=True)
                floor = [floor_once(q) for q in texts]
                single = one_client(base, texts)
                loads = [load(base, texts, c, seconds, proc.pid) for c in (1, 16)]
                per_round.append({"floor_p50_ms": pct(floor, 50), "search_p50_ms": pct(single, 50),
                                  "rps_1": loads[0]["throughput_rps"], "rps_16": loads[1]["throughput_rps"],
                                  "errors": loads[0]["errors"] + loads[1]["errors"]})
            peak = peak_rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            pool.shutdown()
        med = statistics.median
        out["serving"] = {
            "cold_start_s": round(cold, 1), "peak_rss_mb": peak,
            "floor_p50_ms": round(med(r["floor_p50_ms"] for r in per_round), 1),
            "search_p50_ms": round(med(r["search_p50_ms"] for r in per_round), 1),
            "search_over_floor": round(med(r["search_p50_ms"] / r["floor_p50_ms"] for r in per_round), 2),
            "rps_1": round(med(r["rps_1"] for r in per_round), 2),
            "rps_16": round(med(r["rps_16"] for r in per_round), 2),
            "rps_16_over_1": round(med(r["rps_16"] / r["rps_1"] for r in per_round), 2),
            # 16 clients over 2 cores, against what 2 cores allow at one query's floor
            "rps_16_over_cores_floor": round(med(r["rps_16"] / (os.cpu_count() * 1000 / r["floor_p50_ms"])
                                                 for r in per_round), 2),
            "errors": sum(r["errors"] for r in per_round),
        }
        out["rss_mb_per_passage"] = round(peak / n, 3)
        return out


def markdown(results: dict) -> str:
    lines = ["# Encoder choices: cost on one machine, one run", "",
             f"- date: {results['date']}; machine: {results['cpus']} cores; workload: {results['workload']}",
             "- command: `python -m bench.encoders`", "",
             "| choice | build passages/s | floor p50 ms | /search p50 ms | /search ÷ floor | 1 client rps | "
             "16 clients rps | 16 ÷ 1 | 16 ÷ (cores ÷ floor) | peak RSS MB | RSS MB/passage | disk bytes/passage |"
             " cold start s | errors |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for choice, r in results["choices"].items():
        s = r["serving"]
        lines.append(f"| {choice} | {r['build']['passages_per_s']} | {s['floor_p50_ms']} | {s['search_p50_ms']} | "
                     f"{s['search_over_floor']} | {s['rps_1']} | {s['rps_16']} | {s['rps_16_over_1']} | "
                     f"{s['rps_16_over_cores_floor']} | {s['peak_rss_mb']} | {r['rss_mb_per_passage']} | "
                     f"{r['disk']['bytes_per_passage']} | {s['cold_start_s']} | {s['errors']} |")
    lines += ["", "Build: the seed corpus from an empty embedding cache "
              f"({next(iter(results['choices'].values()))['build']['passages']} passages)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--choices", nargs="*", default=list(CHOICES), choices=list(CHOICES))
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from briefsearch.config import Settings
    from briefsearch.evaluation.evaluate import load_questions

    models = Settings().models_dir
    texts = [q.question for q in load_questions()]
    results = {"date": time.strftime("%Y-%m-%d %H:%M"), "cpus": os.cpu_count(),
               "workload": f"{len(texts)} eval questions", "choices": {}}
    for choice in args.choices:
        print(f"{choice} ...", flush=True)
        results["choices"][choice] = measure(choice, CHOICES[choice], models, texts, args.rounds, args.seconds)
    OUT_JSON.write_text(json.dumps(results, indent=1), encoding="utf-8")
    OUT_MD.write_text(markdown(results), encoding="utf-8")
    print(OUT_MD.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()

"""Ray Serve replicas against the plain server: replica start time and /search throughput on one box.

    .venv/bin/python -m bench.ray_serve --data-dir var [--seconds 20] [--clients 16] [--cpus 2]

Over an index already built in ``--data-dir``: deploys 1, then 2 replicas
(``api/ray_serve.py``) on a local Ray instance of ``--cpus`` CPUs, times the
deployment until every replica has loaded its index, then runs ``--clients``
keep-alive clients posting the eval questions to ``/search`` through the Serve
proxy for ``--seconds`` (query cache off, so every request embeds). The plain
``briefsearch serve`` (one process, micro-batching over both cores) runs the
same load as the baseline. The three repeat in ``--rounds`` interleaved rounds,
each with the 1-minute load average before it (a shared box). Writes
bench/ray_results.json. The load generator shares the cores; speed is reported
here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

from bench.run import REPO, free_port, start_server
from bench.run import load as throughput
from briefsearch.config import Settings
from briefsearch.evaluation.evaluate import load_questions

OUT_JSON = REPO / "bench" / "ray_results.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO / "var")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2, help="Interleaved rounds (the box's speed drifts).")
    args = parser.parse_args()
    from ray import serve

    from briefsearch.api.ray_serve import deploy
    from briefsearch.runtime.ray_cluster import connect

    questions = [q.question for q in load_questions()]
    # Ray starts its workers 15 niceness steps below the driver to keep its control plane responsive; on this
    # shared box that alone would starve the replicas against the plain server, so both run at the same niceness
    os.environ.setdefault("RAY_worker_niceness", "0")
    settings = Settings(data_dir=args.data_dir, query_cache_size=0, ray_num_cpus=args.cpus)
    results: dict = {"host": platform.node(), "cpus": args.cpus, "seconds": args.seconds, "runs": []}
    connect(settings, log_to_driver=False)
    for round_no in range(args.rounds):
        for replicas in (1, 2, 0):  # 0: the plain server
            port = free_port()
            load_before = os.getloadavg()[0]
            if replicas:
                start_s = deploy(settings, replicas, "127.0.0.1", port)
            else:
                proc, start_s = start_server(args.data_dir, port, BRIEFSEARCH_QUERY_CACHE_SIZE="0")
            base = f"http://127.0.0.1:{port}"
            try:
                throughput(base, questions, args.clients, 3)  # warm-up
                run = {"round": round_no, "replicas": replicas, "start_s": round(start_s, 1),
                       **throughput(base, questions, args.clients, args.seconds),
                       "loadavg_1m_before": round(load_before, 1)}
            finally:
                if replicas:
                    serve.shutdown()
                else:
                    proc.terminate()
                    proc.wait(timeout=30)
            results["runs"].append(run)
            print(json.dumps(run), flush=True)
    OUT_JSON.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

"""Time to turn binary .hwp files into text renditions, in this process and through the extraction process.

    .venv/bin/python -m bench.hwp_extract [FILE_OR_DIR ...] [--repeat 3]

Default: the test fixtures (tests/fixtures/hwp). Per file: its size, the rendition's length, the best of
``--repeat`` runs of ``formats.extract`` (the reader alone) and of ``extract_isolated`` (what an upload
pays: a fresh Python process with the service's time and memory limits). Speed is reported, never
asserted. Writes bench/hwp_extract.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from briefsearch.config import Settings
from briefsearch.ingest.extract_worker import extract_isolated
from briefsearch.ingest.formats import extract

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "hwp_extract.json"


def _best(run, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, default=[REPO / "tests" / "fixtures" / "hwp"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    settings = Settings()
    files = sorted(f for p in args.paths for f in ([p] if p.is_file() else p.rglob("*.hwp")))
    rows = []
    for path in files:
        data = path.read_bytes()
        chars = len(extract(data, ".hwp", path.name).text)
        in_process = _best(lambda data=data, path=path: extract(data, ".hwp", path.name), args.repeat)
        isolated = _best(lambda data=data, path=path: extract_isolated(
            data, ".hwp", path.name, settings.extract_timeout, settings.extract_memory_mb), args.repeat)
        rows.append({"file": path.name, "bytes": len(data), "chars": chars,
                     "in_process_s": round(in_process, 3), "isolated_s": round(isolated, 3)})
        print(f"{path.name:40} {len(data):>10,} B {chars:>9,} chars  in-process {in_process:7.3f} s  "
              f"isolated {isolated:7.3f} s")
    OUT.write_text(json.dumps({"date": time.strftime("%Y-%m-%d %H:%M"), "repeat": args.repeat, "files": rows},
                              ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

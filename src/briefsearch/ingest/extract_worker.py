"""Run document extraction in a child process with a time and memory limit.

Uploads are untrusted, and a crafted PDF can make a parser spin or allocate
without bound (pdfminer decompresses every stream it meets). In a child
process with an address-space limit and a deadline, such a file costs one
refused upload instead of the service. The child is a plain
``python -m briefsearch.ingest.extract_worker`` (bytes in on stdin, JSON out on stdout), so
nothing of the parent (model threads, its ``__main__``) is forked or re-imported.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys

from briefsearch.errors import CorpusError
from briefsearch.ingest.formats import Extracted


def extract_isolated(data: bytes, suffix: str, name: str, timeout_s: float, memory_mb: int) -> Extracted:
    """``formats.extract`` in a fresh process; raises ``CorpusError`` on bad input, overrun or crash."""
    try:
        proc = subprocess.run([sys.executable, "-m", "briefsearch.ingest.extract_worker", suffix, name, str(memory_mb)],
                              input=data, capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise CorpusError(f"{name}: extraction took longer than {timeout_s:g} s; refused") from None
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        raise CorpusError(f"{name}: the extractor failed on this file (exit {proc.returncode}); refused") from None
    if "error" in result:
        raise CorpusError(result["error"])
    return Extracted(**result)


def _main() -> None:
    suffix, name, memory_mb = sys.argv[1], sys.argv[2], int(sys.argv[3])
    limit = memory_mb << 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        from briefsearch.ingest.formats import extract

        extracted = extract(sys.stdin.buffer.read(), suffix, name)
        out = {"text": extracted.text, "kind": extracted.kind, "pages": extracted.pages,
               "extractor": extracted.extractor}
    except CorpusError as exc:
        out = {"error": str(exc)}
    except MemoryError:
        out = {"error": f"{name}: needs more than {memory_mb} MB to extract; refused"}
    except Exception as exc:  # anything else a parser raises on hostile input
        out = {"error": f"{name}: cannot be read ({type(exc).__name__})"}
    sys.stdout.write(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    _main()

"""The command line as a script uses it: real processes, exit codes, JSON output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from index.settings import REPO_ROOT


def _run(args: list[str], data_dir: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "BRIEFSEARCH_DATA_DIR": str(data_dir), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "service.cli", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_search_json_is_the_api_response(searcher, client, data_dir: Path) -> None:
    proc = _run(["search", "중국 국가혁신지수 종합 순위는?", "-k", "3", "--json"], data_dir)
    assert proc.returncode == 0, proc.stderr
    body = json.loads(proc.stdout)
    api = client.post("/search", json={"query": "중국 국가혁신지수 종합 순위는?", "k": 3}).json()
    assert body.keys() == api.keys()
    assert [r["chunk_id"] for r in body["results"]] == [r["chunk_id"] for r in api["results"]]
    assert body["results"][0]["citation"]["source"].startswith("corpus/")


def test_search_readable_output_and_errors(searcher, data_dir: Path, tmp_path: Path) -> None:
    proc = _run(["search", "웨강아오대만구 미래 10대 산업"], data_dir)
    assert proc.returncode == 0, proc.stderr
    assert "[1]" in proc.stdout and "corpus/" in proc.stdout
    empty = _run(["search", "   "], data_dir)
    assert empty.returncode == 4 and "empty" in empty.stderr
    missing = _run(["search", "질문"], tmp_path / "nothing-here")
    assert missing.returncode == 3 and "briefsearch index build" in missing.stderr


def test_eval_cli_writes_reports_and_fails_below_thresholds(searcher, data_dir: Path, tmp_path: Path) -> None:
    strict = tmp_path / "strict.json"
    strict.write_text(json.dumps({"mrr@10": 1.01}), encoding="utf-8")
    proc = _run(["eval", "--report-dir", str(tmp_path), "--thresholds", str(strict)], data_dir)
    assert proc.returncode == 1, proc.stderr
    assert "below threshold" in proc.stderr
    report = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))
    assert report["n_questions"] >= 80
    assert (tmp_path / "latest.md").read_text(encoding="utf-8").startswith("# Retrieval evaluation")


def test_search_mode_and_filters_on_the_command_line(searcher, data_dir: Path) -> None:
    proc = _run(["search", "위성 연산", "--mode", "lexical", "--doc", "004_0772bc47312adfbb", "-k", "4", "--json"],
                data_dir)
    assert proc.returncode == 0, proc.stderr
    body = json.loads(proc.stdout)
    assert body["mode"] == "lexical"
    assert body["results"] and {r["doc_id"] for r in body["results"]} == {"004_0772bc47312adfbb"}
    bad = _run(["search", "위성", "--mode", "fuzzy"], data_dir)
    assert bad.returncode == 2

"""The command line as a script uses it: real processes, exit codes, JSON output."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from briefsearch.config import REPO_ROOT


def _run(args: list[str], data_dir: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "BRIEFSEARCH_DATA_DIR": str(data_dir), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "briefsearch.cli", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _run_all(*calls: tuple[list[str], Path]) -> list[subprocess.CompletedProcess]:
    """Independent commands side by side, each its own process as with ``_run`` (2 cores): results in order."""
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(lambda call: _run(*call), calls))


def test_search_json_is_the_api_response(searcher, client, data_dir: Path) -> None:
    proc = _run(["search", "중국 국가혁신지수 종합 순위는?", "-k", "3", "--json"], data_dir)
    assert proc.returncode == 0, proc.stderr
    body = json.loads(proc.stdout)
    api = client.post("/search", json={"query": "중국 국가혁신지수 종합 순위는?", "k": 3}).json()
    assert body.keys() == api.keys()
    assert [r["chunk_id"] for r in body["results"]] == [r["chunk_id"] for r in api["results"]]
    assert body["results"][0]["citation"]["source"].startswith("corpus/")


def test_search_readable_output_and_errors(searcher, data_dir: Path, tmp_path: Path) -> None:
    nothing = tmp_path / "nothing-here"  # no index; the session's model, so the run does not prepare one (~30 s)
    nothing.mkdir()
    (nothing / "models").symlink_to(data_dir / "models", target_is_directory=True)
    proc, empty, missing = _run_all((["search", "웨강아오대만구 미래 10대 산업"], data_dir),
                                    (["search", "   "], data_dir), (["search", "질문"], nothing))
    assert proc.returncode == 0, proc.stderr
    assert "[1]" in proc.stdout and "corpus/" in proc.stdout
    assert empty.returncode == 4 and "empty" in empty.stderr
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
    proc, bad = _run_all((["search", "위성 연산", "--mode", "lexical", "--doc", "004_0772bc47312adfbb", "-k", "4",
                           "--json"], data_dir), (["search", "위성", "--mode", "fuzzy"], data_dir))
    assert proc.returncode == 0, proc.stderr
    body = json.loads(proc.stdout)
    assert body["mode"] == "lexical"
    assert body["results"] and {r["doc_id"] for r in body["results"]} == {"004_0772bc47312adfbb"}
    assert bad.returncode == 2


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_search_and_ask_against_a_running_service(live_server: str, client, data_dir: Path) -> None:
    """--url queries the service (no model loaded here) and prints exactly what it answered."""
    args = ["ask", "위성 연산 목표", "--mode", "lexical", "--doc", "004_0772bc47312adfbb", "--json"]
    proc, remote, bad, gone, plain = _run_all(
        (["search", "중국 국가혁신지수 종합 순위는?", "-k", "3", "--json", "--url", live_server], data_dir),
        ([*args, "--url", live_server], data_dir),
        (["ask", "광둥성 목표", "--date-from", "20xx", "--url", live_server], data_dir),
        (["search", "광둥성 목표", "--url", _closed_port_url()], data_dir),
        (["ask", "광둥성의 범용 AI 산업 목표는?", "--url", live_server], data_dir))
    assert proc.returncode == 0, proc.stderr
    api = client.post("/search", json={"query": "중국 국가혁신지수 종합 순위는?", "k": 3}).json()
    assert [r["chunk_id"] for r in json.loads(proc.stdout)["results"]] == [r["chunk_id"] for r in api["results"]]

    assert remote.returncode == 0, remote.stderr
    body = json.loads(remote.stdout)
    assert body["passages"] and {p["doc_id"] for p in body["passages"]} == {"004_0772bc47312adfbb"}
    api = client.post("/ask", json={"question": "위성 연산 목표", "mode": "lexical",
                                    "doc_ids": ["004_0772bc47312adfbb"]}).json()
    assert body["answer"] == api["answer"] and [p["chunk_id"] for p in body["passages"]] == [
        p["chunk_id"] for p in api["passages"]]

    # issue 27: "(confidence 1.086, 48 ms)" read as a probability above 1; it is a score, with its cut-offs
    assert plain.returncode == 0, plain.stderr
    score = client.post("/ask", json={"question": "광둥성의 범용 AI 산업 목표는?"}).json()["confidence"]
    assert f"(answer score {score:.3f}: answers from 0.993 for a Korean question, 0.892 for an English one;" in (
        plain.stderr), plain.stderr
    assert "confidence" not in plain.stderr + plain.stdout

    assert bad.returncode == 4 and "422" in bad.stderr and "bad date" in bad.stderr
    assert gone.returncode == 6 and "cannot query the service" in gone.stderr
    assert "Traceback" not in bad.stderr + gone.stderr


def test_ask_takes_the_mode_and_filters_of_ask(searcher, client, data_dir: Path) -> None:
    proc, bad = _run_all((["ask", "위성 연산 목표", "--mode", "lexical", "--doc", "004_0772bc47312adfbb", "--json"],
                          data_dir), (["ask", "위성", "--date-to", "2026-13"], data_dir))
    assert proc.returncode == 0, proc.stderr
    body = json.loads(proc.stdout)
    api = client.post("/ask", json={"question": "위성 연산 목표", "mode": "lexical",
                                    "doc_ids": ["004_0772bc47312adfbb"]}).json()
    assert {p["doc_id"] for p in body["passages"]} == {"004_0772bc47312adfbb"}
    assert [p["chunk_id"] for p in body["passages"]] == [p["chunk_id"] for p in api["passages"]]
    assert bad.returncode == 4 and "bad date" in bad.stderr


def test_index_build_keeps_a_current_index_and_bad_files_exit_4(searcher, data_dir: Path, tmp_path: Path) -> None:
    version = (data_dir / "index" / "CURRENT").read_text()
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{not json\n", encoding="utf-8")
    proc, missing, bad = _run_all((["index", "build"], data_dir),
                                  (["eval", "--questions", str(tmp_path / "none.jsonl")], data_dir),
                                  (["eval", "--questions", str(broken)], data_dir))
    assert proc.returncode == 0 and "index is current" in proc.stdout, proc.stderr
    assert (data_dir / "index" / "CURRENT").read_text() == version
    assert missing.returncode == 4 and "No such file" in missing.stderr
    assert bad.returncode == 4 and "bad question line" in bad.stderr
    assert "Traceback" not in missing.stderr + bad.stderr


def test_index_status_compares_identities_without_preparing_the_model(searcher, data_dir: Path,
                                                                      tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    fresh, missing = _run_all((["index", "status"], data_dir), (["index", "status"], empty))
    assert fresh.returncode == 0 and fresh.stdout.startswith("fresh"), fresh.stdout + fresh.stderr
    assert missing.returncode == 3 and missing.stdout.startswith("missing"), missing.stdout + missing.stderr
    assert not (empty / "models").exists()  # the model was neither prepared nor loaded
    assert "Traceback" not in missing.stderr


def test_model_errors_exit_5_without_a_traceback(tmp_path: Path) -> None:
    empty = tmp_path / "no-weights"
    empty.mkdir()
    foreign = tmp_path / "foreign" / "models" / "multilingual-e5-small-q4"  # a folder we did not build
    foreign.mkdir(parents=True)
    (foreign / "notes.txt").write_text("not a model", encoding="utf-8")
    search, prepare = _run_all((["--model", str(empty), "search", "질문"], tmp_path / "data"),
                               (["model", "prepare"], tmp_path / "foreign"))
    assert search.returncode == 5 and "no weights found" in search.stderr, search.stderr
    assert prepare.returncode == 5 and "not replacing it" in prepare.stderr, prepare.stderr
    assert (foreign / "notes.txt").is_file()
    assert "Traceback" not in search.stderr + prepare.stderr

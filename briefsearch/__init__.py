"""briefsearch: semantic search and extractive QA over Korean policy briefings.

The code lives in the top-level folders ``index/``, ``service/`` and ``eval/`` of the
checkout; a wheel installs them as ``briefsearch.index``, ``briefsearch.service`` and
``briefsearch.eval`` (pyproject's package-dir), so no other top-level module is installed.
Run from a checkout (a path entry or a .pth pointing at it, as the dev venvs use),
this package also searches the checkout root, so the same names resolve there
without reinstalling.
"""

from __future__ import annotations

from pathlib import Path

__version__ = "0.1.0"

_checkout = Path(__file__).resolve().parent.parent
if (_checkout / "pyproject.toml").is_file() and (_checkout / "index" / "settings.py").is_file():
    __path__.append(str(_checkout))

"""Logging set-up without the model: JSON logging is idempotent, routes uvicorn through it, and is validated."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from briefsearch.api.logging_setup import HANDLER_NAME, UVICORN_LOGGERS, configure_logging
from briefsearch.config import Settings


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure_logging owns the root logger; put back what pytest and other tests had."""
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    saved_uvicorn = {n: (list(logging.getLogger(n).handlers), logging.getLogger(n).propagate,
                         logging.getLogger(n).level) for n in UVICORN_LOGGERS}
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])
    for name, (handlers, propagate, level) in saved_uvicorn.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.propagate, logger.level = propagate, level


def test_configure_logging_is_idempotent_and_routes_uvicorn_through_json(settings, restore_logging) -> None:
    variant = settings.model_copy(update={"log_format": "json", "log_level": "WARNING"})
    configure_logging(variant)
    configure_logging(variant)
    root = logging.getLogger()
    assert [h.get_name() for h in root.handlers] == [HANDLER_NAME]
    assert root.level == logging.WARNING
    uvicorn_error = logging.getLogger("uvicorn.error")
    assert uvicorn_error.propagate and not uvicorn_error.handlers
    record = uvicorn_error.makeRecord("uvicorn.error", logging.ERROR, __file__, 1, "Application startup %s",
                                      ("failed",), None)
    line = json.loads(root.handlers[0].format(record))
    assert (line["logger"], line["level"], line["message"]) == ("uvicorn.error", "ERROR", "Application startup failed")

    configure_logging(settings)  # text, the default
    assert len(root.handlers) == 1 and root.level == logging.INFO
    assert not root.handlers[0].format(record).startswith("{")


def test_log_settings_are_validated() -> None:
    assert Settings(log_level="debug").log_level == "DEBUG"
    with pytest.raises(ValidationError):
        Settings(log_level="loud")
    with pytest.raises(ValidationError):
        Settings(log_format="xml")
    assert Settings().log_queries is False


BUILD_BM25 = ("from briefsearch.store.lexical import LexicalIndex; "
              "LexicalIndex.build([['a', 'b'], ['c']], [0, 1], 1.2, 0.75)")


@pytest.mark.parametrize("setup", [
    "from briefsearch.api.logging_setup import configure_cli_logging; configure_cli_logging(False)",  # the CLI
    "from briefsearch.api.logging_setup import configure_cli_logging; configure_cli_logging(True)",  # its -v
    "from briefsearch.api.logging_setup import configure_logging; from briefsearch.config import Settings; "
    "configure_logging(Settings())",  # serve, at the default INFO
], ids=["cli", "cli-verbose", "serve"])
def test_library_debug_lines_stay_out_of_the_default_log(setup: str) -> None:
    """Issue 27: every `add` and `index build` printed "DEBUG Building index from tokens": bm25s sets its own
    logger to DEBUG when imported, and our handler let it through. In a fresh process, as the CLI runs."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", f"{setup}; {BUILD_BM25}"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "DEBUG" not in done.stderr + done.stdout and "Building index" not in done.stderr, done.stderr

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
